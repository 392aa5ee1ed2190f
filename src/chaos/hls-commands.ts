/**
 * HLS viewers as commands: one viewer of a channel, a crowd of them (one channel or each its
 * own), one leaving (falling silent). A channel's viewers are one audience, one player to the
 * session; TS players of the same channel share its engine session with them.
 */
import fc from 'fast-check';
import { Base, type Model } from './commands.ts';
import { CHANNELS, CROWD_CHANNELS, type ChaosWorld } from './world.ts';

export class HlsJoin extends Base {
  constructor(readonly channel: number) {
    super();
  }
  protected async act(m: Model, w: ChaosWorld) {
    if (w.joinHls(this.channel)) m.viewers++;
  }
  toString() {
    return `hlsJoin(${this.channel})`;
  }
}

export class HlsCrowd extends Base {
  constructor(
    readonly size: number,
    readonly spread: boolean,
    readonly first: number,
  ) {
    super();
  }
  protected async act(m: Model, w: ChaosWorld) {
    for (let i = 0; i < this.size; i++) if (w.joinHls(this.spread ? (this.first + i) % CROWD_CHANNELS : this.first)) m.viewers++;
  }
  toString() {
    return `hlsCrowd(${this.size} on ${this.spread ? `channels ${this.first}…${(this.first + this.size - 1) % CROWD_CHANNELS}` : `channel ${this.first}`})`;
  }
}

export class HlsLeave extends Base {
  constructor(readonly index: number) {
    super();
  }
  protected override applies(m: Readonly<Model>) {
    return m.viewers > 0;
  }
  protected async act(_m: Model, w: ChaosWorld) {
    const open = w.openViewers();
    if (open.length > 0) open[this.index % open.length]!.leave();
  }
  toString() {
    return `hlsLeave(${this.index})`;
  }
}

export function hlsArbitraries() {
  return {
    hlsJoin: fc.integer({ min: 0, max: CHANNELS.length - 1 }).map((c) => new HlsJoin(c)),
    hlsCrowd: fc
      .record({ size: fc.integer({ min: 2, max: 30 }), spread: fc.boolean(), first: fc.nat({ max: CROWD_CHANNELS - 1 }) })
      .map((r) => new HlsCrowd(r.size, r.spread, r.first)),
    hlsLeave: fc.nat({ max: 1000 }).map((i) => new HlsLeave(i)),
  };
}
