// A LabViewSource over a fixed set of lab views, with change notifications raised by hand: for the
// server's tests, whose labs do not come from a folder.
import type { LabSummary, LabView } from '../../common/lab.ts';
import type { LabViewSource } from '../http/lab-source.ts';

export class StaticLabViews implements LabViewSource {
  readonly #views = new Map<string, LabView>();
  readonly #broken: LabSummary[] = [];
  readonly #listeners = new Set<(labId: string) => void>();

  constructor(views: readonly LabView[] = [], broken: readonly LabSummary[] = []) {
    for (const v of views) this.#views.set(v.id, v);
    this.#broken.push(...broken);
  }

  list(): LabSummary[] {
    const ok: LabSummary[] = [...this.#views.values()].map((v) => ({ id: v.id, ok: true, meta: v.meta, stepCount: v.steps.length }));
    return [...ok, ...this.#broken];
  }

  view(id: string): LabView | undefined {
    return this.#views.get(id);
  }

  /** Replaces (or adds) a lab and tells subscribers, as a file change would. */
  update(view: LabView): void {
    this.#views.set(view.id, view);
    for (const l of this.#listeners) l(view.id);
  }

  onChange(listener: (labId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
