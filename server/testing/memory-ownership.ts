// An in-memory EnvironmentOwnership for WorkspaceManager tests: the durable "session + lab → env"
// records SQLite keeps in production, as a map a test can also seed and read.
import type { EnvironmentOwnership } from '../store/environment-owners.ts';

export interface MemoryOwnership extends EnvironmentOwnership {
  /** The records, keyed `session/lab`, for a test to seed or inspect. */
  readonly records: Map<string, string>;
}

export function memoryOwnership(): MemoryOwnership {
  const records = new Map<string, string>();
  return {
    records,
    find: (s, l) => records.get(`${s}/${l}`),
    record: (s, l, id) => void records.set(`${s}/${l}`, id),
    forget: (s, l) => void records.delete(`${s}/${l}`),
    ofSession: (s) => [...records].filter(([k]) => k.startsWith(`${s}/`)).map(([k, envId]) => ({ labId: k.split('/')[1]!, envId })),
    all: () => [...records].map(([k, envId]) => ({ sessionId: k.split('/')[0]!, labId: k.split('/')[1]!, envId })),
  };
}
