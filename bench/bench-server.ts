// The Labwright server the benches measure, as its own process (so its memory is its own): the
// stack `labwright serve` ships (server/compose.ts) over a labs folder the bench wrote, handing out
// the one environment the bench already created, with every terminal in its own tmux session so
// that N terminals are N independent shells.
// Usage: bench-server.ts ENV_JSON_FILE LABS_DIR DATA_DIR [INSTRUCTOR_TOKEN]; prints `READY <url>`.
// SIGUSR2 marks a phase (the first starts it, the next ends it): at its end the server prints
// `PHASE {json}`, its own timings over the phase (see PhaseTimings), and writes a CPU profile of
// it when the bench gave a profile folder.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { PerformanceObserver, constants as perfConstants, createHistogram, performance } from 'node:perf_hooks';
import type { ClientChannel } from 'ssh2';
import type { Environment, Provider } from '../provisioning/provider.ts';
import { composeServer } from '../server/compose.ts';
import { loadConfig } from '../server/config.ts';
import { setLogLevel } from '../server/log.ts';
import { ShellHub } from '../server/terminals/shell-hub.ts';
import { BENCH_TAG } from './bench-kit.ts';
import { lateMs, loopDelayMonitor } from './loop-delay.ts';

/**
 * What a phase cost inside the server, in ms. hostRoundTrip: from the server writing a terminal's
 * input to its SSH channel to the first output coming back on that channel (the host's echo, SSH
 * both ways, and any wait of this event loop before it reads it). eventLoopDelay: how late this
 * process's timers fired, i.e. how long anything arriving (a keystroke, an echo) waited for the loop.
 */
export interface PhaseTimings {
  hostRoundTripP50: number;
  hostRoundTripP99: number;
  hostRoundTrips: number;
  eventLoopDelayP50: number;
  eventLoopDelayP99: number;
  eventLoopDelayMax: number;
  /** V8 garbage collections during the phase: how many, their summed and longest pause (ms), and the longest's kind. */
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
  gcMaxKind: string;
  /**
   * Per tagged terminal (a load generator types `# lw-bench-tag <tag>` into it first), the host round trip
   * of each single-key write in order: the bench pairs them with the load generator's keystroke times.
   */
  keyHostMs: Record<string, number[]>;
}
const TAGGED = new RegExp(`${BENCH_TAG} (\\S+)`);

