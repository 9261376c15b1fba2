// Soak and chaos: N create/destroy cycles of real environments through the local provider, then
// kill -9 at random moments (`labwright env up` while provisioning; `labwright serve` running a
// workshop) followed by the recovery path, counting what is left after each round. Times are
// figures; any leftover is a failure (exit 1). Everything the bench made is removed, even on Ctrl-C.
//
//   npx tsx bench/soak.ts [--cycles 100] [--up-kills 6] [--serve-kills 3]
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cgroupParents } from '../provisioning/local/cgroups.ts';
import { leftoversOf } from '../provisioning/local/leftovers.ts';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import type { LocalProvider } from '../provisioning/local/local-provider.ts';
import { ENV_ID_RE, MACHINE_RE } from '../provisioning/local/names.ts';
import { RUN_DIR, subnetsDir } from '../provisioning/local/registry.ts';
import { envsDir } from '../provisioning/local/state.ts';
import { loadConfig } from '../server/config.ts';
import { logger, setLogLevel } from '../server/log.ts';
import { DATABASE_FILE } from '../server/store/database.ts';
import { fmt, percentile } from './bench-kit.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin', 'labwright.mjs');
const TOKEN = 'soak-bench-instructor-credential';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a whole number`);
  return v;
}
const CYCLES = flag('cycles', 100);
const UP_KILLS = flag('up-kills', 6);
const SERVE_KILLS = flag('serve-kills', 3);

setLogLevel('warn');
const work = mkdtempSync(path.join(os.tmpdir(), 'labwright-soak-'));
const dataCycles = path.join(work, 'data-cycles');
const dataUp = path.join(work, 'data-up');
const dataServe = path.join(work, 'data-serve');
const labsDir = path.join(work, 'labs');
const dataDirs = [dataCycles, dataUp, dataServe];
for (const d of dataDirs) mkdirSync(d, { recursive: true, mode: 0o700 });
mkdirSync(path.join(labsDir, 'soak'), { recursive: true });
writeFileSync(
  path.join(labsDir, 'soak', 'lab.md'),
  '---\ntitle: Soak\nhosts: [host0, host1]\nservices: { etcd: none, docker: false }\n---\nHosts for the soak bench.\n\n## Look around\n\nRead.\n\n```check\ncommand: { on: host0, run: "true", exit: 0 }\n```\n',
);

const providerOf = (dataDir: string): LocalProvider => createLocalProvider(loadConfig({}, { dataDir }), { log: logger('local-provider') });
const children = new Set<ChildProcess>();
const abort = new AbortController();
/** Every environment id seen in one of our data directories, so leftovers are found after their dir is gone. */
const seen = new Map<string, string>();

function remember(dataDir: string): void {
  for (const e of readdirSync(envsDir(dataDir), { withFileTypes: true }).filter((x) => x.isDirectory())) if (ENV_ID_RE.test(e.name)) seen.set(e.name, dataDir);
}
const rememberAll = (): void => {
  for (const d of dataDirs) if (existsSync(envsDir(d))) remember(d);
};
// A server may make and remove an environment between two rounds: look often.
setInterval(rememberAll, 250).unref();

// ---- leftovers ----

type Counts = Record<string, number>;
const KINDS = ['process', 'mount', 'loop', 'bridge', 'veth', 'cgroup', 'runtime', 'firewall', 'id-range', 'subnet', 'registry', 'state-dir', 'db-rows'] as const;

function kindOf(item: string): (typeof KINDS)[number] {
  const [word, name] = item.split(' ');
  if (word === 'link') return name?.endsWith('-br') ? 'bridge' : 'veth';
  if (word === 'dir') return 'state-dir';
  if (word === 'id') return 'id-range';
  return (KINDS as readonly string[]).includes(word ?? '') ? (word as (typeof KINDS)[number]) : 'runtime';
}

async function registryLeftovers(ids: Set<string>): Promise<string[]> {
  const out: string[] = [];
  for (const f of await fs.readdir(subnetsDir).catch(() => [] as string[])) {
    const owner = (await fs.readFile(path.join(subnetsDir, f), 'utf8').catch(() => '')).trim();
    if (ids.has(owner)) out.push(`subnet ${f} (${owner})`);
  }
  for (const f of await fs.readdir(path.join(RUN_DIR, 'envs')).catch(() => [] as string[])) {
    const dir = (await fs.readFile(path.join(RUN_DIR, 'envs', f), 'utf8').catch(() => '')).trim();
    if (ids.has(f) || dataDirs.includes(dir)) out.push(`registry ${f}`);
  }
  return out;
}

/** Rows that nothing owns any more: environments of gone sessions or ended workshops, progress of gone sessions, … */
function ownerlessRows(dataDir: string): string[] {
  const file = path.join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    const envDirs = new Set(existsSync(envsDir(dataDir)) ? readdirSync(envsDir(dataDir)) : []);
    const out: string[] = [];
    const owners = db.prepare('SELECT o.session_id, o.env_id, s.id AS sid, w.ended_at FROM environment_owners o LEFT JOIN sessions s ON s.id = o.session_id LEFT JOIN workshops w ON w.id = s.workshop_id').all() as {
      env_id: string;
      sid: string | null;
      ended_at: number | null;
    }[];
    for (const o of owners) {
      if (o.sid === null) out.push(`db-rows environment_owners ${o.env_id}: session gone`);
      else if (o.ended_at !== null) out.push(`db-rows environment_owners ${o.env_id}: workshop ended`);
      else if (!envDirs.has(o.env_id)) out.push(`db-rows environment_owners ${o.env_id}: environment gone`);
    }
    const orphans: [string, string][] = [
      ['sessions', "SELECT id FROM sessions WHERE workshop_id IS NOT NULL AND workshop_id NOT IN (SELECT id FROM workshops)"],
      ['steps_done', 'SELECT session_id FROM steps_done WHERE session_id NOT IN (SELECT id FROM sessions)'],
      ['step_attempts', 'SELECT session_id FROM step_attempts WHERE session_id NOT IN (SELECT id FROM sessions)'],
      ['last_reports', 'SELECT session_id FROM last_reports WHERE session_id NOT IN (SELECT id FROM sessions)'],
    ];
    for (const [table, sql] of orphans) for (const _ of db.prepare(sql).all()) out.push(`db-rows ${table}: no owner`);
    // Environments on disk that no row and no live process own (a session's hosts outlived it).
    const owned = new Set(owners.map((o) => o.env_id));
    for (const id of envDirs) if (ENV_ID_RE.test(id) && !owned.has(id)) out.push(`db-rows environment ${id}: no owner row`);
    return out;
  } finally {
    db.close();
  }
}

async function leftovers(): Promise<string[]> {
  rememberAll();
  const found: string[] = [];
  for (const [id, dataDir] of seen) found.push(...(await leftoversOf(dataDir, id)));
  found.push(...(await registryLeftovers(new Set(seen.keys()))));
  for (const d of dataDirs) {
    if (!existsSync(envsDir(d))) continue;
    for (const e of readdirSync(envsDir(d))) if (!seen.has(e)) found.push(`dir ${envsDir(d)}/${e}`);
  }
  found.push(...ownerlessRows(dataServe));
  return found;
}

function count(items: string[]): Counts {
  const c: Counts = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const i of items) c[kindOf(i)] = (c[kindOf(i)] ?? 0) + 1;
  return c;
}

/** Machine-wide figures (other users' hosts included), for context only. */
async function machineWide(): Promise<string> {
  const procs = (await run('pgrep', ['-c', '-x', 'systemd-nspawn'])).stdout.trim() || '0';
  const bridges = (await run('ip', ['-br', 'link', 'show', 'type', 'bridge'])).stdout.split('\n').filter((l) => l.trim() && !l.startsWith('docker0')).length;
  const mounts = (await fs.readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => / overlay /.test(l) || l.includes('/envs/lw')).length;
  let cgroups = 0;
  for (const parent of await cgroupParents()) cgroups += (await fs.readdir(parent).catch(() => [] as string[])).filter((e) => MACHINE_RE.test(e)).length;
  return `machine-wide now (includes other users' hosts): ${procs} systemd-nspawn, ${bridges} bridges (not docker0), ${mounts} overlay/env mounts, ${cgroups} host cgroups`;
}

