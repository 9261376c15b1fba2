// One etcd member at a time, over its own client port (etcd's JSON gateway, /v3/…): its raft
// status, and a probe write / serializable read. The etcd3 client balances over
// the whole cluster, which is what a key check wants and what a per-member check must not do.
import { ETCD_CLIENT_PORT } from '../env-target.ts';
import { readBody } from './http-check.ts';

/** A member's own raft status. Ids are hex, as etcd logs and etcdctl print them. */
export interface MemberStatus {
  id: string;
  /** The leader it follows, or null when it has none. */
  leader: string | null;
  term: number;
}

export interface EtcdMemberApi {
  /** Rejects when the member does not answer. */
  status(address: string, signal: AbortSignal): Promise<MemberStatus>;
  /** A linearizable write through this member: it needs a leader and a quorum. */
  put(address: string, key: string, value: string, signal: AbortSignal): Promise<void>;
  /** A serializable read: this member's own copy, answered without asking the others. */
  getSerializable(address: string, key: string, signal: AbortSignal): Promise<string | null>;
  del(address: string, key: string, signal: AbortSignal): Promise<void>;
}

/** An etcd answer is a few hundred bytes; anything past this on port 2379 is not etcd talking. */
const MAX_ANSWER = 64 * 1024;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
/** The gateway writes uint64 ids as decimal strings (and leaves out zero). */
const hexId = (v: unknown): string | null => (typeof v === 'string' && /^\d+$/.test(v) && v !== '0' ? BigInt(v).toString(16) : null);

async function call(address: string, path: string, body: unknown, signal: AbortSignal): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${address}:${ETCD_CLIENT_PORT}/v3/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
    redirect: 'manual',
  });
  const { text, cut } = await readBody(res, MAX_ANSWER);
  if (cut) throw new Error(`the answer on port ${ETCD_CLIENT_PORT} is not etcd's (too long)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`the answer on port ${ETCD_CLIENT_PORT} is not etcd's (status ${res.status})`);
  }
  if (typeof json !== 'object' || json === null) throw new Error(`the answer on port ${ETCD_CLIENT_PORT} is not etcd's`);
  const obj = json as Record<string, unknown>;
  if (!res.ok) throw new Error(typeof obj.message === 'string' ? obj.message : `etcd answered ${res.status}`);
  return obj;
}

export const httpMemberApi: EtcdMemberApi = {
  async status(address, signal) {
    const r = await call(address, 'maintenance/status', {}, signal);
    const header = (r.header ?? {}) as Record<string, unknown>;
    const id = hexId(header.member_id);
    if (!id) throw new Error('etcd answered without a member id');
    return { id, leader: hexId(r.leader), term: Number(r.raftTerm ?? header.raft_term ?? 0) };
  },
  async put(address, key, value, signal) {
    await call(address, 'kv/put', { key: b64(key), value: b64(value) }, signal);
  },
  async getSerializable(address, key, signal) {
    const r = await call(address, 'kv/range', { key: b64(key), serializable: true }, signal);
    const kv = Array.isArray(r.kvs) ? (r.kvs[0] as Record<string, unknown> | undefined) : undefined;
    return kv && typeof kv.value === 'string' ? unb64(kv.value) : kv ? '' : null;
  },
  async del(address, key, signal) {
    await call(address, 'kv/deleterange', { key: b64(key) }, signal);
  },
};
