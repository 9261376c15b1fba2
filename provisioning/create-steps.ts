// The parts of creating an environment that every booting provider (local, LXD) does alike: its progress
// line, waiting until every host is ready, and rolling back a create that failed or was cancelled.
import type { CreateOptions } from './provider.ts';
import { ProvisionError } from './provider.ts';
import type { ProvisionLogger } from './log.ts';

/** One progress line of a create (CreateOptions.onProgress), or nothing when nobody listens. */
export type CreateProgress = (phase: string, done: number, total: number, message: string) => void;

export function progressOf(opts: CreateOptions): CreateProgress {
  return (phase, done, total, message) => opts.onProgress?.({ phase, done, total, message });
}

/** Waits until every host is ready, saying each one on the progress line as it comes (with its note, if any). */
export async function allHostsReady<H extends { name: string }>(hosts: readonly H[], waitReady: (h: H) => Promise<void>, progress: CreateProgress, note?: (h: H) => string | undefined): Promise<void> {
  let ready = 0;
  await Promise.all(
    hosts.map(async (h) => {
      await waitReady(h);
      ready += 1;
      const n = note?.(h);
      progress('services', ready, hosts.length, `${h.name} ready${n ? ` (${n})` : ''}`);
    }),
  );
}

/**
 * A create that failed (or was cancelled through its signal): logs why, tears down what it made (a failed
 * teardown is logged, never hides the cause), and throws what the caller sees: `aborted` when cancelled, the
 * ProvisionError itself, else `boot-failed` with the cause's message.
 */
export async function rollBackCreate(e: unknown, id: string, opts: { signal?: AbortSignal; log: ProvisionLogger; teardown: () => Promise<void> }): Promise<never> {
  const { signal, log } = opts;
  if (signal?.aborted) log.info('create cancelled; rolling back');
  else log.warn({ err: e instanceof Error ? e.message : String(e) }, 'create failed; rolling back');
  await opts.teardown().catch((te: unknown) => log.error({ err: String(te) }, 'rollback failed'));
  if (signal?.aborted) throw new ProvisionError('aborted', `creating ${id} was cancelled`);
  if (e instanceof ProvisionError) throw e;
  throw new ProvisionError('boot-failed', `environment ${id}: ${e instanceof Error ? e.message : String(e)}`);
}
