// Binds (session, lab) to an Environment: claims one from the provider the first time a page
// of that lab connects, tells the session's pages how provisioning goes (env-status), reuses it
// across reloads and reconnects, and gives it back when the session goes or the server stops.
// What an earlier process left is settled in leftover-environments.ts; destroys in environment-teardown.ts.
import { createHash } from 'node:crypto';
import type { LabServices } from '../../common/lab.ts';
import type { CloseCode, EnvState, HostStatus, ServerMessage } from '../../common/protocol.ts';
import type { Environment, Provider } from '../../provisioning/provider.ts';
import type { Logger } from '../log.ts';
import { logger } from '../log.ts';
import type { SshPool } from '../ssh/ssh-pool.ts';
import type { EnvironmentOwnership } from '../store/environment-owners.ts';
import { EnvironmentTeardown, workspaceKey as key } from './environment-teardown.ts';
import type { LeftoverPolicy, LeftoverReport } from './leftover-environments.ts';
import { LeftoverEnvironments } from './leftover-environments.ts';

export type EnvStatusMessage = Extract<ServerMessage, { type: 'env-status' }>;

export interface LabShape {
  hosts: string[];
  services: LabServices;
  /** The lab's `reset:` script (see EnvironmentSpec.reset). */
  reset?: string;
}

export interface Workspace {
  readonly sessionId: string;
  readonly labId: string;
  readonly state: EnvState;
  /** Set once state is `ready`. */
  readonly env: Environment | undefined;
  readonly hosts: readonly HostStatus[];
  /** Resolves with the environment once ready; rejects if provisioning fails or the workspace is released. */
  whenReady(): Promise<Environment>;
  /** The env-status message describing this workspace now. */
  status(): EnvStatusMessage;
}

export interface WorkspaceManagerOptions {
  provider: Provider;
  /** The hosts and services of a lab, or undefined when there is no such (valid) lab. */
  labShape: (labId: string, sessionId: string) => LabShape | undefined;
  /** Used to probe host reachability; its connections to an environment are closed on release. */
  ssh?: SshPool;
  /** How often hosts are probed while someone watches the workspace. */
  probeIntervalMs?: number;
  /**
   * Release a workspace once no page has watched it for this long. Unset (solo mode): keep it
   * while the server runs. Long enough to cover a page reload or a network drop.
   */
  idleReleaseMs?: number;
  /**
   * Durable record of which environment each (session, lab) uses. With it, a restarted server
   * adopts the same environment (found through provider.list()) instead of creating a new one,
   * so the session keeper on its hosts still holds the attendee's shells.
   */
  ownership?: EnvironmentOwnership;
  /**
   * Environments one session may hold at once (a solo page opening lab after lab). Opening one
   * more frees the session's oldest environment no page watches; when every one is watched the
   * new lab is refused with a message. Default: no limit.
   */
  maxPerSession?: number;
  /**
   * Asked, synchronously, before a session is handed its environment and again right before the
   * provider is asked for one: a refusal (e.g. the attendee's workshop has ended or expired) means
   * no hosts are made or handed out. Reads the durable store, so a workshop marked ended in the
   * same tick is seen. Unset: everyone may.
   */
  admit?: (sessionId: string, labId: string) => Refusal | undefined;
}

/** Why a session may not have hosts now: the close code and reason its pages get. */
export interface Refusal {
  code: CloseCode;
  reason: string;
}

export class WorkspaceError extends Error {
  override name = 'WorkspaceError';
  constructor(
    readonly code: 'unknown-lab' | 'released' | 'failed' | 'limit' | 'refused',
    message: string,
    /** For 'refused': how the session's pages are closed (they must not retry). */
    readonly closeCode?: CloseCode,
  ) {
    super(message);
  }
}

/**
 * The owner label kept with the environment (visible in `labwright env ls`). It must not
 * contain the session id itself, which is the session cookie's secret value.
 */
export const ownerLabel = (sessionId: string, labId: string): string =>
  `session:${createHash('sha256').update(sessionId).digest('hex').slice(0, 16)}:${labId}`;

/** True for labels ownerLabel() makes: an environment created for a (session, lab). */
export const isSessionOwnerLabel = (owner: string | undefined): boolean => owner?.startsWith('session:') === true;

