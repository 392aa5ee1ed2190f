/**
 * An RxJS scheduler that runs on our Clock, so `timer()` in the status feed moves with a
 * ManualClock in tests and with the system clock in production.
 */
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';
import type { Clock, TimerHandle } from './clock.ts';

export function clockScheduler(clock: Clock): SchedulerLike {
  return {
    now: () => clock.now(),
    schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
      const sub = new Subscription();
      let handle: TimerHandle | undefined;
      const action = sub as Subscription & SchedulerAction<T>;
      const arm = (s: T | undefined, d: number) => {
        if (sub.closed) return;
        if (handle !== undefined) clock.clearTimeout(handle);
        handle = clock.setTimeout(() => {
          handle = undefined;
          if (!sub.closed) work.call(action, s);
        }, d);
      };
      action.schedule = (s?: T, d = 0) => {
        arm(s, d);
        return sub;
      };
      sub.add(() => {
        if (handle !== undefined) clock.clearTimeout(handle);
      });
      arm(state, delay);
      return sub;
    },
  };
}
