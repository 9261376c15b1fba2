import { describe, expect, it } from 'vitest';
import { parseUpArgs } from './env-command.ts';

describe('env up arguments', () => {
  it('reads --hosts N with services', () => {
    expect(parseUpArgs(['--hosts', '3', '--etcd', '--docker', '--json'])).toEqual({ hosts: 3, etcd: true, docker: true, json: true });
    expect(parseUpArgs(['--hosts=2', '--services', 'etcd'])).toMatchObject({ hosts: 2, etcd: true, docker: false });
  });

  it('takes a lab id alone', () => {
    expect(parseUpArgs(['etcd'])).toMatchObject({ lab: 'etcd', etcd: false, docker: false });
  });

  it.each([
    [['--hosts', '0'], /from 1 to 16, got "0"/],
    [['--hosts', '50'], /from 1 to 16, got "50"/],
    [['--hosts', 'three'], /got "three"/],
    [['--hosts', '2', '--services', 'etcd,mysql'], /unknown service "mysql"; known services: etcd, docker/],
    [['--hosts'], /needs a value/],
    [['etcd', '--hosts', '2'], /not both/],
    [['etcd', '--docker'], /front matter/],
    [[], /lab id or --hosts/],
    [['--hosts', '2', '--fast'], /unknown option --fast/],
  ])('refuses %j with a one-line reason', (args, message) => {
    expect(() => parseUpArgs(args)).toThrow(message);
  });
});
