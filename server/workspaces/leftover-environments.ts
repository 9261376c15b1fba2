// What becomes of the environments an earlier process of this server left running: at start each
// is kept, waits a grace time for its session, or is destroyed as an orphan; a session that comes
// back adopts its recorded hosts (the session keeper there still holds its shells) instead of getting new ones.
import type { Environment, Provider } from '../../provisioning/provider.ts';
import type { Logger } from '../log.ts';
import type { EnvironmentOwnership } from '../store/environment-owners.ts';
import type { EnvironmentTeardown } from './environment-teardown.ts';
import { workspaceKey } from './environment-teardown.ts';

/** What to do, at start, with the environments an earlier process of this server left running. */
export interface LeftoverPolicy {
  /** Sessions whose recorded environments stay as they are (a running workshop's attendees). */
  keep: (sessionId: string) => boolean;
  /** How long any other session's recorded environment waits for that session to come back. */
  graceMs: number;
  /**
   * An environment no session records that nevertheless looks like this server's (a dead warm
   * pool's, or one created for a session but not recorded before a crash): destroyed at once.
   */
  orphan: (env: Environment) => boolean;
}

export interface LeftoverReport {
  /** Recorded for a session `keep` names. */
  kept: string[];
  /** Recorded for another session: destroyed after the grace time unless the session comes back. */
  waiting: string[];
  destroyed: string[];
  /** Not ours to judge (another process's, or made by `labwright env up`). */
  ignored: string[];
}

interface Waiting {
  sessionId: string;
  labId: string;
  env: Environment;
  timer: NodeJS.Timeout;
}

export interface LeftoverEnvironmentsOptions {
  provider: Provider;
  /** Without it nothing is recorded, so there is nothing to adopt or wait for. */
  ownership: EnvironmentOwnership | undefined;
  teardown: EnvironmentTeardown;
  log: Logger;
}

export class LeftoverEnvironments {
  /** Environments left by an earlier process, waiting for their session to come back (settle). */
  readonly #waiting = new Map<string, Waiting>();

  constructor(private readonly opts: LeftoverEnvironmentsOptions) {}

  /**
   * Run once at start, before any page connects, after the provider adopted what still runs:
   * decides what becomes of each environment an earlier process left (see LeftoverPolicy).
   * `inUse` names a (session, lab) this process already has a workspace for: its record stays.
   * Without this, after a crash, a solo page's hosts whose session never returns, and a dead
   * warm pool's hosts, would be kept for as long as the machine runs.
   */
  async settle(policy: LeftoverPolicy, inUse: (sessionId: string, labId: string) => boolean): Promise<LeftoverReport> {
    const report: LeftoverReport = { kept: [], waiting: [], destroyed: [], ignored: [] };
    const records = new Map((this.opts.ownership?.all() ?? []).map((r) => [r.envId, r]));
    for (const env of await this.opts.provider.list()) {
      const rec = records.get(env.id);
      const log = this.opts.log.child({ env: env.id, ...(rec ? { lab: rec.labId } : {}) });
      if (rec && (policy.keep(rec.sessionId) || inUse(rec.sessionId, rec.labId))) {
        report.kept.push(env.id);
      } else if (rec) {
        const k = workspaceKey(rec.sessionId, rec.labId);
        const earlier = this.#waiting.get(k);
        if (earlier) clearTimeout(earlier.timer);
        const timer = setTimeout(() => void this.#reclaim(k, env.id), policy.graceMs);
        timer.unref();
        this.#waiting.set(k, { sessionId: rec.sessionId, labId: rec.labId, env, timer });
        report.waiting.push(env.id);
        log.info({ graceMs: policy.graceMs }, 'hosts of an earlier run wait for their session to come back');
      } else if (policy.orphan(env)) {
        await this.opts.teardown.destroy(env, log);
        report.destroyed.push(env.id);
      } else {
        report.ignored.push(env.id);
      }
    }
    return report;
  }

  /** The session came back for (session, lab): its waiting hosts are no longer destroyed, adopt() takes them. */
  claim(sessionId: string, labId: string): void {
    const k = workspaceKey(sessionId, labId);
    const waiting = this.#waiting.get(k);
    if (waiting) clearTimeout(waiting.timer);
    this.#waiting.delete(k);
  }

  /** The environment an earlier process made for (session, lab), if it still exists. */
  async adopt(sessionId: string, labId: string, log: Logger): Promise<Environment | undefined> {
    const id = this.opts.ownership?.find(sessionId, labId);
    if (id === undefined) return undefined;
    const found = (await this.opts.provider.list()).find((env) => env.id === id);
    if (!found) {
      log.info({ env: id }, 'recorded environment is gone; creating a new one');
      this.opts.ownership?.forget(sessionId, labId);
      return undefined;
    }
    log.info({ env: id }, 'adopted the environment of an earlier run');
    return found;
  }

  /**
   * The session is gone: every environment recorded for it that this process has not adopted
   * (waiting or not) is forgotten at once and destroyed behind its gate. Call it after the
   * session's own workspaces were released, which forget their records themselves.
   */
  releaseSession(sessionId: string): Promise<void>[] {
    for (const [k, w] of this.#waiting) {
      if (w.sessionId !== sessionId) continue;
      // Freed just below, through the session's ownership records.
      clearTimeout(w.timer);
      this.#waiting.delete(k);
    }
    const jobs: Promise<void>[] = [];
    for (const { labId, envId } of this.opts.ownership?.ofSession(sessionId) ?? []) {
      this.opts.ownership?.forget(sessionId, labId);
      const log = this.opts.log.child({ lab: labId, env: envId });
      jobs.push(this.opts.teardown.gate(workspaceKey(sessionId, labId), this.opts.teardown.destroy(envId, log)));
    }
    return jobs;
  }

  /**
   * At shutdown: leftovers still waiting for their session are freed, as a solo session's hosts
   * are, except those `keep` names (with durable ownership: the next process settles them again).
   */
  async close(keep: ((sessionId: string, labId: string) => boolean) | undefined): Promise<void> {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) clearTimeout(w.timer);
    const freed = waiting.filter((w) => !(this.opts.ownership && keep?.(w.sessionId, w.labId)));
    await Promise.all(freed.map((w) => this.#free(w)));
  }

  /** The grace time of a leftover environment is over and its session did not come back. */
  async #reclaim(k: string, envId: string): Promise<void> {
    const w = this.#waiting.get(k);
    if (!w || w.env.id !== envId) return;
    this.#waiting.delete(k);
    this.opts.log.info({ lab: w.labId, env: envId }, 'the session did not come back for the hosts of an earlier run');
    await this.#free(w);
  }

  #free(w: Waiting): Promise<void> {
    // Only the record that still names this environment is forgotten (never a newer one).
    if (this.opts.ownership?.find(w.sessionId, w.labId) === w.env.id) this.opts.ownership.forget(w.sessionId, w.labId);
    return this.opts.teardown.gate(workspaceKey(w.sessionId, w.labId), this.opts.teardown.destroy(w.env, this.opts.log.child({ lab: w.labId, env: w.env.id })));
  }
}
