import { describe, expect, it } from 'vitest';
import { hostStartText } from './host-start-text.ts';

describe('hostStartText', () => {
  it('says how many boots are ahead while the attendee waits in the boot queue', () => {
    expect(hostStartText({ state: 'provisioning', progress: { done: 0, total: 1, message: 'waiting to boot: 3 environments ahead' } })).toEqual({
      text: 'Starting your hosts: waiting to boot: 3 environments ahead…',
      role: 'status',
    });
  });

  it('shows how far a boot has come, and nothing once the hosts are ready', () => {
    expect(hostStartText({ state: 'provisioning', progress: { done: 2, total: 4, message: 'host1 booting' } }).text).toBe('Starting your hosts: host1 booting (50 %)…');
    expect(hostStartText({ state: 'provisioning' }).text).toBe('Starting your hosts…');
    expect(hostStartText({ state: 'ready' }).text).toBeUndefined();
  });

  it('reports a failure as an alert with the reason', () => {
    expect(hostStartText({ state: 'failed', message: 'no environment free' })).toEqual({
      text: 'Your hosts could not be started: no environment free. Reload the page to try again, or ask your instructor.',
      role: 'alert',
    });
  });
});
