// The Labwright server the benches measure, as its own process (so its memory is its own):
// serves one lab whose environment is the one the bench already created, and gives every
// terminal its own tmux session so that N terminals are N independent shells.
import { readFileSync, rmSync } from 'node:fs';
import type { LabView } from '../common/lab.ts';
import type { Environment, Provider } from '../provisioning/provider.ts';
import { startServer } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { StaticLabViews } from '../server/http/static-lab-views.ts';
import { setLogLevel } from '../server/log.ts';
import { createTerminalModule } from '../server/terminals/terminal-module.ts';
import { WorkspaceManager } from '../server/workspaces/workspace-manager.ts';
import { createWorkspaceModule } from '../server/workspaces/workspace-module.ts';

const envFile = process.argv[2];
if (!envFile) throw new Error('usage: bench-server.ts ENV_JSON_FILE');
const env = JSON.parse(readFileSync(envFile, 'utf8')) as Environment;
rmSync(envFile);
setLogLevel('warn');

const lab: LabView = {
  id: 'bench',
  meta: {
    title: 'bench',
    summary: '',
    hosts: env.hosts.map((h) => h.name),
    services: { etcd: 'none', docker: false },
    durationMinutes: null,
    gate: 'soft',
    allowSkip: false,
  },
  intro: [],
  steps: [],
};
// The environment belongs to the bench process: hand it out, never destroy it.
const provider: Provider = { name: 'bench', create: () => Promise.resolve(env), destroy: () => Promise.resolve(), list: () => Promise.resolve([env]) };
const workspaces = new WorkspaceManager({ provider, labShape: () => ({ hosts: lab.meta.hosts, services: lab.meta.services }) });
let next = 0;
const names = new Map<string, string>();
const terminals = createTerminalModule({
  workspaces,
  sessionName: (host, channel, conn) => {
    const k = `${conn}/${channel}/${host}`;
    let n = names.get(k);
    if (!n) names.set(k, (n = `bench-${next++}`));
    return n;
  },
});
const server = await startServer(loadConfig({}, { port: 0 }), { labs: new StaticLabViews([lab]), gatewayModules: [createWorkspaceModule(workspaces), terminals] });
process.stdout.write(`READY ${server.url}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => {
    terminals.close();
    process.exit(0);
  });
});
