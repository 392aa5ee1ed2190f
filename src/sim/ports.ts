import { readFileSync } from 'node:fs';
import net from 'node:net';

/**
 * Port 0 is resolved by us, not the kernel, to a free port BELOW the ephemeral range: a
 * simulated engine or orchestrator that "goes down" and comes back must rebind the same
 * port, and a kernel-chosen ephemeral port could meanwhile be taken as the local port of
 * some outgoing connection.
 */
function lowestEphemeralPort(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const n = Number(low);
    if (Number.isInteger(n) && n > 12_000) return n;
  } catch {
    // not Linux: fall through
  }
  return 32_768;
}

const RANGE_LOW = 10_000;
const RANGE_HIGH = lowestEphemeralPort();

export function listenOn(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host });
  });
}

/** Listens on `port`, or on a free low port when `port` is 0; returns the port. */
export async function listenAnywhere(makeServer: () => net.Server, port: number, host: string): Promise<{ server: net.Server; port: number }> {
  if (port !== 0) {
    const server = makeServer();
    await listenOn(server, port, host);
    return { server, port };
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = RANGE_LOW + Math.floor(Math.random() * (RANGE_HIGH - RANGE_LOW));
    const server = makeServer();
    try {
      await listenOn(server, candidate, host);
      return { server, port: candidate };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' && (err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    }
  }
  const server = makeServer();
  await listenOn(server, 0, host);
  return { server, port: (server.address() as net.AddressInfo).port };
}