const table: { phase: string; counts: Counts; items: string[] }[] = [];
async function record(phase: string): Promise<void> {
  const items = await leftovers();
  const counts = count(items);
  table.push({ phase, counts, items });
  const total = items.length;
  log(`${phase}: ${total === 0 ? 'no leftovers' : `${total} LEFTOVER(S):\n    ${items.join('\n    ')}`}`);
}

// ---- processes ----

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(p);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => {
      children.delete(p);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.on('error', () => resolve({ code: -1, stdout, stderr }));
  });
}

const cliEnv = (dataDir: string): NodeJS.ProcessEnv => ({ ...process.env, LABWRIGHT_DATA_DIR: dataDir, LABWRIGHT_LABS_DIR: labsDir, LABWRIGHT_LOG_LEVEL: 'warn', LABWRIGHT_INSTRUCTOR_TOKEN: TOKEN });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number): number => lo + Math.random() * (hi - lo);

function killHard(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

// ---- phase 1: create / destroy cycles ----

async function cycles(): Promise<{ create: number[]; destroy: number[] }> {
  const provider = providerOf(dataCycles);
  const create: number[] = [];
  const destroy: number[] = [];
  for (let i = 0; i < CYCLES && !abort.signal.aborted; i++) {
    const t0 = performance.now();
    const env = await provider.create({ hosts: ['host0'], services: { etcd: 'none', docker: false }, owner: 'bench-soak' }, { signal: abort.signal });
    seen.set(env.id, dataCycles);
    const t1 = performance.now();
    await provider.destroy(env);
    const t2 = performance.now();
    create.push(t1 - t0);
    destroy.push(t2 - t1);
    const left = await leftoversOf(dataCycles, env.id);
    if (left.length > 0) log(`cycle ${i + 1}: LEFTOVERS of ${env.id}: ${left.join(', ')}`);
    if ((i + 1) % 10 === 0) log(`cycle ${i + 1}/${CYCLES}: create ${fmt((t1 - t0) / 1000)} s, destroy ${fmt((t2 - t1) / 1000)} s`);
  }
  return { create, destroy };
}

// ---- phase 2: kill -9 `env up` while provisioning ----

/** Resolves once a new environment directory appears under dataDir (provisioning has begun). */
async function envDirAppears(dataDir: string, before: Set<string>, stop: Promise<void>): Promise<void> {
  let done = false;
  void stop.then(() => (done = true));
  while (!done) {
    const now = existsSync(envsDir(dataDir)) ? readdirSync(envsDir(dataDir)) : [];
    if (now.some((e) => !before.has(e))) return;
    await sleep(50);
  }
}

async function upKill(round: number): Promise<string> {
  const before = new Set(existsSync(envsDir(dataUp)) ? readdirSync(envsDir(dataUp)) : []);
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'env', 'up', '--hosts', '2', '--etcd', '--json'], { env: cliEnv(dataUp), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.stdout.resume();
  child.stderr.resume();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Every other round is killed at a random moment after provisioning began (bridge, mounts, boot,
  // waiting for etcd); the rest at any moment from the start (often before anything exists).
  if (round % 2 === 0) await Promise.race([envDirAppears(dataUp, before, exited), exited]);
  await Promise.race([sleep(round % 2 === 0 ? rand(0, 15_000) : rand(100, 8000)), exited]);
  const delay = performance.now() - t0;
  rememberAll();
  const finished = child.exitCode !== null;
  await killHard(child);
  children.delete(child);
  rememberAll();
  // The recovery path: what `labwright serve` runs at start (provider.recover()), as `env reap`.
  const reap = await run(process.execPath, [BIN, 'env', 'reap'], cliEnv(dataUp));
  if (reap.code !== 0) log(`env reap failed (${reap.code}): ${reap.stderr.trim()}`);
  // An `env up` that got to the end made hosts that stay until `env down`: they are live, not leftovers.
  const ls = await run(process.execPath, [BIN, 'env', 'ls', '--json'], cliEnv(dataUp));
  const live = ls.code === 0 ? (JSON.parse(ls.stdout || '[]') as { id: string }[]).map((e) => e.id) : [];
  for (const id of live) await run(process.execPath, [BIN, 'env', 'down', id], cliEnv(dataUp));
  const what = finished ? 'after it finished' : live.length > 0 ? 'hosts ready, before exit' : 'while provisioning';
  return `up #${round + 1}: killed at ${fmt(delay / 1000, 1)} s (${what}); reap: ${reap.stdout.trim() || reap.stderr.trim() || 'ok'}${live.length ? `; then env down ${live.join(' ')}` : ''}`;
}

// ---- phase 3: kill -9 `labwright serve` during a workshop ----

interface Served {
  proc: ChildProcess;
  url: string;
}

async function startServe(): Promise<Served> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env: cliEnv(dataServe), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start in 120 s: ${err.slice(-500)}`)), 120_000);
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /listening.*?"url":"([^"]+)"|Open (http\S+)/.exec(buf);
      const u = m?.[1] ?? m?.[2];
      if (u) {
        clearTimeout(timer);
        resolve(u.endsWith('/') ? u : `${u}/`);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err.slice(-500)}`));
    });
  });
  return { proc, url };
}

