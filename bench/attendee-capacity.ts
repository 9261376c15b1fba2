// Workshop capacity of one server: memory and CPU per connected attendee (two terminals open,
// checks auto-running on the open step, an instructor dashboard watching), and how many
// attendees it holds with keystroke p99 ≤ 20 ms while they all type. Simulated attendees share
// two real hosts (each terminal gets its own tmux session there). Prints figures; never fails.
// Run as root: npx tsx bench/attendee-capacity.ts   (BENCH_LEVELS=1,10,20,30,40,60 BENCH_KEYS=40)
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { PROTOCOL_VERSION } from '../common/protocol.ts';
import { TermClient } from '../server/testing/term-client.ts';
import type { Child } from './bench-kit.ts';
import { createBenchEnv, fmt, percentile, startLabwright } from './bench-kit.ts';

const TOKEN = 'bench-instructor-credential-0123456789';
const HOSTS = ['host0', 'host1'];
const LAB = `---
title: Capacity
summary: One step whose check never passes, so every attendee's page keeps re-checking.
hosts: [host0, host1]
---
## Never done

\`\`\`check
file: { on: all, path: /tmp/never-there }
\`\`\`

\`\`\`solve host0
true
\`\`\`
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime are fields 14 and 15 of stat, i.e. 12 and 13 after "pid (comm) ".
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const statusKiB = (pid: number, field: 'VmRSS' | 'VmHWM'): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
/** Peak resident memory: unlike the current RSS it does not drop when the GC happens to run. */
const peakMiB = (pid: number): number => statusKiB(pid, 'VmHWM') / 1024;

async function api(url: string, p: string, body: unknown, cookie?: string): Promise<Response> {
  return fetch(`${url}api/${p}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(cookie ? { Cookie: cookie } : {}) }, body: JSON.stringify(body) });
}
const cookieOf = (r: Response): string => r.headers.get('set-cookie')?.split(';')[0] ?? '';

interface Attendee {
  client: TermClient;
}

async function addAttendee(url: string, token: string, i: number): Promise<Attendee> {
  const res = await api(url, `join/${token}`, { name: `Attendee ${i}` });
  if (res.status !== 201) throw new Error(`join failed: ${res.status} ${await res.text()}`);
  const client = new TermClient({ url, cookie: cookieOf(res), labId: 'capacity' });
  client.keepOutput = false;
  await client.welcome;
  HOSTS.forEach((host, channel) => client.send({ type: 'term-open', channel, host, cols: 100, rows: 30 }));
  await Promise.all(HOSTS.map((_, channel) => client.waitFor((m) => m.type === 'term-state' && m.channel === channel && m.state === 'connected', 120_000)));
  return { client };
}

/** Types like a person on the attendee's host0 tab (a key every ~gap ms) and records echo times. */
async function typeLoop(a: Attendee, keys: number, gapMs: number, samples: number[]): Promise<void> {
  await sleep(Math.random() * gapMs);
  for (let k = 0; k < keys; k++) {
    const t0 = performance.now();
    const echoed = new Promise<void>((resolve) => {
      const off = a.client.onMessage((m) => {
        if (m.type === 'term-output' && m.channel === 0 && m.data.includes('x')) {
          off();
          resolve();
        }
      });
    });
    a.client.send({ type: 'term-input', channel: 0, data: 'x' });
    await echoed;
    samples.push(performance.now() - t0);
    if (k % 20 === 19) {
      a.client.send({ type: 'term-input', channel: 0, data: '\x15' });
      await sleep(50);
    }
    await sleep(gapMs * (0.5 + Math.random()));
  }
}

