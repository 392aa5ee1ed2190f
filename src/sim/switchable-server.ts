import http from 'node:http';
import net from 'node:net';
import { listenAnywhere, listenOn } from './ports.ts';

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * An HTTP server whose port can be switched off and on again (connection refused, then
 * back on the SAME port) and can accept-then-reset connections. One http.Server parses
 * requests; the listening net.Server is replaced on every reopen and hands it sockets.
 */
export class SwitchableServer {
  readonly http: http.Server;
  private listener: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private _port = 0;
  private opening: Promise<void> | null = null;
  /** When true, new connections are accepted and immediately reset. */
  resetConnections = false;

  constructor(handler: RequestHandler, readonly host: string) {
    this.http = http.createServer({ requestTimeout: 0, headersTimeout: 0, keepAliveTimeout: 5_000 }, handler);
    this.http.on('clientError', (_err, socket) => socket.destroy());
  }

  get port(): number {
    return this._port;
  }

  get listening(): boolean {
    return this.listener !== null;
  }

  private makeListener = (): net.Server => {
    const server = net.createServer((socket) => this.accept(socket));
    server.on('error', () => {});
    return server;
  };

  private accept(socket: net.Socket): void {
    if (this.resetConnections) {
      socket.on('error', () => {});
      socket.resetAndDestroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    this.http.emit('connection', socket);
  }

  /** First listen: `port` 0 picks a free one, kept for every later reopen. */
  async listen(port: number): Promise<number> {
    const { server, port: bound } = await listenAnywhere(this.makeListener, port, this.host);
    this.listener = server;
    this._port = bound;
    return bound;
  }

  /** Stops accepting: new connections are refused. Existing connections are left alone. */
  refuse(): void {
    const listener = this.listener;
    this.listener = null;
    listener?.close();
  }

  /** Listens again on the same port (retrying briefly if the port is still busy). */
  reopen(): Promise<void> {
    if (this.listener) return Promise.resolve();
    this.opening ??= (async () => {
      let lastError: unknown;
      for (let attempt = 0; attempt < 40; attempt++) {
        const server = this.makeListener();
        try {
          await listenOn(server, this._port, this.host);
          this.listener = server;
          return;
        } catch (err) {
          lastError = err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      throw lastError;
    })().finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  /** Destroys every open connection but `spare`; `reset` sends a TCP RST instead of a FIN. */
  destroyConnections(reset = false, spare?: ReadonlySet<net.Socket>): void {
    for (const socket of this.sockets) {
      if (spare?.has(socket)) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
      this.sockets.delete(socket);
    }
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    if (this.opening) await this.opening.catch(() => {});
    this.refuse();
    this.destroyConnections();
    this.http.close();
  }
}