async function api(s: Served, method: string, p: string, body?: unknown, cookie?: string): Promise<{ status: number; json: unknown; cookie?: string }> {
  const origin = new URL(s.url).origin;
  const res = await fetch(new URL(`api/${p}`, s.url), {
    method,
    headers: { 'content-type': 'application/json', origin, ...(cookie ? { cookie } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(180_000),
  });
  const text = await res.text();
  const set = res.headers.get('set-cookie')?.split(';')[0];
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined, ...(set ? { cookie: set } : {}) };
}

async function login(s: Served): Promise<string> {
  const r = await api(s, 'POST', 'instructor/login', { token: TOKEN });
  if (r.status !== 204 || !r.cookie) throw new Error(`login: ${r.status} ${JSON.stringify(r.json)}`);
  return r.cookie;
}

async function stopServe(s: Served): Promise<void> {
  if (s.proc.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => s.proc.kill('SIGKILL'), 60_000);
    s.proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    s.proc.kill('SIGTERM');
  });
  children.delete(s.proc);
}

async function serveKill(round: number): Promise<string> {
  let s = await startServe();
  const instructor = await login(s);
  const created = await api(s, 'POST', 'workshops', { labId: 'soak', capacity: 10, minutes: 30 }, instructor);
  if (created.status !== 201) throw new Error(`create workshop: ${created.status} ${JSON.stringify(created.json)}`);
  const w = created.json as { id: string; joinPath: string };
  const token = w.joinPath.split('/').pop() ?? '';
  const attendees = 3;
  for (let i = 0; i < attendees; i++) {
    const j = await api(s, 'POST', `join/${token}`, { name: `soak ${round}-${i}` });
    if (j.status !== 201) throw new Error(`join: ${j.status} ${JSON.stringify(j.json)}`);
  }
  const t0 = performance.now();
  const snapshot = async (): Promise<string[]> => {
    const snap = (await api(s, 'GET', `workshops/${w.id}`, undefined, instructor).catch(() => ({ json: undefined }))).json as { attendees?: { env: string }[] } | undefined;
    return (snap?.attendees ?? []).map((a) => a.env);
  };
  // Even rounds: killed while the attendees' hosts are being made. Odd rounds: once they are all
  // ready (the restarted server must adopt them, then free them when the workshop ends).
  if (round % 2 === 1) {
    const until = Date.now() + 240_000;
    while (Date.now() < until && !(await snapshot()).every((e) => e === 'ready')) await sleep(500);
    await sleep(rand(0, 5000));
  } else {
    await sleep(rand(0, 12_000));
  }
  const delay = performance.now() - t0;
  const states = (await snapshot()).join('/');
  rememberAll();
  await killHard(s.proc);
  children.delete(s.proc);
  rememberAll();
  s = await startServe();
  const again = await login(s);
  const ended = await api(s, 'POST', `workshops/${w.id}/end`, {}, again);
  if (ended.status !== 200) log(`end workshop: ${ended.status} ${JSON.stringify(ended.json)}`);
  await stopServe(s);
  return `serve #${round + 1}: ${attendees} attendees, killed at ${fmt(delay / 1000, 1)} s (hosts ${states || '?'}); restarted, workshop ended, stopped`;
}

