/**
 * The ports engines have listened on, so that new engines come back on them like the
 * orchestrator's allocator hands them out again: the VPN build takes the lowest free port
 * of its range for every create, and after a restart the fresh allocator starts from the
 * bottom of its range in both builds. Port 0 asks for a new one.
 */
export class EnginePorts {
  private readonly known: number[] = [];

  remember(port: number): void {
    if (port > 0 && !this.known.includes(port)) {
      this.known.push(port);
      this.known.sort((a, b) => a - b);
    }
  }

  /** The lowest known port no engine holds, else 0. */
  lowestFree(inUse: ReadonlySet<number>): number {
    return this.known.find((p) => !inUse.has(p)) ?? 0;
  }
}