const PROBE_TIMEOUT_MS = 5000;

class WorkspaceEntry implements Workspace {
  state: EnvState = 'provisioning';
  env: Environment | undefined;
  hosts: HostStatus[];
  progress: EnvStatusMessage['progress'];
  message: string | undefined;
  readonly listeners = new Set<(s: EnvStatusMessage) => void>();
  readonly abort = new AbortController();
  ready!: Promise<Environment>;
  probeTimer: NodeJS.Timeout | null = null;
  idleTimer: NodeJS.Timeout | null = null;
  released = false;

  constructor(
    readonly sessionId: string,
    readonly labId: string,
    readonly shape: LabShape,
  ) {
    this.hosts = shape.hosts.map((name) => ({ name, reachable: false }));
  }

  whenReady(): Promise<Environment> {
    return this.ready;
  }

  status(): EnvStatusMessage {
    const msg: EnvStatusMessage = { type: 'env-status', state: this.state, hosts: this.hosts.map((h) => ({ ...h })) };
    if (this.progress && this.state === 'provisioning') msg.progress = { ...this.progress };
    if (this.message !== undefined) msg.message = this.message;
    return msg;
  }

  publish(): void {
    const s = this.status();
    for (const l of this.listeners) l(s);
  }
}

export class WorkspaceManager {
  readonly #entries = new Map<string, WorkspaceEntry>();
  readonly #log: Logger = logger('workspaces');
  #closed = false;
  readonly #teardown: EnvironmentTeardown;
  readonly #leftovers: LeftoverEnvironments;
  readonly #readyListeners = new Set<(sessionId: string, labId: string, env: Environment) => void>();

  constructor(private readonly opts: WorkspaceManagerOptions) {
    this.#teardown = new EnvironmentTeardown(opts.provider, opts.ssh);
    this.#leftovers = new LeftoverEnvironments({ provider: opts.provider, ownership: opts.ownership, teardown: this.#teardown, log: this.#log });
  }

  /** The workspace of (session, lab), if one was acquired. */
  get(sessionId: string, labId: string): Workspace | undefined {
    return this.#entries.get(key(sessionId, labId));
  }

  /** Awaits the environment of (session, lab); rejects with WorkspaceError when there is none or it failed. */
  whenReady(sessionId: string, labId: string): Promise<Environment> {
    const e = this.#entries.get(key(sessionId, labId));
    return e ? e.ready : Promise.reject(new WorkspaceError('released', 'no environment for this session and lab'));
  }

