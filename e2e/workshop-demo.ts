// A workshop full of simulated attendees for looking at the dashboard (the screenshot spec, a
// designer's eye): the stack `labwright serve` ships (server/compose.ts) over the real labs, the
// fake provider instead of hosts, and attendees seeded at different steps, some stuck.
// Usage: workshop-demo PORT DATA_DIR [LABS_DIR].
import { FakeProvider } from '../provisioning/testing/fake-provider.ts';
import { composeServer } from '../server/compose.ts';
import { loadConfig } from '../server/config.ts';
import { setLogLevel } from '../server/log.ts';

const [portArg, dir, labsDir] = process.argv.slice(2);
if (!portArg || !dir) throw new Error('usage: workshop-demo PORT DATA_DIR [LABS_DIR]');
setLogLevel('error');
const config = loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: 'demo-instructor-credential' }, { port: Number(portArg), dataDir: dir, basePath: '/lw/', ...(labsDir ? { labsDir } : {}) });
// The dashboard needs the environments' state, not their hosts.
const composed = await composeServer({ config, provider: new FakeProvider(), recheckMs: 0 });
const { server, stack, labs } = composed;

const labId = 'etcd';
const stepIds = labs.view(labId)?.steps.map((s) => s.id) ?? [];
const steps = stepIds.length;
const w = stack.service.create({ labId, capacity: 40, minutes: 90 });
const now = Date.now();
const min = 60_000;
// name, steps done, minutes on the current step, failed checks on it
const people: [string, number, number, number][] = [
  ['Amara Okafor', 5, 3, 0], ['Bjørn Lindqvist', 2, 14, 1], ['Chen Wei', 7, 0, 0], ['Dana Whitfield', 4, 2, 0],
  ['Emil Novák', 3, 6, 4], ['Fatima Zahra', 5, 1, 1], ['Gabriel Souza', 1, 4, 0], ['Hana Sato', 6, 2, 0],
  ['Ivan Petrov', 4, 8, 2], ['Jules Martin', 7, 0, 0], ['Kiri Walker', 3, 1, 0], ['Lena Fischer', 5, 5, 0],
  ['Mateo Rossi', 0, 12, 5], ['Nia Johnson', 4, 0, 0],
];
for (const [name, done, minutes, failed] of people) {
  const r = stack.service.join(w.joinPath.split('/').pop() ?? '', name);
  if (!r?.ok) continue;
  const sid = r.session.id;
  const start = now - (done * 7 + minutes) * min;
  for (let s = 0; s < Math.min(done, steps); s++) await stack.store.progress.markDone(sid, labId, { stepId: stepIds[s] ?? '', at: start + (s + 1) * 7 * min, skipped: s === 2 && name.startsWith('D') });
  for (let f = 0; f < failed; f++) await stack.store.progress.recordAttempt(sid, labId, stepIds[done] ?? '', false, now - f * min);
  if (failed > 0) {
    stack.service.reportSeen(sid, labId, {
      step: done,
      passed: false,
      at: now - 20_000,
      results: [
        { status: 'fail', kind: 'etcd', subject: 'key /example', host: 'host1', expected: 'Azure', actual: 'azure', message: 'host1: key /example is "azure", expected "Azure"', durationMs: 4 },
        { status: 'pass', kind: 'unit', subject: 'unit etcd.service', host: 'host0', expected: 'active', actual: 'active', message: 'host0: unit etcd.service is active', durationMs: 31 },
      ],
    });
  }
}
// Only now the clock matters: seeded rows carry their own times; joining time is "now" for all.
process.stdout.write(`${JSON.stringify({ url: server.url, workshopId: w.id })}\n`);
const stop = (): void => {
  void composed.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
