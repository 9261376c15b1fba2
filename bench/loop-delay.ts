// How late an event loop runs, for the benches: Node's loop-delay monitor with its timer interval taken off
// (its histogram holds whole intervals, so a loop that is never late would read the interval itself).
import type { IntervalHistogram } from 'node:perf_hooks';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 5;

/** A loop-delay monitor of this process (call enable() to start it). */
export const loopDelayMonitor = (): IntervalHistogram => monitorEventLoopDelay({ resolution: RESOLUTION_MS });

/** How late the monitor's timer fired, in ms, from one of its readings (ns). */
export const lateMs = (ns: number): number => Math.max(0, Math.round(ns / 1e3) / 1e3 - RESOLUTION_MS);
