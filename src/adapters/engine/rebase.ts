/**
 * Engines build absolute URLs from the Host they were asked on; inside Docker that host may
 * be unreachable from here. Every URL an engine hands back is moved onto the address we
 * actually called, keeping its path and query.
 */
export function rebase(reported: string, engineBase: string): string {
  const base = new URL(engineBase);
  const u = new URL(reported, base);
  u.protocol = base.protocol;
  // hostname and port separately: assigning `host` without a port would keep the engine's own.
  u.hostname = base.hostname;
  u.port = base.port;
  return u.toString();
}
