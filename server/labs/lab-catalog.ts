// The server's set of labs: every labs/<id>/lab.md, linted; broken labs stay listed with their
// problems while the others work. Watches the folder so that authors see their edits live.
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabSummary } from '../../common/lab.ts';
import { LAB_ID } from '../../common/lab.ts';
import { logger } from '../log.ts';
import { labHash, readLabFile } from './lint-lab.ts';
import type { LabLoad } from './lint-lab.ts';

export const LAB_FILE = 'lab.md';

export interface LabVersion {
  source: string;
  /** sha256 of `source` (labHash). */
  hash: string;
}

export interface LabCatalogOptions {
  /** Watch the folder and re-parse changed labs (default true). */
  watch?: boolean;
  /** Quiet time after the last file event before a lab is re-parsed (editors write in bursts). */
  debounceMs?: number;
}

export interface LabCatalog {
  readonly dir: string;
  /** Every lab, working or broken, sorted by id. */
  list(): LabSummary[];
  /** A lab by id: `ok` with the parsed lab (and any warnings), or broken with its problems; undefined if unknown. */
  get(id: string): LabLoad | undefined;
  /** The text of a lab file as last loaded (with its hash), whether it loads cleanly or not; undefined if unknown. */
  version(id: string): LabVersion | undefined;
  /** Called with a lab id after that lab was added, changed or removed. Returns an unsubscribe function. */
  onChange(listener: (labId: string) => void): () => void;
  /** Re-reads the whole folder now. */
  reload(): Promise<void>;
  /** Stops watching; the catalogue keeps answering with what it has. */
  close(): void;
}

export async function createLabCatalog(dir: string, options: LabCatalogOptions = {}): Promise<LabCatalog> {
  const catalog = new FolderCatalog(dir, options.debounceMs ?? 150);
  await catalog.reload();
  if (options.watch ?? true) catalog.startWatching();
  return catalog;
}

class FolderCatalog implements LabCatalog {
  private readonly labs = new Map<string, { load: LabLoad; fingerprint: string; version: LabVersion | undefined }>();
  private readonly listeners = new Set<(labId: string) => void>();
  private readonly labWatchers = new Map<string, FSWatcher>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Reloads of one lab run one after another, so a slow read never overwrites a newer one. */
  private readonly queues = new Map<string, Promise<void>>();
  private folderWatcher: FSWatcher | null = null;
  private closed = false;
  private readonly log;

  constructor(
    readonly dir: string,
    private readonly debounceMs: number,
  ) {
    this.log = logger('lab-catalog', { dir });
  }

  list(): LabSummary[] {
    return [...this.labs.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, { load }]): LabSummary =>
        load.ok ? { id, ok: true, meta: load.lab.meta, stepCount: load.lab.steps.length } : { id, ok: false, title: load.title, problems: load.problems },
      );
  }

  get(id: string): LabLoad | undefined {
    return LAB_ID.test(id) ? this.labs.get(id)?.load : undefined;
  }

  version(id: string): LabVersion | undefined {
    return LAB_ID.test(id) ? this.labs.get(id)?.version : undefined;
  }

  onChange(listener: (labId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async reload(): Promise<void> {
    const ids = new Set([...(await this.labFolders()), ...this.labs.keys()]);
    await Promise.all([...ids].map((id) => this.enqueue(id)));
  }

  startWatching(): void {
    try {
      this.folderWatcher = watch(this.dir, (_event, name) => {
        // A new or removed lab folder; `name` is null on some platforms: then look at everything.
        if (name === null) void this.reload();
        else if (LAB_ID.test(name)) this.schedule(name);
      });
      this.folderWatcher.on('error', (e) => this.log.warn({ err: e }, 'stopped watching the labs folder'));
    } catch (e) {
      this.log.warn({ err: e }, 'cannot watch the labs folder; lab edits need a restart');
    }
    for (const id of this.labs.keys()) this.watchLab(id);
  }

  close(): void {
    this.closed = true;
    this.folderWatcher?.close();
    this.folderWatcher = null;
    for (const w of this.labWatchers.values()) w.close();
    this.labWatchers.clear();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async labFolders(): Promise<string[]> {
    try {
      const entries = await readdir(this.dir, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && LAB_ID.test(e.name)).map((e) => e.name);
    } catch (e) {
      this.log.warn({ err: e }, 'cannot read the labs folder');
      return [];
    }
  }

  /** A lab folder gets its own watcher: editors replace lab.md by renaming, which a watch on the file itself would lose. */
  private watchLab(id: string): void {
    if (this.closed || this.folderWatcher === null || this.labWatchers.has(id)) return;
    try {
      const w = watch(join(this.dir, id), (_event, name) => {
        if (name === null || name === LAB_FILE) this.schedule(id);
      });
      w.on('error', () => this.unwatchLab(id));
      this.labWatchers.set(id, w);
    } catch {
      // The folder vanished between the event and now; the folder watcher reports its removal.
    }
  }

  private unwatchLab(id: string): void {
    this.labWatchers.get(id)?.close();
    this.labWatchers.delete(id);
  }

  private schedule(id: string): void {
    if (this.closed) return;
    clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        void this.enqueue(id).then((changed) => changed && this.notify(id));
      }, this.debounceMs),
    );
  }

  private enqueue(id: string): Promise<boolean> {
    const previous = this.queues.get(id) ?? Promise.resolve();
    const next = previous.then(() => this.loadOne(id));
    this.queues.set(
      id,
      next.then(
        () => undefined,
        () => undefined,
      ),
    );
    return next;
  }

  /** Re-reads one lab; returns whether what the catalogue says about it changed. */
  private async loadOne(id: string): Promise<boolean> {
    const file = join(this.dir, id, LAB_FILE);
    const exists = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) {
      this.unwatchLab(id);
      return this.labs.delete(id);
    }
    this.watchLab(id);
    const { load, source } = await readLabFile(file, id);
    const version = source === undefined ? undefined : { source, hash: labHash(source) };
    // A change of text alone (a comment, a blank line) is a new version too: workshops pin by hash.
    const fingerprint = `${version?.hash ?? ''}\u0000${JSON.stringify(load)}`;
    if (this.labs.get(id)?.fingerprint === fingerprint) return false;
    this.labs.set(id, { load, fingerprint, version });
    if (!load.ok) this.log.warn({ lab: id, problems: load.problems.length }, 'lab has errors');
    return true;
  }

  private notify(id: string): void {
    for (const listener of this.listeners) {
      try {
        listener(id);
      } catch (e) {
        this.log.error({ err: e, lab: id }, 'lab change listener failed');
      }
    }
  }
}
