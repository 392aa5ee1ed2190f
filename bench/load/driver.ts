/** The runner's handle on the load-client process: one request at a time over IPC. */
import type { ChildProcess } from 'node:child_process';
import type { Command, Reply } from './protocol.ts';

export class LoadClient {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: Reply) => {
      const p = this.pending.get(msg.seq);
      if (!p) return;
      this.pending.delete(msg.seq);
      if (msg.ok) p.resolve(msg.data);
      else p.reject(new Error(`load client: ${msg.error}`));
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`load client exited (${code})`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  send<T>(cmd: Command): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ seq, cmd });
    });
  }
}
