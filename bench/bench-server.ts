// The Labwright server the benches measure, as its own process (so its memory is its own): the
// stack `labwright serve` ships (server/compose.ts) over a labs folder the bench wrote, handing out
// the one environment the bench already created, with every terminal in its own tmux session so
// that N terminals are N independent shells.
// Usage: bench-server.ts ENV_JSON_FILE LABS_DIR DATA_DIR [INSTRUCTOR_TOKEN]; prints `READY <url>`.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import type { Environment, Provider } from '../provisioning/provider.ts';
import { composeServer } from '../server/compose.ts';
import { loadConfig } from '../server/config.ts';
import { setLogLevel } from '../server/log.ts';

const [envFile, labsDir, dataDir, token] = process.argv.slice(2);
if (!envFile || !labsDir || !dataDir) throw new Error('usage: bench-server.ts ENV_JSON_FILE LABS_DIR DATA_DIR [INSTRUCTOR_TOKEN]');
const { env, config: settings, profileDir } = JSON.parse(readFileSync(envFile, 'utf8')) as { env: Environment; config: Record<string, string>; profileDir?: string };
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

// With a profile folder: SIGUSR2 starts V8's CPU profiler, the next SIGUSR2 writes server-<n>.cpuprofile
// there (so a bench profiles one phase, not start-up and joining).
if (profileDir) {
  const inspector = new Session();
  inspector.connect();
  let profiling = false;
  let n = 0;
  process.on('SIGUSR2', () => {
    void (async () => {
      if (!profiling) {
        profiling = true;
        await inspector.post('Profiler.enable');
        await inspector.post('Profiler.setSamplingInterval', { interval: 1000 });
        await inspector.post('Profiler.start');
        return;
      }
      profiling = false;
      const { profile } = await inspector.post('Profiler.stop');
      writeFileSync(path.join(profileDir, `server-${n++}.cpuprofile`), JSON.stringify(profile));
      process.stdout.write('PROFILED\n');
    })();
  });
}
