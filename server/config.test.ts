import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('reads the reconnect grace in seconds, a few minutes by default, and refuses nonsense', () => {
    expect(loadConfig({}).reconnectGraceMs).toBe(300_000);
    expect(loadConfig({ LABWRIGHT_RECONNECT_GRACE_SECONDS: '30' }).reconnectGraceMs).toBe(30_000);
    expect(loadConfig({ LABWRIGHT_RECONNECT_GRACE_SECONDS: '0' }).reconnectGraceMs).toBe(0);
    expect(() => loadConfig({ LABWRIGHT_RECONNECT_GRACE_SECONDS: '5m' })).toThrow(ConfigError);
    expect(() => loadConfig({ LABWRIGHT_RECONNECT_GRACE_SECONDS: '-1' })).toThrow(/LABWRIGHT_RECONNECT_GRACE_SECONDS must be an integer between 0 and 86400/);
  });
});