  /**
   * The workspace of (session, lab), provisioning it if there is none yet. A failed one is
   * tried again (the attendee reloading the page is the natural "retry" button).
   */
  acquire(sessionId: string, labId: string): Workspace {
    if (this.#closed) throw new WorkspaceError('released', 'the server is shutting down');
    this.#admit(sessionId, labId);
    const k = key(sessionId, labId);
    const existing = this.#entries.get(k);
    if (existing && existing.state !== 'failed') return existing;
    const shape = this.opts.labShape(labId, sessionId);
    if (!shape) throw new WorkspaceError('unknown-lab', `no lab "${labId}"`);
    if (!existing) this.#makeRoom(sessionId);
    const entry = new WorkspaceEntry(sessionId, labId, shape);
    // The session came back for hosts an earlier process left: #provision adopts them.
    this.#leftovers.claim(sessionId, labId);
    if (existing) {
      for (const l of existing.listeners) entry.listeners.add(l);
    }
    this.#entries.set(k, entry);
    entry.ready = this.#provision(entry);
    // Callers that only subscribe never await `ready`; its failure is reported through env-status.
    entry.ready.catch(() => undefined);
    return entry;
  }

  /**
   * Before a session gets one more environment: at its cap, the oldest one no page watches is
   * freed (its lab, reopened later, gets fresh hosts; progress is kept); if every one is watched,
   * refuses. Hosts are the costly thing a page can make the server hold.
   */
  #makeRoom(sessionId: string): void {
    const max = this.opts.maxPerSession;
    if (max === undefined) return;
    const mine = [...this.#entries.values()].filter((e) => e.sessionId === sessionId && !e.released);
    if (mine.length < max) return;
    const idle = mine.find((e) => e.listeners.size === 0);
    if (!idle) {
      throw new WorkspaceError('limit', `you already have lab hosts for ${mine.length} labs open (${mine.map((e) => e.labId).join(', ')}), the most one session may hold: close one of those pages, then reload this one`);
    }
    this.#log.info({ lab: idle.labId, owner: ownerLabel(sessionId, idle.labId), max }, 'freeing the session’s oldest unwatched environment to make room');
    void this.#release(idle);
  }

  /** Calls `listener` with the current status now and on every change; returns an unsubscribe. */
  subscribe(sessionId: string, labId: string, listener: (s: EnvStatusMessage) => void): () => void {
    const e = this.#entries.get(key(sessionId, labId));
    if (!e) return () => undefined;
    e.listeners.add(listener);
    if (e.idleTimer) clearTimeout(e.idleTimer);
    e.idleTimer = null;
    listener(e.status());
    if (e.state === 'ready') this.#startProbing(e);
    return () => {
      if (!e.listeners.delete(listener) || e.listeners.size > 0) return;
      this.#stopProbing(e);
      const idle = this.opts.idleReleaseMs;
      if (idle === undefined || e.released) return;
      e.idleTimer = setTimeout(() => {
        if (e.listeners.size === 0) void this.#release(e);
      }, idle);
      e.idleTimer.unref();
    };
  }

  /** What a terminal learned about a host (it connected, or could not): shown at once in env-status. */
  reportHost(sessionId: string, labId: string, host: string, reachable: boolean): void {
    const e = this.#entries.get(key(sessionId, labId));
    if (!e || e.state !== 'ready') return;
    const h = e.hosts.find((x) => x.name === host);
    if (!h || h.reachable === reachable) return;
    h.reachable = reachable;
    e.publish();
  }

  /**
   * Gives back every environment of a session (the session ended, its workshop ended, a reset).
   * Everything that decides is done before the first await: the workspaces leave the map and
   * their records are forgotten at once, so an acquire from here on gets a new workspace, which
   * waits (its teardown gate) until the old hosts are gone. Resolves once they are, including
   * destroys of this session that an earlier call started.
   */
  release(sessionId: string): Promise<void> {
    const jobs: Promise<void>[] = [];
    for (const e of [...this.#entries.values()]) if (e.sessionId === sessionId) jobs.push(this.#release(e));
    // Owned by the session but not adopted since the last restart (nobody opened it yet).
    jobs.push(...this.#leftovers.releaseSession(sessionId));
    jobs.push(...this.#teardown.pendingOfSession(sessionId));
    return Promise.all(jobs).then(() => undefined);
  }

  /**
   * Run once at start, before any page connects, after the provider adopted what still runs:
   * decides what becomes of each environment an earlier process left (see LeftoverPolicy).
   */
  settleLeftovers(policy: LeftoverPolicy): Promise<LeftoverReport> {
    return this.#leftovers.settle(policy, (sessionId, labId) => this.#entries.has(key(sessionId, labId)));
  }

  /** Destroys every environment at shutdown, except ready ones `keep` names (with durable ownership). Idempotent. */
  async close(opts: { keep?: (sessionId: string, labId: string) => boolean } = {}): Promise<void> {
    this.#closed = true;
    // Leftovers still waiting for their session: as a solo session's hosts, freed at shutdown.
    await this.#leftovers.close(opts.keep);
    const all = [...this.#entries.values()];
    // Kept (a running workshop's, recorded in the durable ownership): left running for the next
    // server process to adopt; only this process's timers stop.
    const kept = all.filter((e) => e.state === 'ready' && this.opts.ownership && opts.keep?.(e.sessionId, e.labId));
    for (const e of kept) {
      this.#stopProbing(e);
      if (e.idleTimer) clearTimeout(e.idleTimer);
      e.listeners.clear();
    }
    await Promise.all(all.filter((e) => !kept.includes(e)).map((e) => this.#release(e)));
    // Destroys started before (a reset, a session's end) finish before the process may exit.
    await this.#teardown.all();
  }

  async #provision(e: WorkspaceEntry): Promise<Environment> {
    const log = this.#log.child({ lab: e.labId, owner: ownerLabel(e.sessionId, e.labId) });
    log.info('provisioning');
    const k = key(e.sessionId, e.labId);
    if (this.#teardown.pending(k)) {
      // A reset (or an idle release) is still destroying this seat's previous hosts: say so, and
      // start only once they are gone, so those hosts are never adopted nor run beside new ones.
      e.progress = { done: 0, total: 1, message: 'removing the previous lab hosts' };
      e.publish();
      for (let g = this.#teardown.pending(k); g && !e.released; g = this.#teardown.pending(k)) await g;
      e.progress = undefined;
    }
    e.publish();
    let env: Environment;
    try {
      this.#stillWanted(e);
      // Without ownership the provider is asked at once, in the same tick as acquire().
      const adopted = this.opts.ownership ? await this.#leftovers.adopt(e.sessionId, e.labId, log) : undefined;
      // Checked again after the await, in the same tick as the provider is asked: a workshop
      // ended (or a release) meanwhile makes no hosts. An adopted environment stays recorded,
      // for whoever frees the session.
      this.#stillWanted(e);
      env = adopted ?? await this.opts.provider.create(
        { hosts: e.shape.hosts, services: e.shape.services, owner: ownerLabel(e.sessionId, e.labId), ...(e.shape.reset !== undefined ? { reset: e.shape.reset } : {}) },
        {
          signal: e.abort.signal,
          onProgress: (p) => {
            if (e.released) return;
            e.progress = { done: p.done, total: p.total, message: p.message };
            e.publish();
          },
        },
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (e.released) throw new WorkspaceError('released', 'the environment was released while it was being created');
      if (err instanceof WorkspaceError && err.code === 'refused') {
        log.info({ reason: message }, 'no hosts: the session may not have them now');
        e.state = 'failed';
        e.message = message;
        e.publish();
        throw err;
      }
      log.error({ err: message }, 'provisioning failed');
      e.state = 'failed';
      e.message = `Could not create the lab hosts: ${message}`;
      e.publish();
      throw new WorkspaceError('failed', e.message);
    }
    if (e.released) {
      // Released while the provider was still working: nobody will use it.
      await this.#teardown.destroy(env, log);
      throw new WorkspaceError('released', 'the environment was released while it was being created');
    }
    // Recorded before anyone is told it is ready: a crash from here on re-adopts it.
    this.opts.ownership?.record(e.sessionId, e.labId, env.id);
    e.env = env;
    e.state = 'ready';
    e.message = undefined;
    log.info({ env: env.id }, 'ready');
    e.publish();
    for (const l of this.#readyListeners) l(e.sessionId, e.labId, env);
    if (e.listeners.size > 0) this.#startProbing(e);
    return env;
  }

  #startProbing(e: WorkspaceEntry): void {
    if (!this.opts.ssh || e.probeTimer || e.released) return;
    void this.#probe(e);
    e.probeTimer = setInterval(() => void this.#probe(e), this.opts.probeIntervalMs ?? 15_000);
    e.probeTimer.unref();
  }

  #stopProbing(e: WorkspaceEntry): void {
    if (e.probeTimer) clearInterval(e.probeTimer);
    e.probeTimer = null;
  }

  async #probe(e: WorkspaceEntry): Promise<void> {
    const env = e.env;
    const ssh = this.opts.ssh;
    if (!env || !ssh) return;
    const results = await Promise.all(
      e.hosts.map(async (h) => {
        const conn = ssh.get(env, h.name);
        if (!conn) return false;
        try {
          const r = await conn.exec('true', { timeoutMs: PROBE_TIMEOUT_MS });
          return r.code === 0;
        } catch {
          return false;
        }
      }),
    );
    if (e.released) return;
    let changed = false;
    e.hosts.forEach((h, i) => {
      const r = results[i] ?? false;
      if (h.reachable !== r) {
        h.reachable = r;
        changed = true;
      }
    });
    if (changed) e.publish();
  }

  /**
   * Takes the workspace out of use at once (map entry, record) and destroys its hosts behind a
   * gate that the next workspace of the same key waits for. The record goes first: a crash
   * mid-destroy leaves an unrecorded environment, which the next start reaps as an orphan,
   * never one that a returning attendee would adopt half-destroyed.
   */
  #release(e: WorkspaceEntry): Promise<void> {
    const k = key(e.sessionId, e.labId);
    if (e.released) return this.#teardown.pending(k) ?? Promise.resolve();
    e.released = true;
    this.#stopProbing(e);
    if (e.idleTimer) clearTimeout(e.idleTimer);
    e.abort.abort();
    if (this.#entries.get(k) === e) this.#entries.delete(k);
    e.listeners.clear();
    const env = e.env;
    const recorded = this.opts.ownership?.find(e.sessionId, e.labId);
    // Only the record of this workspace (or, while it provisions, the one it may be adopting).
    const mine = recorded !== undefined && (env === undefined || recorded === env.id);
    if (mine) this.opts.ownership?.forget(e.sessionId, e.labId);
    const log = this.#log.child({ lab: e.labId, env: env?.id ?? recorded });
    const job = (async () => {
      if (env) {
        await this.#teardown.destroy(env, log);
        return;
      }
      // Still provisioning: #provision destroys what the provider hands back; wait for that.
      if (mine) await this.#teardown.destroy(recorded, log);
      await e.ready.catch(() => undefined);
    })();
    return this.#teardown.gate(k, job);
  }

  /** Throws unless the workspace is still wanted and its session may still have hosts. */
  #stillWanted(e: WorkspaceEntry): void {
    if (e.released) throw new WorkspaceError('released', 'the environment was released while it was being created');
    this.#admit(e.sessionId, e.labId);
  }

  #admit(sessionId: string, labId: string): void {
    const refusal = this.opts.admit?.(sessionId, labId);
    if (refusal) throw new WorkspaceError('refused', refusal.reason, refusal.code);
  }

  /**
   * Runs `job` (a provider's restore of a step snapshot) on the ready environment of (session, lab) with the
   * workspace marked as provisioning meanwhile: pages see the message, terminals that reconnect wait for the
   * hosts (whenReady), and SSH connections to the old boot are dropped. Should the job fail, the hosts are
   * given back (the next page gets fresh ones) and the error is rethrown.
   */
  async restoreHosts(sessionId: string, labId: string, message: string, job: (env: Environment) => Promise<void>): Promise<Environment> {
    const e = this.#entries.get(key(sessionId, labId));
    const env = e?.env;
    if (!e || e.released || e.state !== 'ready' || !env) throw new WorkspaceError('released', 'the lab hosts are not ready');
    let settle!: { resolve: (env: Environment) => void; reject: (err: Error) => void };
    e.ready = new Promise<Environment>((resolve, reject) => (settle = { resolve, reject }));
    e.ready.catch(() => undefined);
    e.state = 'provisioning';
    e.progress = { done: 0, total: 1, message };
    this.#stopProbing(e);
    e.hosts.forEach((h) => (h.reachable = false));
    e.publish();
    this.opts.ssh?.closeEnvironment(env.id);
    const log = this.#log.child({ lab: labId, env: env.id });
    try {
      await job(env);
    } catch (err) {
      const failure = new WorkspaceError('failed', `Could not put the hosts back: ${err instanceof Error ? err.message : String(err)}`);
      log.error({ err: failure.message }, 'restore failed; giving the hosts back');
      settle.reject(failure);
      await this.#release(e);
      throw failure;
    }
    // Connections opened while the hosts were down belong to the old boot.
    this.opts.ssh?.closeEnvironment(env.id);
    if (e.released) throw new WorkspaceError('released', 'the environment was released while it was being restored');
    e.state = 'ready';
    e.progress = undefined;
    settle.resolve(env);
    e.publish();
    if (e.listeners.size > 0) this.#startProbing(e);
    log.info('hosts restored');
    return env;
  }

  /** Called when the environment of a (session, lab) is ready, made or adopted; returns an unsubscribe. */
  onReady(listener: (sessionId: string, labId: string, env: Environment) => void): () => void {
    this.#readyListeners.add(listener);
    return () => this.#readyListeners.delete(listener);
  }

  /** Runs before an environment is destroyed, e.g. so terminals close their SSH connections to it. */
  onRelease(listener: (env: Environment) => void): () => void {
    return this.#teardown.onRelease(listener);
  }
}
