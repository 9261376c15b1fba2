// Where a step's setup stands per environment, remembered so that it runs once: a reload, a second
// tab or a server restart finds the record; new hosts (a reset) have a new environment id and none.
// The durable implementation is server/store/step-setup-records.ts; this in-memory one serves tests.
import type { SetupState } from '../../common/protocol.ts';

export interface SetupRecord {
  state: SetupState;
  /** When it was recorded (ms since the epoch). */
  at: number;
  /** For `failed`: the host whose block failed (absent when no host was at fault). */
  host?: string;
  /** For `failed`: a short reason (exit status and the last line of output). */
  reason?: string;
}

export interface SetupRecords {
  /** The record of (environment, step id), if any. */
  get(envId: string, stepId: string): SetupRecord | undefined;
  /** Written before the caller goes on (the durable store commits at once). */
  set(envId: string, stepId: string, record: SetupRecord): void;
  /** Forgets every record of an environment (its hosts are being destroyed). */
  forgetEnvironment(envId: string): void;
}

export class MemorySetupRecords implements SetupRecords {
  readonly #records = new Map<string, SetupRecord>();
  readonly #key = (envId: string, stepId: string): string => `${envId}\u0000${stepId}`;

  get(envId: string, stepId: string): SetupRecord | undefined {
    const r = this.#records.get(this.#key(envId, stepId));
    return r ? { ...r } : undefined;
  }

  set(envId: string, stepId: string, record: SetupRecord): void {
    this.#records.set(this.#key(envId, stepId), { ...record });
  }

  forgetEnvironment(envId: string): void {
    for (const k of [...this.#records.keys()]) if (k.startsWith(`${envId}\u0000`)) this.#records.delete(k);
  }
}