// Bench-only timing of every terminal channel (the production code is not touched): each shell the
// hub opens notes when input was written and times the first output after it.
const roundTrips = createHistogram();
let keyHostMs: Record<string, number[]> | undefined;
const loopDelay = loopDelayMonitor();
const hubOpen = Object.getOwnPropertyDescriptor(ShellHub.prototype, 'open')?.value as ShellHub['open'];
// See LabwrightOptions.bareTerminals (set from the bench's file below, before any terminal opens).
let bareTerminals = false;
ShellHub.prototype.open = async function (this: ShellHub, ...args: Parameters<ShellHub['open']>): Promise<ClientChannel> {
  const [env, host, pty, command] = args;
  const channel = await hubOpen.call(this, env, host, pty, bareTerminals ? 'exec cat' : command);
  let sentAt: number | undefined;
  let tag: string | undefined;
  // A single key (not a tag line or a ^U): its round trip is paired with the load generator's.
  let key = false;
  const write = channel.write.bind(channel) as (...a: unknown[]) => boolean;
  channel.write = ((...a: unknown[]) => {
    const text = String(a[0]);
    tag ??= TAGGED.exec(text)?.[1];
    if (sentAt === undefined) key = text.length === 1 && text !== '\x15';
    sentAt ??= performance.now();
    return write(...a);
  }) as ClientChannel['write'];
  channel.prependListener('data', () => {
    if (sentAt === undefined) return;
    const us = Math.max(1, Math.round((performance.now() - sentAt) * 1e3));
    roundTrips.record(us);
    if (key && tag && keyHostMs) (keyHostMs[tag] ??= []).push(us / 1e3);
    sentAt = undefined;
  });
  return channel;
};
const ms = (us: number): number => Math.round(us) / 1e3;
// Every GC pause of a phase (the stalls a keystroke can wait behind).
const GC_KINDS: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
let gcs: { ms: number; kind: string }[] = [];
let gcWatch = false;
new PerformanceObserver((list) => {
  if (!gcWatch) return;
  for (const e of list.getEntries()) gcs.push({ ms: e.duration, kind: GC_KINDS[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other' });
}).observe({ entryTypes: ['gc'] });

const [envFile, labsDir, dataDir, token] = process.argv.slice(2);
if (!envFile || !labsDir || !dataDir) throw new Error('usage: bench-server.ts ENV_JSON_FILE LABS_DIR DATA_DIR [INSTRUCTOR_TOKEN]');
const bench = JSON.parse(readFileSync(envFile, 'utf8')) as { env: Environment; config: Record<string, string>; profileDir?: string; bareTerminals: boolean };
const { env, config: settings, profileDir } = bench;
bareTerminals = bench.bareTerminals;
rmSync(envFile);
setLogLevel('warn');

// The environment belongs to the bench process: hand it out, never destroy it.
const provider: Provider = { name: 'bench', create: () => Promise.resolve(env), destroy: () => Promise.resolve(), list: () => Promise.resolve([env]) };
const config = loadConfig(
  {
    ...(token ? { LABWRIGHT_INSTRUCTOR_TOKEN: token } : {}),
    // keystroke-latency drives up to 100 terminals from one session.
    LABWRIGHT_TERMINALS_PER_SESSION: '10000',
    ...settings,
  },
  { port: 0, labsDir, dataDir },
);
let next = 0;
const names = new Map<string, string>();
const composed = await composeServer({
  config,
  provider,
  sessionName: (host, channel, conn) => {
    const k = `${conn}/${channel}/${host}`;
    let n = names.get(k);
    if (!n) names.set(k, (n = `bench-${next++}`));
    return n;
  },
});
process.stdout.write(`READY ${composed.server.url}\n`);
// Automatic check runs started so far, for the benches' checks/s.
setInterval(() => process.stdout.write(`CHECKS ${composed.stack.checks.module.autoChecks.started}\n`), 500).unref();
process.on('SIGTERM', () => {
  void composed.close().finally(() => process.exit(0));
});

// SIGUSR2 starts a phase, the next SIGUSR2 ends it: PHASE timings, and with a profile folder V8's CPU
// profile of it as server-<n>.cpuprofile there (so a bench profiles one phase, not start-up and joining).
const inspector = profileDir ? new Session() : undefined;
inspector?.connect();
let inPhase = false;
let n = 0;
process.on('SIGUSR2', () => {
  void (async () => {
    if (!inPhase) {
      inPhase = true;
      roundTrips.reset();
      keyHostMs = {};
      loopDelay.reset();
      loopDelay.enable();
      gcs = [];
      gcWatch = true;
      if (inspector) {
        await inspector.post('Profiler.enable');
        await inspector.post('Profiler.setSamplingInterval', { interval: 1000 });
        await inspector.post('Profiler.start');
      }
      return;
    }
    inPhase = false;
    loopDelay.disable();
    gcWatch = false;
    const longest = gcs.reduce<{ ms: number; kind: string } | undefined>((a, g) => (a && a.ms >= g.ms ? a : g), undefined);
    const timings: PhaseTimings = {
      hostRoundTripP50: ms(roundTrips.percentile(50)),
      hostRoundTripP99: ms(roundTrips.percentile(99)),
      hostRoundTrips: roundTrips.count,
      eventLoopDelayP50: lateMs(loopDelay.percentile(50)),
      eventLoopDelayP99: lateMs(loopDelay.percentile(99)),
      eventLoopDelayMax: lateMs(loopDelay.max),
      gcCount: gcs.length,
      gcTotalMs: Math.round(gcs.reduce((a, g) => a + g.ms, 0)),
      gcMaxMs: Math.round((longest?.ms ?? 0) * 10) / 10,
      gcMaxKind: longest?.kind ?? '',
      keyHostMs: keyHostMs ?? {},
    };
    keyHostMs = undefined;
    if (inspector && profileDir) {
      const { profile } = await inspector.post('Profiler.stop');
      writeFileSync(path.join(profileDir, `server-${n++}.cpuprofile`), JSON.stringify(profile));
    }
    process.stdout.write(`PHASE ${JSON.stringify(timings)}\n`);
  })();
});
