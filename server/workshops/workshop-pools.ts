// Warm pools sized per open workshop: each keeps environments of its lab ready for the attendees still to
// come, more while they arrive quickly, none once every seat is taken. Targets are recomputed on every
// join, when a workshop opens, and every few seconds (ends, expiries, the arrival window moving on).
import type { EnvironmentSpec } from '../../provisioning/provider.ts';
import type { LabServices } from '../../common/lab.ts';

/** How far back joins count as "arriving now". */
export const ARRIVAL_WINDOW_MS = 60_000;

/**
 * Environments a workshop keeps warm: min(seats − hosted, max(K, joins in the last minute)), 0 when K is 0
 * (pools off), where `hosted` counts attendees who hold hosts. K (LABWRIGHT_POOL_SIZE) is the floor while
 * seats are left; a class arriving faster than that raises it to the arrivals of the last minute, and the
 * seats not yet on hosts cap it so that nothing is booted for attendees who cannot come. An attendee who
 * joined but has not claimed hosts yet still counts as a seat to serve: a burst of joins must not shrink the
 * pool (destroying ready environments) under the claims on their way. With "boot hosts ahead for every
 * seat" (bootAhead), whatever K: one for every seat whose attendee holds no hosts yet (seats − hosted).
 */
export function poolTarget(w: { seats: number; hosted: number; recentJoins: number; bootAhead?: boolean }, k: number): number {
  const unserved = Math.max(0, w.seats - w.hosted);
  if (w.bootAhead) return unserved;
  if (k <= 0) return 0;
  return Math.min(unserved, Math.max(k, w.recentJoins));
}

export interface WorkshopPoolsOptions {
  /** K: LABWRIGHT_POOL_SIZE. */
  k: number;
  /** The open workshops now: their lab and seats, how many attendees hold hosts, whether they boot ahead. */
  open: () => { id: string; labId: string; seats: number; hosted: number; bootAhead?: boolean }[];
  /** The hosts and services of a lab (undefined: no such lab; nothing is warmed for it). */
  shape: (labId: string) => { hosts: readonly string[]; services: LabServices; vm?: true } | undefined;
  /** Where the targets go (PoolSet.setTargets). */
  apply: (targets: { spec: EnvironmentSpec; size: number }[]) => Promise<void>;
  /** Whether the provider boots hosts at all (default: K > 0); boot-ahead works with K = 0 too. */
  enabled?: boolean;
  refreshMs?: number;
  now?: () => number;
}

/** Of a workshop's target (`of`), how many environments are ready. */
export interface BootAheadStatus {
  ready: number;
  of: number;
}

export class WorkshopPools {
  readonly #joins = new Map<string, number[]>();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: WorkshopPoolsOptions) {
    if (this.#enabled) {
      this.#timer = setInterval(() => void this.refresh(), opts.refreshMs ?? 5000);
      this.#timer.unref();
    }
  }

  /** An attendee joined workshop `id`: counts toward its arrival rate, and the targets move at once. */
  joined(id: string): Promise<void> {
    const list = this.#joins.get(id) ?? [];
    list.push(this.#now());
    this.#joins.set(id, list);
    return this.refresh();
  }

  /** The target of each open workshop now (for logs and tests). */
  targets(): { workshopId: string; spec: EnvironmentSpec; size: number }[] {
    if (!this.#enabled) return [];
    const since = this.#now() - ARRIVAL_WINDOW_MS;
    const open = this.opts.open();
    const openIds = new Set(open.map((w) => w.id));
    for (const id of this.#joins.keys()) if (!openIds.has(id)) this.#joins.delete(id);
    const out: { workshopId: string; spec: EnvironmentSpec; size: number }[] = [];
    for (const w of open) {
      const shape = this.opts.shape(w.labId);
      if (!shape) continue;
      const recent = (this.#joins.get(w.id) ?? []).filter((t) => t > since);
      if (recent.length) this.#joins.set(w.id, recent);
      else this.#joins.delete(w.id);
      const size = poolTarget({ seats: w.seats, hosted: w.hosted, recentJoins: recent.length, bootAhead: w.bootAhead === true }, this.opts.k);
      // A lab of VMs is not kept warm: a pool would hold VMs (memory, boot) for seats that may stay empty.
      if (shape.vm) continue;
      out.push({ workshopId: w.id, spec: { hosts: [...shape.hosts], services: { ...shape.services } }, size });
    }
    return out;
  }

  /** Recomputes and applies every target now; resolves once environments no longer wanted are destroyed. */
  refresh(): Promise<void> {
    if (!this.#enabled) return Promise.resolve();
    return this.opts.apply(this.targets().map(({ spec, size }) => ({ spec, size }))).catch(() => undefined);
  }

  /**
   * How far workshop `id` has booted ahead: of its target, how many environments of its shape are ready
   * (`readyOf`: PoolSet's ready count per shape; shared by workshops of one lab, so capped at the target).
   */
  bootAheadStatus(id: string, readyOf: (spec: EnvironmentSpec) => number): BootAheadStatus | undefined {
    return this.bootAheadStatuses(readyOf).get(id);
  }

  /** bootAheadStatus of every open workshop with a target, from one reading of the open workshops. */
  bootAheadStatuses(readyOf: (spec: EnvironmentSpec) => number): Map<string, BootAheadStatus> {
    return new Map(this.targets().map((t) => [t.workshopId, { ready: Math.min(t.size, readyOf(t.spec)), of: t.size }]));
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  get #enabled(): boolean {
    return this.opts.enabled ?? this.opts.k > 0;
  }

  #now(): number {
    return (this.opts.now ?? Date.now)();
  }
}
