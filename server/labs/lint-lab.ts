// Lint of a lab file: every problem with its line, never an exception, whatever the input. This is
// what both `labwright lint` and the server's lab catalogue run before a lab is used.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Lab, LintProblem } from '../../common/lab.ts';
import { parseLab } from './parse-lab.ts';
import type { LabSource } from './parse-lab.ts';
import { sortProblems } from './problem-list.ts';

/** A lab file after lint: usable (maybe with warnings) or broken (with at least one error). */
export type LabLoad =
  | { ok: true; lab: Lab; problems: LintProblem[] }
  | { ok: false; title: string; problems: LintProblem[] };

/** Largest lab file we read; anything bigger is not a hand-written lab. */
export const MAX_LAB_BYTES = 1024 * 1024;

export function lintLab(source: string, src: LabSource): LintProblem[] {
  return loadLab(source, src).problems;
}

export function loadLab(source: string, src: LabSource): LabLoad {
  try {
    const { lab, problems } = parseLab(source, src);
    const sorted = sortProblems(problems);
    return sorted.some((p) => p.severity === 'error') ? { ok: false, title: lab.meta.title || src.id, problems: sorted } : { ok: true, lab, problems: sorted };
  } catch (e) {
    // A bug in the parser must not take the server or the CLI down with a lab; report it like a problem.
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, title: src.id, problems: [{ file: src.file, line: 1, message: `internal error while parsing this lab (please report it): ${message}`, severity: 'error' }] };
  }
}

/** Reads and lints a lab file; the lab id is its folder name (also for a bare `lab.md` in the current folder). Read failures are problems too. */
export async function loadLabFile(file: string, id = basename(dirname(resolve(file)))): Promise<LabLoad> {
  return (await readLabFile(file, id)).load;
}

/** loadLabFile, plus the text it parsed (what a workshop pins as its lab version). */
export async function readLabFile(file: string, id = basename(dirname(resolve(file)))): Promise<{ load: LabLoad; source?: string }> {
  const load = await readLabBytes(file, id);
  if (!Buffer.isBuffer(load)) return { load };
  const source = load.toString('utf8');
  return { load: loadLab(source, { id, file }), source };
}

/** A hash naming one version of a lab file's text. */
export const labHash = (source: string): string => createHash('sha256').update(source).digest('hex');

async function readLabBytes(file: string, id: string): Promise<LabLoad | Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : e instanceof Error ? e.message : String(e);
    return { ok: false, title: id, problems: [{ file, line: 1, message: `cannot read the lab file: ${reason}`, severity: 'error' }] };
  }
  if (bytes.length > MAX_LAB_BYTES) {
    return { ok: false, title: id, problems: [{ file, line: 1, message: `the lab file is ${bytes.length} bytes; a lab file may be at most ${MAX_LAB_BYTES} bytes`, severity: 'error' }] };
  }
  return bytes;
}
