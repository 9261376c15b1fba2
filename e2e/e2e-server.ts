// The server Playwright's webServer starts: copies the real labs and the e2e fixture labs into a
// temporary folder (tests edit lab files there, never in labs/), serves it under a sub-path, and
// removes the folder on exit.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { catalogViews } from '../server/http/catalog-views.ts';
import { createLabCatalog } from '../server/labs/lab-catalog.ts';
import { createLocalProvider } from '../provisioning/local/local-provider.ts';
import { createLabChecks } from '../server/progress/lab-checks.ts';
import { createLabWorkspaces } from '../server/workspaces/lab-workspaces.ts';
import { setLogLevel } from '../server/log.ts';
import { E2E_BASE_PATH, e2eLabsDir, e2ePort } from './e2e-env.ts';

const root = path.resolve(import.meta.dirname, '..');
const labsDir = e2eLabsDir();
rmSync(labsDir, { recursive: true, force: true });
mkdirSync(labsDir, { recursive: true });
cpSync(path.join(root, 'labs'), labsDir, { recursive: true });
cpSync(path.join(import.meta.dirname, 'fixtures', 'labs'), labsDir, { recursive: true });
// The lab engineer's broken fixtures, when present, join the list too.
const brokenFixtures = path.join(root, 'server', 'labs', 'fixtures', 'broken-labs');
if (existsSync(brokenFixtures)) cpSync(brokenFixtures, path.join(labsDir), { recursive: true });

setLogLevel('error');
const config = loadConfig({}, { port: e2ePort(), basePath: E2E_BASE_PATH, labsDir });
const catalog = await createLabCatalog(labsDir, { debounceMs: 50 });
const labViews = catalogViews(catalog);
// Real lab hosts per browser session. Every test has its own browser context (session), so hosts
// are given back soon after its page is gone (a reload reconnects well within that) instead of
// piling up until the run ends.
const workspaces = createLabWorkspaces({ provider: createLocalProvider(config), labMeta: (id) => labViews.view(id)?.meta, idleReleaseMs: 10_000 });
const checks = createLabChecks({ catalog, workspaces: workspaces.workspaces, ssh: workspaces.ssh });
const server = await startServer(config, { labs: labViews, gatewayModules: [...workspaces.modules, checks.module] });
console.log(`e2e server at ${server.url} with labs in ${labsDir}`);

const stop = (): void => {
  catalog.close();
  checks.close();
  void server
    .close()
    .then(() => workspaces.close())
    .finally(() => {
    rmSync(path.dirname(labsDir), { recursive: true, force: true });
    process.exit(0);
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
