// Keystroke round trip (a key sent until its echo arrives back at the client), p50/p99, with 1 and
// with 100 terminals typing at the same time, for Labwright and for WeTTY on the same hosts.
// Run as root: npx tsx bench/keystroke-latency.ts   (creates its own hosts and removes them)
import { performance } from 'node:perf_hooks';
import { TermClient, fetchSessionCookie } from '../server/testing/term-client.ts';
import type { Child } from './bench-kit.ts';
import { WettyTerm, createBenchEnv, fmt, percentile, startLabwright, startWetty } from './bench-kit.ts';

const HOSTS = ['host0', 'host1', 'host2'];
const KEYS_PER_TERMINAL = Number(process.env.BENCH_KEYS ?? 40);
/** A page holds a handful of tabs; 100 terminals are spread over pages of this many. */
const TERMS_PER_CONNECTION = 10;

interface Term {
  send(s: string): void;
  /** Resolves on the next output that contains `s`. */
  echo(s: string): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Mean gap between keys per terminal. Default 150 ms (a brisk typist, about 7 keys/s): 100
 * terminals then send about 670 keys/s in total. BENCH_GAP_MS=40 is a much harsher load.
 */
const GAP_MS = Number(process.env.BENCH_GAP_MS ?? 150);

/**
 * Types like a person (a key every GAP_MS ± 50 %) and records each key's echo time. Each
 * terminal starts at a random point of one gap, as independent typists would: starting all of
 * them within a few ms measured a one-off burst (100 keys at once) instead of typing pace.
 */
async function typeLoop(t: Term, keys: number, samples: number[]): Promise<void> {
  await sleep(Math.random() * GAP_MS);
  for (let k = 0; k < keys; k++) {
    const t0 = performance.now();
    const echoed = t.echo('x');
    t.send('x');
    await echoed;
    samples.push(performance.now() - t0);
    if (k % 20 === 19) {
      // Clear the line (Ctrl-U) now and then so it never wraps; not measured.
      t.send('\x15');
      await sleep(50);
    }
    await sleep(GAP_MS * (0.5 + Math.random()));
  }
}

function echoWaiter(subscribe: (l: (d: string) => void) => () => void): (s: string) => Promise<void> {
  return (s) =>
    new Promise((resolve) => {
      const off = subscribe((d) => {
        if (!d.includes(s)) return;
        off();
        resolve();
      });
    });
}

async function labwright(url: string, n: number): Promise<number[]> {
  const cookie = await fetchSessionCookie(url);
  const clients: TermClient[] = [];
  const terms: Term[] = [];
  for (let i = 0; i < n; i++) {
    const ci = Math.floor(i / TERMS_PER_CONNECTION);
    const c = (clients[ci] ??= new TermClient({ url, cookie, labId: 'bench' }));
    c.keepOutput = false;
    const channel = i % TERMS_PER_CONNECTION;
    const host = HOSTS[i % HOSTS.length] ?? 'host0';
    terms.push({
      send: (s) => c.send({ type: 'term-input', channel, data: s }),
      echo: echoWaiter((l) => c.onMessage((m) => m.type === 'term-output' && m.channel === channel && l(m.data))),
    });
    await c.welcome;
    c.send({ type: 'term-open', channel, host, cols: 120, rows: 40 });
  }
  await Promise.all(
    clients.map((c, ci) =>
      Promise.all(
        Array.from({ length: Math.min(TERMS_PER_CONNECTION, n - ci * TERMS_PER_CONNECTION) }, (_, ch) =>
          c.waitFor((m) => m.type === 'term-state' && m.channel === ch && m.state === 'connected', 120_000),
        ),
      ),
    ),
  );
  await sleep(1500); // let prompts settle
  const samples: number[] = [];
  await Promise.all(terms.map((t) => typeLoop(t, KEYS_PER_TERMINAL, samples)));
  await Promise.all(clients.map((c) => c.close()));
  return samples;
}

async function wetty(instances: Child[], n: number): Promise<number[]> {
  const terms: WettyTerm[] = [];
  for (let i = 0; i < n; i++) {
    const inst = instances[i % instances.length];
    if (!inst) throw new Error('no WeTTY');
    const t = new WettyTerm(inst.url);
    t.keepText = false;
    terms.push(t);
  }
  await Promise.all(terms.map((t) => t.ready));
  await sleep(3000); // ssh login and prompt
  const samples: number[] = [];
  await Promise.all(terms.map((t) => typeLoop({ send: (s) => t.input(s), echo: echoWaiter((l) => t.onData(l)) }, KEYS_PER_TERMINAL, samples)));
  for (const t of terms) t.close();
  await sleep(1000);
  return samples;
}

function summary(samples: number[]): { p50: number; p99: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}

const bench = await createBenchEnv(HOSTS);
const children: Child[] = [];
try {
  const lw = await startLabwright(bench.env);
  children.push(lw);
  const wetties = await Promise.all(HOSTS.map((h) => startWetty(bench.env, h)));
  children.push(...wetties);
  console.log(`keystroke round trip (key sent by the WebSocket client until its echo is back there), ${KEYS_PER_TERMINAL} keys per terminal, a key every ~${GAP_MS} ms per terminal, hosts: ${HOSTS.join(', ')} (nspawn, local bridge)`);
  console.log('terminals  server     samples  p50 ms  p99 ms');
  for (const n of [1, 100]) {
    const a = summary(await labwright(lw.url, n));
    const b = summary(await wetty(wetties, n));
    console.log(`${String(n).padStart(9)}  labwright  ${String(a.n).padStart(7)}  ${fmt(a.p50).padStart(6)}  ${fmt(a.p99).padStart(6)}`);
    console.log(`${String(n).padStart(9)}  wetty      ${String(b.n).padStart(7)}  ${fmt(b.p50).padStart(6)}  ${fmt(b.p99).padStart(6)}`);
    console.log(`${String(n).padStart(9)}  ratio wetty/labwright: p50 ${fmt(b.p50 / a.p50)}x  p99 ${fmt(b.p99 / a.p99)}x`);
  }
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await bench.destroy();
}
process.exit(0);
