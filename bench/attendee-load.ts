// One of attendee-capacity's load generators, as its own process: it joins its share of the simulated
// attendees (each with two terminals open) and types on them when told, then answers with each
// keystroke's echo time and how late its own event loop ran. Several of them share the load: one
// process holding every attendee stalls all their echoes at once (its GC, a burst of messages), and
// its delays would be counted as the server's.
// Started by attendee-capacity.ts (fork, IPC only); messages are LoadCommand in, LoadReply out.
import { performance } from 'node:perf_hooks';
import { TermClient } from '../server/testing/term-client.ts';
import { BENCH_TAG } from './bench-kit.ts';
import { lateMs, loopDelayMonitor } from './loop-delay.ts';

export type LoadCommand =
  | { type: 'join'; url: string; labId: string; hosts: string[]; execCat: boolean; joins: { token: string; i: number }[] }
  | { type: 'type'; keys: number; gapMs: number }
  | { type: 'close' };
export type LoadReply =
  | { type: 'joined'; attendees: number }
  | { type: 'typed'; samples: Record<string, number[]>; loopDelayP99Ms: number; loopDelayMaxMs: number; cpuSeconds: number }
  | { type: 'closed' }
  | { type: 'failed'; error: string };


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const attendees: { client: TermClient; hosts: string[]; i: number }[] = [];

async function join(c: Extract<LoadCommand, { type: 'join' }>, token: string, i: number): Promise<void> {
  const res = await fetch(`${c.url}api/join/${token}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `Attendee ${i}` }) });
  if (res.status !== 201) throw new Error(`join failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie')?.split(';')[0] ?? '';
  const client = new TermClient({ url: c.url, cookie, labId: c.labId });
  client.keepOutput = false;
  await client.welcome;
  c.hosts.forEach((host, channel) => client.send({ type: 'term-open', channel, host, cols: 100, rows: 30 }));
  await Promise.all(c.hosts.map((_, channel) => client.waitFor((m) => m.type === 'term-state' && m.channel === channel && m.state === 'connected', 120_000)));
  // Each terminal is tagged (a shell comment) so the server's per-key timings can be paired with ours.
  // With execCat, the shell becomes cat: the host's tty echoes each key, nothing renders a prompt. Waits
  // for the echo of the line, then for its output to settle (the shell gone, or its next prompt; a bare
  // terminal's cat prints the line back).
  c.hosts.forEach((_, channel) => client.send({ type: 'term-input', channel, data: `${c.execCat ? 'exec cat ' : ''}# ${BENCH_TAG} ${i}/${channel}\r` }));
  await Promise.all(c.hosts.map((_, channel) => client.waitFor((m) => m.type === 'term-output' && m.channel === channel && m.data.includes('\n'), 60_000)));
  await sleep(500);
  attendees.push({ client, hosts: c.hosts, i });
}

/** Types like a person on one terminal (a key every ~gap ms) and records each echo's time. */
async function typeLoop(client: TermClient, channel: number, keys: number, gapMs: number, samples: number[]): Promise<void> {
  await sleep(Math.random() * gapMs);
  for (let k = 0; k < keys; k++) {
    const t0 = performance.now();
    const echoed = new Promise<void>((resolve) => {
      const off = client.onMessage((m) => {
        if (m.type === 'term-output' && m.channel === channel && m.data.includes('x')) {
          off();
          resolve();
        }
      });
    });
    client.send({ type: 'term-input', channel, data: 'x' });
    await echoed;
    samples.push(performance.now() - t0);
    if (k % 20 === 19) {
      client.send({ type: 'term-input', channel, data: '\x15' });
      await sleep(50);
    }
    await sleep(gapMs * (0.5 + Math.random()));
  }
}

async function typeAll(keys: number, gapMs: number): Promise<LoadReply> {
  // Keystroke times per terminal, by its tag, in the order typed.
  const samples: Record<string, number[]> = {};
  const loop = loopDelayMonitor();
  const cpu0 = process.cpuUsage();
  loop.enable();
  await Promise.all(attendees.flatMap((a) => a.hosts.map((_, channel) => typeLoop(a.client, channel, keys, gapMs, (samples[`${a.i}/${channel}`] = [])))));
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  return { type: 'typed', samples, loopDelayP99Ms: lateMs(loop.percentile(99)), loopDelayMaxMs: lateMs(loop.max), cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

const reply = (r: LoadReply): void => {
  process.send?.(r);
};

process.on('message', (c: LoadCommand) => {
  void (async () => {
    try {
      if (c.type === 'join') {
        await Promise.all(c.joins.map((j) => join(c, j.token, j.i)));
        reply({ type: 'joined', attendees: attendees.length });
      } else if (c.type === 'type') {
        reply(await typeAll(c.keys, c.gapMs));
      } else {
        await Promise.all(attendees.map((a) => a.client.close()));
        reply({ type: 'closed' });
        process.exit(0);
      }
    } catch (e) {
      reply({ type: 'failed', error: e instanceof Error ? e.message : String(e) });
    }
  })();
});
// The bench gone (crashed, interrupted): nothing to type for.
process.on('disconnect', () => process.exit(0));
