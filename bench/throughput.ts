// Output throughput: `cat` of a large file in one terminal until the shell is back, as MB/s of the
// file and of what actually reached the WebSocket client, plus the server's peak memory meanwhile;
// Labwright and WeTTY on the same host, in the same run.
// Run as root: npx tsx bench/throughput.ts   (creates its own host and removes it)
import { performance } from 'node:perf_hooks';
import { TermClient, fetchSessionCookie } from '../server/testing/term-client.ts';
import type { Child } from './bench-kit.ts';
import { WettyTerm, createBenchEnv, fmt, startLabwright, startWetty } from './bench-kit.ts';

const FILE = '/tmp/labwright-bench.txt';
/** `seq -w 1 N`: 8-byte numbered lines, the kind of output (logs, listings) terminals choke on. */
const LINES = Number(process.env.BENCH_LINES ?? 8_000_000);
const MARK = 'CAT-DONE-42';
const MiB = 1024 * 1024;

interface Run {
  seconds: number;
  wireMiB: number;
  peakRssMiB: number;
  /** Resident memory just before the cat (right after resetting the peak). */
  baseRssMiB: number;
}

async function labwright(server: Child, fileBytes: number): Promise<Run> {
  const cookie = await fetchSessionCookie(server.url);
  const c = new TermClient({ url: server.url, cookie, labId: 'bench' });
  c.keepOutput = false;
  await c.open(0, 'host0');
  await new Promise((r) => setTimeout(r, 1000));
  server.resetPeak();
  const baseRssMiB = server.peakRssMiB();
  const before = c.received.get(0) ?? 0;
  let tail = '';
  const done = new Promise<void>((resolve) => {
    const off = c.onMessage((m) => {
      if (m.type !== 'term-output' || m.channel !== 0) return;
      tail = (tail + m.data).slice(-200);
      if (tail.includes(MARK)) {
        off();
        resolve();
      }
    });
  });
  const t0 = performance.now();
  c.send({ type: 'term-input', channel: 0, data: `cat ${FILE}; echo CAT-DONE-$((6*7))\r` });
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const run = { seconds, wireMiB: ((c.received.get(0) ?? 0) - before) / MiB, peakRssMiB: server.peakRssMiB(), baseRssMiB };
  void fileBytes;
  await c.close();
  return run;
}

async function wetty(server: Child): Promise<Run> {
  const t = new WettyTerm(server.url);
  t.keepText = false;
  await t.ready;
  await new Promise((r) => setTimeout(r, 3000));
  server.resetPeak();
  const baseRssMiB = server.peakRssMiB();
  const before = t.received;
  let tail = '';
  const done = new Promise<void>((resolve) => {
    const off = t.onData((d) => {
      tail = (tail + d).slice(-200);
      if (tail.includes(MARK)) {
        off();
        resolve();
      }
    });
  });
  const t0 = performance.now();
  t.input(`cat ${FILE}; echo CAT-DONE-$((6*7))\r`);
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const run = { seconds, wireMiB: (t.received - before) / MiB, peakRssMiB: server.peakRssMiB(), baseRssMiB };
  t.close();
  return run;
}

const bench = await createBenchEnv(['host0']);
const children: Child[] = [];
try {
  const conn = bench.ssh.get(bench.env, 'host0');
  if (!conn) throw new Error('no host0');
  const made = await conn.exec(`seq -w 1 ${LINES} > ${FILE} && stat -c %s ${FILE}`, { timeoutMs: 120_000 });
  const fileBytes = Number(made.stdout.trim());
  const lw = await startLabwright(bench.env);
  const wt = await startWetty(bench.env, 'host0');
  children.push(lw, wt);
  const a = await labwright(lw, fileBytes);
  const b = await wetty(wt);
  const fileMiB = fileBytes / MiB;
  console.log(`cat of a ${fmt(fileMiB, 1)} MiB file (${LINES} lines) in one terminal, until the prompt is back`);
  console.log('server     seconds  file MiB/s  wire MiB  wire MiB/s  server peak RSS MiB  of it for the flood MiB');
  for (const [name, r] of [['labwright', a], ['wetty', b]] as const) {
    console.log(
      `${name.padEnd(9)}  ${fmt(r.seconds).padStart(7)}  ${fmt(fileMiB / r.seconds).padStart(10)}  ${fmt(r.wireMiB, 1).padStart(8)}  ${fmt(r.wireMiB / r.seconds).padStart(10)}  ${fmt(r.peakRssMiB, 1).padStart(19)}  ${fmt(r.peakRssMiB - r.baseRssMiB, 1).padStart(22)}`,
    );
  }
  console.log(`ratio labwright/wetty: file throughput ${fmt(b.seconds / a.seconds)}x, peak RSS ${fmt(a.peakRssMiB / b.peakRssMiB)}x`);
  console.log(
    'labwright keeps the shell in its session keeper (lw-term), which passes output through unparsed; a client 512 KiB behind skips ahead to the last 64 KiB (with a note), as tmux sent a slow client screens: "wire MiB" is what reached the client.',
  );
  console.log('"of it for the flood" is the peak minus the server\'s resident memory just before the cat.');
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await bench.destroy();
}
process.exit(0);
