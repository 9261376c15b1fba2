// kill -9 of a process writing progress: every write it acknowledged is in the file afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDurableStore } from './durable-store.ts';

describe('durable store under kill -9', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('keeps every acknowledged step and attempt', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-store-crash-'));
    dirs.push(dir);
    const setup = openDurableStore(dir);
    const sessionId = (await setup.sessions.create()).id;
    // As when its page opens a lab: from then on the session is durable.
    setup.sessions.persist(sessionId);
    setup.close();

    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '..', 'testing', 'test-progress-writer.ts'), dir, sessionId], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = -1;
    let buf = '';
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) {
          const m = /^ack (\d+)$/.exec(l);
          if (m) acked = Number(m[1]);
        }
        // Kill in the middle of a stream of writes, not between runs.
        if (acked >= 40) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    expect(await exited).toBe('SIGKILL');

    const store = openDurableStore(dir);
    try {
      const p = await store.progress.get(sessionId, 'crash-lab');
      const doneSteps = new Set(p.done.map((d) => d.stepId));
      for (let s = 0; s <= acked; s++) {
        expect(doneSteps.has(`s${s}`), `step ${s} was acknowledged`).toBe(true);
        expect(p.attempts[`s${s}`]?.count).toBe(1);
      }
      // And the session (the cookie) survived too.
      expect(await store.sessions.get(sessionId)).toMatchObject({ id: sessionId });
    } finally {
      store.close();
    }
  });
});
