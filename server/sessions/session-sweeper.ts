// Deletes expired sessions at start and then periodically, and frees what each one held (its
// lab hosts). The store decides what has expired (see store/sqlite-session-store.ts); this only
// schedules it and hands each ended session to `release`.
import type { Logger } from '../log.ts';
import { sessionTag } from './session-store.ts';

export interface SessionSweeperOptions {
  /** Deletes expired sessions; returns their ids. */
  sweep: () => string[];
  /** Frees what an ended session holds (its environments). */
  release: (sessionId: string) => Promise<void>;
  log: Logger;
  intervalMs?: number;
}

export interface SessionSweeper {
  /** One pass now; resolves with how many sessions ended, once their hosts are freed. */
  runNow(): Promise<number>;
  stop(): void;
}

export function startSessionSweeper(opts: SessionSweeperOptions): SessionSweeper {
  let running: Promise<number> | undefined;
  const runNow = (): Promise<number> => {
    if (running) return running;
    const pass = (async () => {
      try {
        const ended = opts.sweep();
        if (ended.length > 0) opts.log.info({ count: ended.length, sample: ended.slice(0, 5).map(sessionTag) }, 'expired sessions deleted');
        for (const id of ended) {
          await opts.release(id).catch((e: unknown) => opts.log.error({ err: e, session: sessionTag(id) }, 'could not free an expired session’s hosts'));
        }
        return ended.length;
      } catch (e) {
        opts.log.error({ err: e }, 'session sweep failed');
        return 0;
      }
    })();
    running = pass;
    void pass.finally(() => {
      if (running === pass) running = undefined;
    });
    return pass;
  };
  const timer = setInterval(() => void runNow(), opts.intervalMs ?? 10 * 60_000);
  timer.unref();
  return { runNow, stop: () => clearInterval(timer) };
}
