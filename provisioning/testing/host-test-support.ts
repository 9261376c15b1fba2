// Shared by the real-host tests: skip cleanly where nspawn hosts cannot run, ssh with the real client.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import type { Environment } from '../provider.ts';
import { ensureImage } from '../image/build-image.ts';
import { createLocalProvider } from '../local/local-provider.ts';
import type { LocalProvider, LocalProviderConfig } from '../local/local-provider.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The server's config as this run's environment sets it (vitest.config.ts loads it; provisioning cannot). */
    localProviderConfig: LocalProviderConfig;
  }
}

const pexec = promisify(execFile);

export const canRunHosts = process.getuid?.() === 0;

export const testConfig: Readonly<LocalProviderConfig> = inject('localProviderConfig');

export async function testProvider(): Promise<LocalProvider> {
  await ensureImage({ cacheDir: testConfig.cacheDir });
  return createLocalProvider(testConfig, { readyTimeoutMs: 120_000 });
}

/** Runs a command on a host with the OpenSSH client, exactly as `env up` tells a person to. */
export async function sshRun(env: Environment, host: string, command: string): Promise<{ stdout: string; code: number }> {
  const h = env.hosts.find((x) => x.name === host);
  if (!h) throw new Error(`no host ${host}`);
  const args = ['-i', env.privateKeyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes', `root@${h.address}`, command];
  try {
    const r = await pexec('ssh', args, { timeout: 60_000 });
    return { stdout: r.stdout, code: 0 };
  } catch (e) {
    const err = e as { stdout?: string; code?: number };
    return { stdout: err.stdout ?? '', code: typeof err.code === 'number' ? err.code : -1 };
  }
}

/** The lines of /proc/mounts for mount points under dir (what a test checks is gone). */
export async function mountsUnder(dir: string): Promise<string[]> {
  return (await fs.readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => (l.split(' ')[1] ?? '').startsWith(dir));
}
