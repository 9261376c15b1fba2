// Idmapped binds for unprivileged hosts: builds the small C helper (lw-idmap.c; Node cannot call open_tree /
// mount_setattr) once per source version into the cache, mounts with it, and probes whether this kernel can.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { haveCommand, run } from '../exec.ts';
import { ProvisionError } from '../provider.ts';
import { RUN_DIR } from './registry.ts';

const SOURCE = path.join(import.meta.dirname, 'idmap', 'lw-idmap.c');

/** Ids every host's namespace maps: the whole 16-bit range Debian's users, groups and nobody (65534) live in. */
export const ID_COUNT = 65536;

export const PROBE_DIR_PREFIX = path.join(RUN_DIR, 'userns-probe-');

/** Path of the helper built from the current source: <cacheDir>/bin/lw-idmap-<source hash>. Builds it when missing. */
export async function ensureIdmapHelper(cacheDir: string): Promise<string> {
  const source = await fs.readFile(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const bin = path.join(cacheDir, 'bin', `lw-idmap-${hash}`);
  if (await fs.access(bin).then(() => true, () => false)) return bin;
  if (!(await haveCommand('gcc'))) {
    throw new ProvisionError(
      'missing-dependency',
      'gcc not found: unprivileged hosts need it once to build a small helper (install the Debian packages gcc and libc6-dev; scripts/setup.sh does), or set LABWRIGHT_HOST_ISOLATION=privileged',
    );
  }
  await fs.mkdir(path.dirname(bin), { recursive: true });
  // Built beside its final name and renamed: a concurrent build or a crash never leaves a half-written helper.
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    await run('gcc', ['-O2', '-Wall', '-o', tmp, SOURCE]);
    await fs.rename(tmp, bin);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    const detail = e instanceof Error ? e.message : String(e);
    throw new ProvisionError('missing-dependency', `building ${path.basename(bin)} failed (is libc6-dev installed?): ${detail}`);
  }
  return bin;
}

/** Mounts `source` at `target` (an existing directory) read-only, its ids 0..ID_COUNT-1 shown as base..base+ID_COUNT-1. */
export async function mountIdmapped(helper: string, source: string, target: string, base: number): Promise<void> {
  await run(helper, [source, target, String(base), String(ID_COUNT)]);
}

/**
 * Answers whether hosts can run unprivileged here, with the image's filesystem: undefined when they can,
 * else why not. Tries the real recipe (idmapped bind of the image, overlay over it) with a throwaway id
 * range and removes everything it mounted.
 */
export async function probeUserns(cacheDir: string, imageRootfs: string, probeBase: number): Promise<string | undefined> {
  const maxNs = Number((await fs.readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => '0')).trim());
  if (!(maxNs > 0)) return 'user namespaces are disabled (user.max_user_namespaces is 0)';
  let helper: string;
  try {
    helper = await ensureIdmapHelper(cacheDir);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  await fs.mkdir(RUN_DIR, { recursive: true });
  const dir = await fs.mkdtemp(PROBE_DIR_PREFIX);
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(dir, d)) as [string, string, string, string];
  try {
    await Promise.all([lower, upper, work, merged].map((d) => fs.mkdir(d)));
    try {
      await mountIdmapped(helper, imageRootfs, lower, probeBase);
    } catch (e) {
      return `idmapped mounts do not work on the image's filesystem (${imageRootfs}): ${e instanceof Error ? e.message : String(e)}`;
    }
    const seen = await fs.stat(lower);
    if (seen.uid !== probeBase) return `an idmapped mount of ${imageRootfs} showed uid ${seen.uid}, not ${probeBase}`;
    try {
      await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    } catch (e) {
      return `overlayfs refuses an idmapped lower layer on this kernel: ${e instanceof Error ? e.message : String(e)}`;
    }
    return undefined;
  } finally {
    await unmountProbe(dir);
  }
}

/** Removes a probe directory and whatever is mounted in it (also a crashed probe's, found by recover()). */
export async function unmountProbe(dir: string): Promise<void> {
  for (const m of ['merged', 'lower']) await run('umount', [path.join(dir, m)], { okCodes: [0, 32] }).catch(() => undefined);
  await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

/** Probe directories of processes that are gone (a probe of a live process is left alone). */
export async function staleProbeDirs(): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(RUN_DIR).catch(() => [] as string[])) {
    const full = path.join(RUN_DIR, e);
    if (!full.startsWith(PROBE_DIR_PREFIX)) continue;
    const age = Date.now() - ((await fs.stat(full).catch(() => undefined))?.mtimeMs ?? 0);
    if (age > 60_000) out.push(full);
  }
  return out;
}
