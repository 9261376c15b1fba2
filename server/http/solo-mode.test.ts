import { describe, expect, it } from 'vitest';
import { soloMode } from './solo-mode.ts';

const base = { solo: 'auto', bind: '127.0.0.1', publicUrls: [] as string[], trustedProxies: [] as string[] } as const;

describe('soloMode', () => {
  it('is on by default only for a loopback-bound server with no proxy and no public name', () => {
    expect(soloMode(base)).toMatchObject({ on: true, explicit: false });
    expect(soloMode({ ...base, bind: '::1' }).on).toBe(true);
    expect(soloMode({ ...base, bind: '0.0.0.0' })).toMatchObject({ on: false, reason: 'bound to 0.0.0.0, not loopback' });
    expect(soloMode({ ...base, publicUrls: ['https://labs.example.org/'] })).toMatchObject({ on: false, reason: 'a public URL is set' });
    // Reached through a proxy on a loopback-bound server: not "this machine only".
    expect(soloMode({ ...base, trustedProxies: ['127.0.0.1'] })).toMatchObject({ on: false, reason: 'a trusted proxy is set' });
  });

  it('follows an explicit setting either way', () => {
    expect(soloMode({ ...base, solo: 'on', bind: '0.0.0.0', publicUrls: ['https://labs.example.org/'] })).toMatchObject({ on: true, explicit: true });
    expect(soloMode({ ...base, solo: 'off' })).toMatchObject({ on: false, explicit: true });
  });
});
