// The instructor credential: a configured one is used as given, a generated one is long and
// random, and only the exact token matches.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { instructorCredential } from './instructor-credential.ts';

describe('instructor credential', () => {
  it('matches only the exact token', () => {
    const c = instructorCredential('a-configured-token-of-some-length');
    expect(c.generated).toBe(false);
    expect(c.matches('a-configured-token-of-some-length')).toBe(true);
    expect(c.matches('a-configured-token-of-some-lengtH')).toBe(false);
    expect(c.matches('a-configured-token-of-some-length ')).toBe(false);
    expect(c.matches('')).toBe(false);
  });

  it('is generated, random and unguessable when none is configured', () => {
    const a = instructorCredential(undefined);
    const b = instructorCredential(undefined);
    expect(a.generated).toBe(true);
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.matches(a.token)).toBe(true);
  });

  it('refuses a short configured token at start', () => {
    expect(() => loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: 'short' })).toThrow(ConfigError);
    expect(loadConfig({ LABWRIGHT_INSTRUCTOR_TOKEN: 'long-enough-token-1234' }).instructorToken).toBe('long-enough-token-1234');
  });
});
