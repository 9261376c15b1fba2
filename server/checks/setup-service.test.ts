// A step's setup runs once per environment, survives a restart (a new service on the same SQLite
// file) without running again, runs again on new hosts (a new environment id), reports a failure
// with host and reason, and runs again on Retry once the cause is fixed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Step } from '../../common/lab.ts';
import type { StepSetupStatus } from '../../common/protocol.ts';
import type { Environment } from '../../provisioning/provider.ts';
import { openDurableStore } from '../store/durable-store.ts';
import { fakeTarget } from '../testing/fake-target.ts';
import { MemorySetupRecords } from './setup-records.ts';
import { StepSetups } from './setup-service.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'labwright-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = (id: string): Environment => ({ id, provider: 'fake', spec: { hosts: ['host0', 'host1'], services: { etcd: 'none', docker: false } }, hosts: [], privateKey: '', privateKeyPath: '', createdAt: 0 });
const step: Step = { index: 0, id: 'break-etcd', title: 'Break', line: 5, parts: [], checks: [], solves: [], setups: [{ host: 'host1', code: 'systemctl stop etcd', line: 7 }] };

describe('StepSetups', () => {
  it('runs once per environment, across a restart, and again on new hosts', async () => {
    let broken = true;
    const target = fakeTarget(['host0', 'host1'], () => (broken ? { code: 1, stderr: 'etcd.service: unit not found\n' } : { code: 0 }));
    const seen: StepSetupStatus[] = [];
    let store = openDurableStore(dir);
    let setups = new StepSetups({ records: store.setups, target: () => target, onChange: (_s, _l, st) => seen.push(st) });

    // Fails: host and a short reason, and nothing runs again by itself.
    expect(setups.open('s', 'lab', env('e1'), step)?.state).toBe('running');
    await setups.idle();
    expect(seen.at(-1)).toEqual({ step: 0, state: 'failed', host: 'host1', reason: 'exit 1: etcd.service: unit not found' });
    expect(setups.open('s', 'lab', env('e1'), step)?.state).toBe('failed');
    expect(setups.prepared(env('e1'), step)).toBe(false);
    expect(target.calls).toHaveLength(1);

    // Retry after the cause is fixed.
    broken = false;
    setups.retry('s', 'lab', env('e1'), step);
    await setups.idle();
    expect(seen.at(-1)).toEqual({ step: 0, state: 'ready' });
    expect(target.calls).toHaveLength(2);
    expect(target.calls[1]).toEqual(['host1', expect.stringContaining('systemctl stop etcd')]);

    // A restart: a new service on the same file finds it done.
    store.close();
    store = openDurableStore(dir);
    setups = new StepSetups({ records: store.setups, target: () => target });
    expect(setups.open('s', 'lab', env('e1'), step)?.state).toBe('ready');
    expect(setups.prepared(env('e1'), step)).toBe(true);
    expect(target.calls).toHaveLength(2);

    // New hosts (a reset): it runs again.
    expect(setups.open('s', 'lab', env('e2'), step)?.state).toBe('running');
    await setups.idle();
    expect(target.calls).toHaveLength(3);
    // The released environment's records go with it.
    store.setups.forgetEnvironment('e1');
    expect(store.setups.get('e1', 'break-etcd')).toBeUndefined();
    store.close();
  });

  it('a setup cut short by a restart is failed (not run twice): the attendee retries', () => {
    const store = openDurableStore(dir);
    store.setups.set('e3', 'break-etcd', { state: 'running', at: 1 });
    const target = fakeTarget(['host0', 'host1'], () => ({ code: 0 }));
    const seen: StepSetupStatus[] = [];
    const setups = new StepSetups({ records: store.setups, target: () => target, onChange: (_s, _l, st) => seen.push(st) });
    const interrupted = { step: 0, state: 'failed', reason: 'the server stopped while this step was being prepared' };
    expect(setups.open('s', 'lab', env('e3'), step)).toEqual(interrupted);
    expect(target.calls).toHaveLength(0);
    // The dashboard showed it running: it is told it failed (once).
    expect(seen).toEqual([interrupted]);
    expect(setups.open('s', 'lab', env('e3'), step)).toEqual(interrupted);
    expect(seen).toHaveLength(1);
    store.close();
  });

  it('a step without setup blocks has no status and is always prepared', () => {
    const target = fakeTarget(['host0'], () => ({ code: 0 }));
    const store = openDurableStore(dir);
    const setups = new StepSetups({ records: store.setups, target: () => target });
    expect(setups.open('s', 'lab', env('e4'), { ...step, setups: [] })).toBeUndefined();
    expect(setups.prepared(env('e4'), { ...step, setups: [] })).toBe(true);
    store.close();
  });

  it('a setup still running when its hosts are given back (a reset) records and tells nothing when it ends', async () => {
    const target = fakeTarget(['host0', 'host1'], () => ({ code: 0 }));
    let end: (r: { code: number }) => void = () => undefined;
    target.execSession = () => new Promise((resolve) => (end = (r) => resolve({ signal: null, stdout: '', stderr: 'connection lost', truncated: false, ...r })));
    const records = new MemorySetupRecords();
    const seen: StepSetupStatus[] = [];
    const setups = new StepSetups({ records, target: () => target, onChange: (_s, _l, st) => seen.push(st) });
    expect(setups.open('s', 'lab', env('e5'), step)?.state).toBe('running');
    setups.forgetEnvironment('e5');
    end({ code: 255 });
    await setups.idle();
    // The page is on new hosts by now: no "could not be prepared" from the old ones.
    expect(seen.map((x) => x.state)).toEqual(['running']);
    expect(records.get('e5', 'break-etcd')).toBeUndefined();
    // New hosts prepare the step afresh.
    end = () => undefined;
    target.execSession = () => Promise.resolve({ code: 0, signal: null, stdout: '', stderr: '', truncated: false });
    expect(setups.open('s', 'lab', env('e6'), step)?.state).toBe('running');
    await setups.idle();
    expect(seen.map((x) => x.state)).toEqual(['running', 'running', 'ready']);
  });
});