// ---- clean-up, also on Ctrl-C ----

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    abort.abort();
    for (const c of children) c.kill('SIGKILL');
    await sleep(200);
    rememberAll();
    for (const d of dataDirs) {
      const p = providerOf(d);
      await p.recover().catch((e: unknown) => log(`recover ${d}: ${String(e)}`));
      for (const env of await p.list()) await p.destroy(env).catch((e: unknown) => log(`destroy ${env.id}: ${String(e)}`));
    }
    for (const [id, d] of seen) if ((await leftoversOf(d, id)).length > 0) await providerOf(d).destroy(id).catch(() => undefined);
  })();
  return cleaning;
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${sig}: stopping, removing everything the bench made…`);
    void cleanup().finally(() => {
      rmSync(work, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

// ---- main ----

let exitCode = 0;
const notes: string[] = [];
try {
  log(await machineWide());
  log(`soak: ${CYCLES} create/destroy cycles (1 host), ${UP_KILLS} kills of env up (2 hosts + etcd), ${SERVE_KILLS} kills of serve (3 attendees × 2 hosts); work dir ${work}`);
  const t = await cycles();
  await record(`after ${t.create.length} create/destroy cycles`);
  for (let i = 0; i < UP_KILLS && !interrupted; i++) {
    notes.push(await upKill(i));
    log(notes.at(-1)!);
    await record(`after env up kill #${i + 1}`);
  }
  for (let i = 0; i < SERVE_KILLS && !interrupted; i++) {
    notes.push(await serveKill(i));
    log(notes.at(-1)!);
    await record(`after serve kill #${i + 1}`);
  }
  await record('at the end');
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  const c = sorted(t.create);
  const d = sorted(t.destroy);
  const cyc = sorted(t.create.map((x, i) => x + (t.destroy[i] ?? 0)));
  console.log(`\ncreate/destroy cycles: ${t.create.length}`);
  console.log(`  per cycle: median ${fmt(percentile(cyc, 50) / 1000)} s, p90 ${fmt(percentile(cyc, 90) / 1000)} s, max ${fmt((cyc.at(-1) ?? NaN) / 1000)} s`);
  console.log(`  create median ${fmt(percentile(c, 50) / 1000)} s, destroy median ${fmt(percentile(d, 50) / 1000)} s`);
  console.log(`\nkill -9 rounds:\n  ${notes.join('\n  ')}`);
  console.log(`\nenvironments seen: ${seen.size}\n`);
  const cols = KINDS.filter((k) => k !== 'runtime' || table.some((r) => (r.counts[k] ?? 0) > 0));
  const w0 = Math.max(...table.map((r) => r.phase.length), 5);
  console.log(`${'phase'.padEnd(w0)}  ${cols.map((k) => k.padStart(Math.max(k.length, 3))).join(' ')}`);
  for (const r of table) console.log(`${r.phase.padEnd(w0)}  ${cols.map((k) => String(r.counts[k] ?? 0).padStart(Math.max(k.length, 3))).join(' ')}`);
  const leaks = table.filter((r) => r.items.length > 0);
  if (leaks.length > 0) {
    exitCode = 1;
    console.log(`\nLEAKS FOUND in ${leaks.length} round(s):`);
    for (const r of leaks) console.log(`  ${r.phase}:\n    ${r.items.join('\n    ')}`);
  } else {
    console.log('\nno leftovers after any round');
  }
  log(await machineWide());
} catch (e) {
  exitCode = 2;
  log(`soak failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
} finally {
  if (!interrupted) {
    await cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}
process.exit(exitCode);
