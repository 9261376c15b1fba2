// The words a terminal's state shows: on the lab page's tabs and on the dashboard's mirrors.
import { describe, expect, it } from 'vitest';
import { mirrorText, tabText } from './channel-state-text.ts';

describe('tabText', () => {
  it('labels each state, with the host and label as the tooltip', () => {
    expect(tabText('host0', 'connecting')).toEqual({ state: 'connecting', label: 'connecting…', title: 'host0: connecting…' });
    expect(tabText('host0', 'connected')).toEqual({ state: 'connected', label: 'connected', title: 'host0: connected' });
    expect(tabText('host1', 'unreachable').label).toBe('host unreachable');
  });

  it('shows the page’s own lost connection as reconnecting, with why in the tooltip', () => {
    expect(tabText('host0', 'offline', 'connection lost')).toEqual({ state: 'offline', label: 'reconnecting…', title: 'connection lost' });
  });

  it('shows a refused open as closed (styled red) with the server’s reason', () => {
    expect(tabText('host0', 'refused', 'this lab has no host "x"')).toEqual({ state: 'closed', label: 'closed', title: 'this lab has no host "x"' });
  });
});

describe('mirrorText', () => {
  it('says read-only and hides the note once connected', () => {
    expect(mirrorText('host0', 'connected')).toEqual({ label: 'read-only', note: undefined });
  });

  it('says why the mirror is not showing a terminal', () => {
    expect(mirrorText('host0', 'connecting').note).toBe('connecting to host0…');
    expect(mirrorText('host0', 'unreachable', 'no route to host')).toEqual({ label: 'unreachable', note: 'host0 is unreachable: no route to host' });
    expect(mirrorText('host0', 'unreachable').note).toBe('host0 is unreachable');
    expect(mirrorText('host0', 'refused', 'not an attendee of this workshop')).toEqual({ label: 'refused', note: 'not an attendee of this workshop' });
    expect(mirrorText('host0', 'offline', 'connection lost')).toEqual({ label: 'reconnecting', note: 'host0: reconnecting…' });
    expect(mirrorText('host2', 'closed')).toEqual({ label: 'closed', note: 'host2: closed…' });
  });
});
