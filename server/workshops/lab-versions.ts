// Which version of a lab each session works on. A workshop runs the lab text it was created with
// (stored with it) until the instructor moves it; solo pages and the author's preview follow the
// file. Everything an attendee gets — page, checks, skips, dashboard rows — asks here.
import type { Lab } from '../../common/lab.ts';
import { toLabView } from '../../common/lab.ts';
import type { LabViewSource } from '../http/lab-source.ts';
import type { LabCatalog } from '../labs/lab-catalog.ts';

/** The catalogue as versions need it; one without `version` (tests' stand-ins) pins nothing. */
export type VersionedCatalog = { get(id: string): { ok: true; lab: Lab } | { ok: false } | undefined } & Partial<Pick<LabCatalog, 'version' | 'dir'>>;
import { loadLab } from '../labs/lint-lab.ts';
import type { DurableStore } from '../store/durable-store.ts';
import type { WorkshopRecord } from '../store/workshop-records.ts';

/** How the lab file stands against the version a workshop runs. */
export type FileStanding = { kind: 'same' } | { kind: 'changed'; movable: true } | { kind: 'changed'; movable: false; reason: string };

export interface LabVersions {
  /** The lab a workshop runs: its pinned version, or the file's if it has none. */
  ofWorkshop(w: WorkshopRecord): Lab | undefined;
  /** The lab this session works on: its workshop's version for an attendee of a workshop of this lab, else the file's. */
  ofSession(sessionId: string, labId: string): Lab | undefined;
  /** The lab file now, for a workshop about to pin it: its text and parsed lab, when it loads cleanly. */
  fileVersion(labId: string): { source: string; hash: string; lab: Lab } | undefined;
  /** Whether the file has changed since the workshop's version, and whether the workshop can move to it. */
  standing(w: WorkshopRecord): FileStanding;
  /** The pages' lab source: views by session, and change notices only to pages whose version changed. */
  readonly views: LabViewSource;
  /** Tells the session's pages that their lab version changed (their workshop moved). */
  moved(sessionId: string): void;
}

/** Parsed pinned versions kept; more distinct versions than this at once are parsed again when asked. */
const CACHE = 32;

export function labVersions(catalog: VersionedCatalog, store: DurableStore, base: LabViewSource): LabVersions {
  const parsed = new Map<string, Lab | undefined>();
  const movedListeners = new Map<string, Set<() => void>>();

  const fileLab = (labId: string): Lab | undefined => {
    const load = catalog.get(labId);
    return load?.ok ? load.lab : undefined;
  };

  function pinned(w: WorkshopRecord): Lab | undefined {
    const key = `${w.labId}\u0000${w.labHash ?? ''}`;
    if (parsed.has(key)) return parsed.get(key);
    const version = store.workshops.labSource(w.id);
    if (!version) return fileLab(w.labId);
    // The text was a clean lab when it was pinned, and parsing is deterministic.
    const load = loadLab(version.source, { id: w.labId, file: `${catalog.dir ?? 'labs'}/${w.labId}/lab.md` });
    const lab = load.ok ? load.lab : undefined;
    if (parsed.size >= CACHE) parsed.clear();
    parsed.set(key, lab);
    return lab;
  }

  const ofWorkshop = (w: WorkshopRecord): Lab | undefined => (w.labHash === undefined ? fileLab(w.labId) : pinned(w));

  /** The workshop whose version this session sees for this lab, if any. */
  function workshopOf(sessionId: string, labId: string): WorkshopRecord | undefined {
    const rec = store.sessions.record(sessionId);
    if (rec?.role !== 'attendee' || !rec.workshopId) return undefined;
    const w = store.workshops.get(rec.workshopId);
    return w?.labId === labId ? w : undefined;
  }

  function ofSession(sessionId: string, labId: string): Lab | undefined {
    const w = workshopOf(sessionId, labId);
    return w ? ofWorkshop(w) : fileLab(labId);
  }

  const views: LabViewSource = {
    list: () => base.list(),
    view: (id) => base.view(id),
    onChange: (listener) => base.onChange(listener),
    viewFor(sessionId, labId) {
      const lab = ofSession(sessionId, labId);
      return lab ? toLabView(lab) : undefined;
    },
    watch(sessionId, labId, listener) {
      const offFile = base.onChange((changed) => {
        // A workshop's pages keep their version: the file changing says nothing to them.
        if (changed === labId && workshopOf(sessionId, labId)?.labHash === undefined) listener();
      });
      let set = movedListeners.get(sessionId);
      if (!set) movedListeners.set(sessionId, (set = new Set()));
      set.add(listener);
      return () => {
        offFile();
        set.delete(listener);
        if (set.size === 0 && movedListeners.get(sessionId) === set) movedListeners.delete(sessionId);
      };
    },
  };

  return {
    ofWorkshop,
    ofSession,
    fileVersion(labId) {
      const version = catalog.version?.(labId);
      const lab = fileLab(labId);
      return version && lab ? { ...version, lab } : undefined;
    },
    standing(w) {
      const version = catalog.version?.(w.labId);
      if (w.labHash === undefined || !version || version.hash === w.labHash) return { kind: 'same' };
      const next = fileLab(w.labId);
      if (!next) return { kind: 'changed', movable: false, reason: 'the lab file has errors now (run labwright lint); fix them to move this workshop' };
      const now = ofWorkshop(w);
      if (now && (now.meta.hosts.join(' ') !== next.meta.hosts.join(' ') || JSON.stringify(now.meta.services) !== JSON.stringify(next.meta.services) || (now.meta.vm ?? false) !== (next.meta.vm ?? false))) {
        return { kind: 'changed', movable: false, reason: 'the new version has other hosts, services or kind of host (vm) than the hosts attendees have; start a new workshop for it' };
      }
      return { kind: 'changed', movable: true };
    },
    views,
    moved(sessionId) {
      for (const l of movedListeners.get(sessionId) ?? []) l();
    },
  };
}

