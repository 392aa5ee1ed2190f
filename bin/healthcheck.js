#!/usr/bin/env node
// The image's HEALTHCHECK: exit 0 when /healthz answers 200, else 1. Plain Node (no curl in a
// slim image, no tsx: it runs every 30 s). It finds the port the way acerelay's configuration
// does: ACERELAY_LISTEN, then the acexy aliases, then :8080.
const listen = (process.env.ACERELAY_LISTEN || process.env.ACEXY_LISTEN_ADDR || process.env.ACEXY_ADDR || ':8080').trim();
const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(listen);
const port = /^\d+$/.test(listen) ? listen : m?.[3];
const bound = m?.[1] ?? m?.[2] ?? '';
// A wildcard (or no) address is reached on loopback; a specific one only on itself.
const host = ['', '0.0.0.0', '::'].includes(bound) ? '127.0.0.1' : bound.includes(':') ? `[${bound}]` : bound;
if (!port) {
  process.stderr.write(`healthcheck: cannot read a port from "${listen}"\n`);
  process.exit(1);
}
try {
  const res = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  process.exit(res.status === 200 ? 0 : 1);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
