// A deadline for one piece of work (a check, a command) that goes away with the work. Unlike
// AbortSignal.timeout, whose timer fires even when the work finished long before (a DOMException and
// an abort event each time; one or two per automatic check run, hundreds a second in a full room),
// a cleared deadline never fires.

export interface Deadline {
  /** Aborts with a TimeoutError DOMException (as AbortSignal.timeout does) after timeoutMs, or when `also` aborts. */
  readonly signal: AbortSignal;
  /** The work is done: the timer is dropped and the signal will never abort on its own. */
  clear(): void;
}

export function deadline(timeoutMs: number, also?: AbortSignal): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(`The operation timed out after ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
  // Like AbortSignal.timeout: a pending deadline alone does not keep the process up.
  timer.unref();
  return {
    signal: also ? AbortSignal.any([also, controller.signal]) : controller.signal,
    clear: () => clearTimeout(timer),
  };
}
