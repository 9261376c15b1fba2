// Test helper for hostile/checks.test.ts: the real server with the real checks module in its own
// process (so a blocked event loop shows as a server that stops answering, not as a hung test).
// Its one lab host, host0, is this machine's loopback, where the test runs the "attendee's" service.
// Usage: node --import tsx test-check-server.ts <service port>; prints `url <server url>` when up.
import { connect } from 'node:net';
import { toLabView } from '../../common/lab.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { startServer } from '../app.ts';
import type { CheckTarget } from '../checks/check-target.ts';
import { loadConfig } from '../config.ts';
import { StaticLabViews } from './static-lab-views.ts';
import { loadLab } from '../labs/lint-lab.ts';
import { createChecksModule } from '../checks/checks-module.ts';
import { MemoryProgressStore } from '../progress/progress-store.ts';
import { SshError } from '../ssh/ssh-connection.ts';

const port = Number(process.argv[2]);

/** Step 0: a regex catastrophic for a backtracking engine; step 1: a page with no end. */
const source = `---
title: Hostile checks
hosts: [host0]
services: { etcd: none, docker: false }
gate: soft
---
## A regex over what the attendee serves

\`\`\`check
http: { from: server, url: "http://host0:${port}/xs", body: '(x+x+)+y', timeout: 20000 }
\`\`\`

\`\`\`solve host0
true
\`\`\`

## A page that never ends

\`\`\`check
http: { from: server, url: "http://host0:${port}/endless", body: '^y+$', timeout: 20000 }
\`\`\`

\`\`\`solve host0
true
\`\`\`
`;

const load = loadLab(source, { id: 'hostile', file: 'hostile/lab.md' });
if (!load.ok) throw new Error(`fixture lab does not lint: ${JSON.stringify(load.problems)}`);
const lab = load.lab;
const hosts = [{ name: 'host0', address: '127.0.0.1' }];
const env = { id: 'hostile', hosts } as unknown as Environment;
const noShell = (): Promise<never> => Promise.reject(new SshError('unreachable', 'no SSH in this test'));
const target: CheckTarget = {
  hosts,
  exec: noShell,
  execSession: noShell,
  etcd: () => {
    throw new SshError('unreachable', 'no etcd in this test');
  },
  etcdSocket: () => {
    throw new SshError('unreachable', 'no etcd in this test');
  },
  // host0 is this machine: its "SSH channel" is a plain loopback connection.
  openTcp: (_host, address, port) =>
    new Promise((resolve, reject) => {
      const s = connect({ host: address, port }, () => resolve(s));
      s.once('error', reject);
    }),
};
const checks = createChecksModule({ lab: () => lab, environment: () => env, target: () => target, progress: new MemoryProgressStore(), recheckMs: 0 });
const server = await startServer(loadConfig({}, { port: 0 }), { labs: new StaticLabViews([toLabView(lab)]), gatewayModules: [checks] });
process.stdout.write(`url ${server.url}\n`);
process.on('SIGTERM', () => {
  void server.close().finally(() => process.exit(0));
});
