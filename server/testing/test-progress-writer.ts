// Test helper run as a child process by durable-store.crash.test.ts: writes step completions and
// check attempts as fast as it can and prints "ack N" after each one is acknowledged.
import { openDurableStore } from '../store/durable-store.ts';

const [dataDir, sessionId] = process.argv.slice(2);
if (!dataDir || !sessionId) throw new Error('usage: test-progress-writer DATA_DIR SESSION_ID');
const store = openDurableStore(dataDir);
for (let step = 0; ; step++) {
  await store.progress.recordAttempt(sessionId, 'crash-lab', `s${step}`, true, Date.now());
  await store.progress.markDone(sessionId, 'crash-lab', { stepId: `s${step}`, at: Date.now(), skipped: false });
  process.stdout.write(`ack ${step}\n`);
}