async function main(): Promise<void> {
  const levels = (process.env.BENCH_LEVELS ?? '1,10,20,30,40,60').split(',').map(Number);
  const keys = Number(process.env.BENCH_KEYS ?? 40);
  const gapMs = Number(process.env.BENCH_GAP_MS ?? 300);
  const bench = await createBenchEnv(HOSTS);
  const attendees: Attendee[] = [];
  let dashboard: WebSocket | undefined;
  let server: Child | undefined;
  try {
    // The server composed as serve does, in its own process; every attendee gets the bench's hosts.
    server = await startLabwright(bench.env, { lab: { id: 'capacity', source: LAB }, instructorToken: TOKEN });
    const { url } = server;
    const pid = server.proc.pid ?? 0;
    const instructor = cookieOf(await api(url, 'instructor/login', { token: TOKEN }));
    const w = (await (await api(url, 'workshops', { labId: 'capacity', capacity: 200, minutes: 600 }, instructor)).json()) as { id: string; joinPath: string };
    const token = w.joinPath.split('/').pop() ?? '';
    // The instructor's dashboard watches the whole time (pushed snapshots are part of the load).
    const dashUrl = new URL('dashboard-ws', url);
    dashUrl.protocol = 'ws:';
    dashboard = new WebSocket(dashUrl, { headers: { cookie: instructor, origin: new URL(url).origin } });
    const dash = dashboard;
    let snapshots = 0;
    dash.on('open', () => dash.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, labId: 'capacity' })));
    dash.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { type: string };
      if (m.type === 'welcome') dash.send(JSON.stringify({ type: 'dashboard-watch', workshopId: w.id }));
      if (m.type === 'dashboard') snapshots++;
    });
    await sleep(2000);
    const baseRss = peakMiB(pid);
    console.log(`attendee capacity: ${HOSTS.length} terminals per attendee on shared hosts (${HOSTS.join(', ')}), checks auto-running, one dashboard watching`);
    console.log(`typing: ${keys} keys per attendee, a key every ~${gapMs} ms each; server baseline peak RSS ${fmt(baseRss, 1)} MiB`);
    console.log('attendees  peak MiB  MiB/attendee  CPU% idle  CPU%/attendee  CPU% typing  keys/s  p50 ms  p99 ms');
    let capacity = 0;
    for (const level of levels) {
      while (attendees.length < level) attendees.push(await addAttendee(url, token, attendees.length));
      await sleep(3000);
      // Connected, terminals open, checks re-running every 2.5 s: the steady cost of an attendee.
      const c0 = cpuSeconds(pid);
      const t0 = performance.now();
      await sleep(10_000);
      const idleCpu = ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
      const rss = peakMiB(pid);
      const samples: number[] = [];
      const c1 = cpuSeconds(pid);
      const t1 = performance.now();
      await Promise.all(attendees.map((a) => typeLoop(a, keys, gapMs, samples)));
      const secs = (performance.now() - t1) / 1000;
      const typingCpu = ((cpuSeconds(pid) - c1) / secs) * 100;
      const s = samples.sort((a, b) => a - b);
      const p50 = percentile(s, 50);
      const p99 = percentile(s, 99);
      console.log(
        `${String(level).padStart(9)}  ${fmt(rss, 1).padStart(8)}  ${fmt((rss - baseRss) / level, 2).padStart(12)}  ${fmt(idleCpu, 1).padStart(9)}  ${fmt(idleCpu / level, 2).padStart(13)}  ${fmt(typingCpu, 1).padStart(11)}  ${fmt(s.length / secs, 0).padStart(6)}  ${fmt(p50).padStart(6)}  ${fmt(p99).padStart(6)}`,
      );
      if (p99 <= 20) capacity = level;
      // Far past the goal: more attendees only take longer to say the same.
      if (p99 > 100) break;
    }
    console.log(`dashboard snapshots pushed: ${snapshots}`);
    console.log(`largest measured level with keystroke p99 <= 20 ms: ${capacity} attendees (${capacity * HOSTS.length} terminals)`);
  } finally {
    dashboard?.close();
    await Promise.all(attendees.map((a) => a.client.close()));
    await server?.stop();
    await bench.destroy();
  }
}

await main();
process.exit(0);
