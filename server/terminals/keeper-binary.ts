// The session keeper (keeper/lw-term.c) as a static binary: built once per source version on the
// server (gcc, as provisioning's lw-idmap), copied into each lab host over SSH the first time a terminal
// opens there, so every provider's hosts (local, LXD, inventory) get it without an image rebuild.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../provisioning/exec.ts';

const SOURCE_PATH = path.join(import.meta.dirname, 'keeper', 'lw-term.c');
const SOURCE = readFileSync(SOURCE_PATH);

/** Hash of the keeper's source: its file name on the hosts, so a changed keeper is installed beside the old one. */
export const KEEPER_VERSION = createHash('sha256').update(SOURCE).digest('hex').slice(0, 16);

/** Where the keeper lives on a host (a shell word: $HOME expands there; the rest is hex). */
export const KEEPER_BIN = `"$HOME/.labwright/bin/lw-term-${KEEPER_VERSION}"`;

export class KeeperError extends Error {
  override name = 'KeeperError';
}

/** A private build folder: 0700 and ours, so nobody else on the server can plant the binary hosts receive. */
async function buildDir(): Promise<string> {
  const dir = path.join(os.tmpdir(), `labwright-keeper-${process.getuid?.() ?? 0}`);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.lstat(dir);
  if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? st.uid) || (st.mode & 0o077) !== 0) {
    throw new KeeperError(`${dir} is not a private folder of this user: refusing to build the terminal keeper there`);
  }
  return dir;
}

let built: Promise<Buffer> | undefined;

/** The keeper binary's bytes (built on first use). */
export function keeperBinary(): Promise<Buffer> {
  built ??= (async () => {
    const bin = path.join(await buildDir(), `lw-term-${KEEPER_VERSION}`);
    const have = await fs.readFile(bin).catch(() => undefined);
    if (have) return have;
    const tmp = `${bin}.${process.pid}.tmp`;
    try {
      await run('gcc', ['-static', '-Os', '-s', '-Wall', '-o', tmp, SOURCE_PATH]);
      await fs.rename(tmp, bin);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw new KeeperError(`building the terminal keeper failed (gcc and libc6-dev are needed once): ${e instanceof Error ? e.message : String(e)}`);
    }
    return fs.readFile(bin);
  })();
  built.catch(() => {
    built = undefined;
  });
  return built;
}

/** Runs one command on the host, with optional stdin; the exit status and output. */
export type HostRun = (command: string, stdin?: string) => Promise<{ code: number | null; stdout: string; stderr: string }>;

/** The keeper is built for the server's own architecture (uname -m spelling). */
const UNAME = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;

/**
 * Makes sure the host has this version of the keeper: one round trip when it has, a second one copying
 * it (base64 over the exec channel, written beside its name and renamed) when it has not.
 */
export async function installKeeper(runOnHost: HostRun): Promise<void> {
  const probe = await runOnHost(`test -x ${KEEPER_BIN} && echo ok || uname -m`);
  const said = probe.stdout.trim();
  if (said === 'ok') return;
  if (said !== UNAME) throw new KeeperError(`the host is ${said || 'of an unknown architecture'}, the terminal keeper is built for ${UNAME}`);
  const b64 = (await keeperBinary()).toString('base64');
  const r = await runOnHost(`mkdir -p "$HOME/.labwright/bin" && t=${KEEPER_BIN}.$$ && base64 -d > "$t" && chmod 755 "$t" && mv -f "$t" ${KEEPER_BIN}`, b64);
  if (r.code !== 0) throw new KeeperError(`could not copy the terminal keeper to the host: ${r.stderr.trim().slice(0, 300)}`);
}
