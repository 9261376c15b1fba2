import { describe, expect, it } from 'vitest';
import { allHostsReady, rollBackCreate } from './create-steps.ts';
import { quietLogger } from './log.ts';
import { ProvisionError } from './provider.ts';

describe('rollBackCreate', () => {
  it('tears down, then says boot-failed with the cause for an ordinary error', async () => {
    const torn: string[] = [];
    const err = await rollBackCreate(new Error('sshd never answered'), 'lwab12c', { log: quietLogger, teardown: () => { torn.push('lwab12c'); return Promise.resolve(); } }).catch((e: unknown) => e);
    expect(torn).toEqual(['lwab12c']);
    expect(err).toBeInstanceOf(ProvisionError);
    expect((err as ProvisionError).code).toBe('boot-failed');
    expect((err as ProvisionError).message).toBe('environment lwab12c: sshd never answered');
  });

  it('keeps a ProvisionError as it is, and says aborted when the create was cancelled', async () => {
    const own = new ProvisionError('timeout', 'host0 was not ready in time');
    await expect(rollBackCreate(own, 'lwab12c', { log: quietLogger, teardown: () => Promise.resolve() })).rejects.toBe(own);
    const ac = new AbortController();
    ac.abort();
    await expect(rollBackCreate(own, 'lwab12c', { signal: ac.signal, log: quietLogger, teardown: () => Promise.resolve() })).rejects.toMatchObject({ code: 'aborted' });
  });

  it('a teardown that fails is logged and does not hide why the create failed', async () => {
    const errors: string[] = [];
    const log = { ...quietLogger, error: (f: object | string) => void errors.push(JSON.stringify(f)) };
    await expect(rollBackCreate(new Error('no etcd'), 'lwab12c', { log, teardown: () => Promise.reject(new Error('busy mount')) })).rejects.toMatchObject({ code: 'boot-failed', message: 'environment lwab12c: no etcd' });
    expect(errors.join()).toContain('busy mount');
  });
});

describe('allHostsReady', () => {
  it('reports each host as it becomes ready, with its note, counting up to all', async () => {
    const lines: string[] = [];
    const notes: Record<string, string | undefined> = {};
    await allHostsReady(
      [{ name: 'host0' }, { name: 'host1' }],
      async (h) => {
        await new Promise((r) => setTimeout(r, h.name === 'host0' ? 20 : 0));
        notes[h.name] = h.name === 'host0' ? 'degraded: etcd.service' : undefined;
      },
      (phase, done, total, message) => lines.push(`${phase} ${done}/${total} ${message}`),
      (h) => notes[h.name],
    );
    expect(lines).toEqual(['services 1/2 host1 ready', 'services 2/2 host0 ready (degraded: etcd.service)']);
  });
});
