// The server Playwright's webServer starts: the stack `labwright serve` ships (server/compose.ts,
// real lab hosts, SQLite), over a temporary copy of the real labs and the e2e fixture labs (tests
// edit lab files there, never in labs/) and a temporary data folder, under a sub-path. On exit it
// removes the folder, after every host it made is destroyed.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import { composeServer } from '../server/compose.ts';
import { loadConfig } from '../server/config.ts';
import { logger, setLogLevel } from '../server/log.ts';
import { E2E_BASE_PATH, e2eLabsDir, e2ePort } from './e2e-env.ts';

const root = path.resolve(import.meta.dirname, '..');
const labsDir = e2eLabsDir();
const work = path.dirname(labsDir);
// The data folder of a crashed earlier run on this port stays: starting, the server reaps its hosts.
rmSync(labsDir, { recursive: true, force: true });
mkdirSync(labsDir, { recursive: true });
cpSync(path.join(root, 'labs'), labsDir, { recursive: true });
cpSync(path.join(import.meta.dirname, 'fixtures', 'labs'), labsDir, { recursive: true });
// The lab engineer's broken fixtures, when present, join the list too.
const brokenFixtures = path.join(root, 'server', 'labs', 'fixtures', 'broken-labs');
if (existsSync(brokenFixtures)) cpSync(brokenFixtures, path.join(labsDir), { recursive: true });

setLogLevel('error');
const config = loadConfig({}, { port: e2ePort(), basePath: E2E_BASE_PATH, labsDir, dataDir: path.join(work, 'data'), poolSize: 0 });
const provider = createLocalProvider(config, { log: logger('local-provider') });
// Real lab hosts per browser session. Every test has its own browser context (session), so hosts
// are given back soon after its page is gone (a reload reconnects well within that) instead of
// piling up until the run ends. Lab edits are picked up quickly.
const composed = await composeServer({ config, provider, catalogDebounceMs: 50, idleReleaseMs: 10_000 });
console.log(`e2e server at ${composed.server.url} with labs in ${labsDir}`);

const stop = (): void => {
  void composed
    .close()
    // What a shutdown keeps for the next process (a workshop's hosts) has no next process here.
    .then(async () => {
      for (const env of await provider.list()) await provider.destroy(env);
    })
    .finally(() => {
      rmSync(work, { recursive: true, force: true });
      process.exit(0);
    });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
