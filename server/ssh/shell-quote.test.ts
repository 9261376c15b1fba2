import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shq, shqAll } from './shell-quote.ts';

// Round-trips through a real shell: what the shell sees as one argument must be the value itself.
const echoBack = (word: string): string => execFileSync('sh', ['-c', `printf %s ${shq(word)}`], { encoding: 'utf8' });

describe('shq', () => {
  const nasty = [
    'web@2.service',
    "it's",
    "'; rm -rf / #",
    '$(touch /tmp/pwned)',
    '`id`',
    'a b\tc\nd',
    '"double" \\back\\',
    '*?[glob]',
    '--flag',
    '',
    "''''",
  ];
  it.each(nasty)('passes %j through a shell unchanged as one word', (word) => {
    expect(echoBack(word)).toBe(word);
  });

  it('keeps several words apart', () => {
    const out = execFileSync('sh', ['-c', `for a in ${shqAll(['a b', "c'd", '$e'])}; do printf '<%s>' "$a"; done`], { encoding: 'utf8' });
    expect(out).toBe("<a b><c'd><$e>");
  });

  it('refuses a NUL byte, which no shell argument can carry', () => {
    expect(() => shq('a\0b')).toThrow(TypeError);
  });
});
