// `labwright lint [path…]`: lints lab files (or folders of labs) and prints `file:line: severity: message`.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LintProblem } from '../../common/lab.ts';
import { LAB_FILE } from '../labs/lab-catalog.ts';
import { loadLabFile } from '../labs/lint-lab.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';

const USAGE = `labwright lint [path…]

Checks lab files and prints every problem as file:line: severity: message.
A path is a lab file, a lab folder (holding ${LAB_FILE}), or a folder of lab folders
(like labs/), absolute or relative to the current folder. Without a path, lints
./labs, or the current folder when it has no labs/.

A warning (e.g. a command or regex check without a \`description:\`, which would
show attendees raw shell or regex) is printed but does not fail the run: the exit
code is 0 when there are only warnings, 1 when any lab has an error.`;

export const lintCommand: Command = {
  summary: 'check lab files and report every problem with file:line',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const unknown = args.find((a) => a.startsWith('-'));
    if (unknown) throw new UsageError(`unknown option ${unknown}; usage: labwright lint [path…]`);
    const files: string[] = [];
    // Without a path: ./labs, or the current folder when there is none (a lab repository's root, a lab folder).
    const paths = args.length > 0 ? args : [(await stat('labs').then((i) => i.isDirectory(), () => false)) ? 'labs' : '.'];
    for (const path of paths) files.push(...(await labFiles(path)));
    const problems: LintProblem[] = [];
    for (const file of files) problems.push(...(await loadLabFile(file)).problems);
    for (const p of problems) console.log(`${p.file}:${p.line}: ${p.severity}: ${p.message}`);
    const errors = problems.filter((p) => p.severity === 'error').length;
    const warnings = problems.length - errors;
    const broken = new Set(problems.filter((p) => p.severity === 'error').map((p) => p.file)).size;
    console.log(`${plural(files.length, 'lab file')} checked: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}${broken > 0 ? ` (${broken} broken)` : ''}`);
    return errors > 0 ? 1 : 0;
  },
};

async function labFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new UsageError(`no such file or folder: ${path}`);
  if (info.isFile()) return [path];
  const own = join(path, LAB_FILE);
  if (await isFile(own)) return [own];
  const entries = await readdir(path, { withFileTypes: true });
  const found: string[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = join(path, e.name, LAB_FILE);
    if (await isFile(file)) found.push(file);
  }
  if (found.length === 0) throw new UsageError(`no lab files in ${path}: expected ${own} or <lab>/${LAB_FILE} inside it`);
  return found;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
