import { describe, expect, it } from 'vitest';
import type { EnvironmentSpec } from '../provider.ts';
import { specProblem } from './local-provider.ts';

const ok: EnvironmentSpec = { hosts: ['host0', 'host1'], services: { etcd: 'cluster', docker: true } };

describe('environment spec check (before anything is created)', () => {
  it('accepts a normal lab shape', () => {
    expect(specProblem(ok, 27)).toBeUndefined();
  });

  it.each([
    ['no hosts', { ...ok, hosts: [] }, 27, 'an environment needs at least 1 host'],
    ['more than MAX_HOSTS', { ...ok, hosts: Array.from({ length: 50 }, (_, i) => `h${i}`) }, 27, '50 hosts asked, at most 16 are allowed'],
    ['more than the subnet holds', { ...ok, hosts: Array.from({ length: 6 }, (_, i) => `h${i}`) }, 29, '6 hosts asked, at most 5 are allowed'],
    ['a name that is not a hostname', { ...ok, hosts: ['host0', '../x'] }, 27, 'host name "../x" must be lowercase letters, digits and dashes, starting with a letter'],
    ['an unknown etcd mode', { ...ok, services: { etcd: 'single', docker: true } }, 27, 'services.etcd must be "cluster" or "none"'],
    ['docker not a boolean', { ...ok, services: { etcd: 'none', docker: 'yes' } }, 27, 'services.docker must be true or false'],
  ])('refuses %s', (_n, spec, prefix, message) => {
    expect(specProblem(spec as unknown as EnvironmentSpec, prefix)).toBe(message);
  });
});
