// One etcd member at a time, over its own client port (etcd's JSON gateway, /v3/…) reached through
// its host's SSH connection: its raft status, and a probe write / serializable read. The etcd3
// client balances over the whole cluster, which is what a key check wants and what a per-member
// check must not do.
import http from 'node:http';
import { ETCD_CLIENT_PORT } from '../env-target.ts';

/** A member's own raft status. Ids are hex, as etcd logs and etcdctl print them. */
export interface MemberStatus {
  id: string;
  /** The leader it follows, or null when it has none. */
  leader: string | null;
  term: number;
}

/** The member on a host, by the host's name. */
export interface EtcdMemberApi {
  /** Rejects when the member does not answer. */
  status(host: string, signal: AbortSignal): Promise<MemberStatus>;
  /** A linearizable write through this member: it needs a leader and a quorum. */
  put(host: string, key: string, value: string, signal: AbortSignal): Promise<void>;
  /** A serializable read: this member's own copy, answered without asking the others. */
  getSerializable(host: string, key: string, signal: AbortSignal): Promise<string | null>;
  del(host: string, key: string, signal: AbortSignal): Promise<void>;
}

/** An etcd answer is a few hundred bytes; anything past this on port 2379 is not etcd talking. */
const MAX_ANSWER = 64 * 1024;

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
/** The gateway writes uint64 ids as decimal strings (and leaves out zero). */
const hexId = (v: unknown): string | null => (typeof v === 'string' && /^\d+$/.test(v) && v !== '0' ? BigInt(v).toString(16) : null);

/** POSTs JSON over a unix socket; resolves with the status and at most MAX_ANSWER bytes of the body. */
function post(socketPath: string, path: string, body: string, signal: AbortSignal): Promise<{ status: number; text: string; cut: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/json', host: 'etcd' }, signal, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_ANSWER) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, text: '', cut: true });
        } else chunks.push(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), cut: false }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function call(socketPath: string, path: string, body: unknown, signal: AbortSignal): Promise<Record<string, unknown>> {
  const res = await post(socketPath, `/v3/${path}`, JSON.stringify(body), signal);
  const { text, cut } = res;
  if (cut) throw new Error(`the answer on port ${ETCD_CLIENT_PORT} is not etcd's (too long)`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`the answer on port ${ETCD_CLIENT_PORT} is not etcd's (status ${res.status})`);
  }
  if (typeof json !== 'object' || json === null) throw new Error(`the answer on port ${ETCD_CLIENT_PORT} is not etcd's`);
  const obj = json as Record<string, unknown>;
  if (res.status < 200 || res.status > 299) throw new Error(typeof obj.message === 'string' ? obj.message : `etcd answered ${res.status}`);
  return obj;
}

/** The members' JSON gateways, each through `socketOf(host)` (CheckTarget.etcdSocket). */
export const httpMemberApi = (socketOf: (host: string) => string): EtcdMemberApi => ({
  async status(host, signal) {
    const r = await call(socketOf(host), 'maintenance/status', {}, signal);
    const header = (r.header ?? {}) as Record<string, unknown>;
    const id = hexId(header.member_id);
    if (!id) throw new Error('etcd answered without a member id');
    return { id, leader: hexId(r.leader), term: Number(r.raftTerm ?? header.raft_term ?? 0) };
  },
  async put(host, key, value, signal) {
    await call(socketOf(host), 'kv/put', { key: b64(key), value: b64(value) }, signal);
  },
  async getSerializable(host, key, signal) {
    const r = await call(socketOf(host), 'kv/range', { key: b64(key), serializable: true }, signal);
    const kv = Array.isArray(r.kvs) ? (r.kvs[0] as Record<string, unknown> | undefined) : undefined;
    return kv && typeof kv.value === 'string' ? unb64(kv.value) : kv ? '' : null;
  },
  async del(host, key, signal) {
    await call(socketOf(host), 'kv/deleterange', { key: b64(key) }, signal);
  },
});
