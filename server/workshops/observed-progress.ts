// A ProgressStore that tells a listener after each write has been stored, so the instructor
// dashboard is pushed the change without polling.
import type { DoneStep, LabProgress, ProgressStore } from '../progress/progress-store.ts';

export function observedProgress(inner: ProgressStore, onWrite: (sessionId: string) => void): ProgressStore {
  return {
    get: (sessionId, labId) => inner.get(sessionId, labId),
    async recordAttempt(sessionId: string, labId: string, stepId: string, passed: boolean, at: number): Promise<void> {
      await inner.recordAttempt(sessionId, labId, stepId, passed, at);
      onWrite(sessionId);
    },
    async markDone(sessionId: string, labId: string, done: DoneStep): Promise<LabProgress> {
      const p = await inner.markDone(sessionId, labId, done);
      onWrite(sessionId);
      return p;
    },
  };
}
