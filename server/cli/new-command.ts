// `labwright new <id> [--dir DIR]`: scaffolds DIR/<id>/lab.md, a small lab that passes
// `labwright lint` and `labwright test`, for an author to start from (in any folder or repository).
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isLabId } from '../../common/lab.ts';
import { LAB_FILE } from '../labs/lab-catalog.ts';
import type { Command } from './command.ts';
import { UsageError } from './command.ts';

const SYNOPSIS = 'labwright new <lab-id> [--dir DIR]';
const USAGE = `${SYNOPSIS}

Creates DIR/<lab-id>/${LAB_FILE} (DIR defaults to ./labs, made if missing): front matter,
an introduction and one step with a run block, a described check, a hint and a solve
block. It passes \`labwright lint\` and \`labwright test\` as it is; edit it from there.

  <lab-id>   the lab's folder name: lowercase letters, digits and dashes (e.g. my-first-lab)
  --dir DIR  the folder of labs to create it in (default ./labs)

Refuses a bad id, and a lab folder that already exists (nothing is overwritten).`;

/** The scaffold: a one-host lab with no services, quick to provision and to test. */
export function scaffoldLab(id: string): string {
  const title = id.split('-').filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ');
  return `---
title: ${title}
summary: One line for the lab list — what the attendee will do.
hosts: [host0]
services: { etcd: none, docker: false }
duration: 10m
---
The introduction, shown before the first step: what the attendee will build and why.
Each \`## heading\` below is a step; its checks must pass before the next one opens.

## Leave a note on host0

Write a note into a file on \`host0\`. Click **Run on host0** to type the command into
host0's terminal, then press Enter.

\`\`\`run host0
echo "hello from ${id}" > /tmp/note.txt
\`\`\`

\`\`\`check
- description: host0 has a note that says hello
  file: { on: host0, path: /tmp/note.txt, contains: hello }
- description: the note is one line long
  command: { on: host0, run: "wc -l < /tmp/note.txt", stdout: "^1$" }
\`\`\`

\`\`\`hint
\`echo TEXT > FILE\` writes TEXT into FILE, replacing what was there.
\`\`\`

\`\`\`solve host0
echo "hello from ${id}" > /tmp/note.txt
\`\`\`
`;
}

export const newCommand: Command = {
  summary: 'create a new lab (DIR/<id>/lab.md) that passes lint and test, to start from',
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    let dir = 'labs';
    const ids: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a === '--dir' || a.startsWith('--dir=')) {
        const v = a === '--dir' ? args[++i] : a.slice('--dir='.length);
        if (v === undefined || v === '') throw new UsageError(`--dir needs a folder; usage: ${SYNOPSIS}`);
        dir = v;
      } else if (a.startsWith('-')) {
        throw new UsageError(`unknown option ${a}; usage: ${SYNOPSIS}`);
      } else ids.push(a);
    }
    if (ids.length !== 1) throw new UsageError(`name one lab id; usage: ${SYNOPSIS}`);
    const id = ids[0]!;
    if (!isLabId(id)) {
      throw new UsageError(`"${id}" is not a lab id: use lowercase letters, digits and dashes, starting with a letter or digit (at most 100), e.g. my-first-lab`);
    }
    const folder = join(dir, id);
    if (await stat(folder).then(() => true, () => false)) {
      throw new UsageError(`${folder} already exists; choose another id or remove it (nothing was changed)`);
    }
    await mkdir(folder, { recursive: true });
    const file = join(folder, LAB_FILE);
    await writeFile(file, scaffoldLab(id), { flag: 'wx' });
    console.log(`Created ${file}. Next:`);
    console.log(`  labwright lint ${folder}                  # every problem with file:line`);
    console.log(`  labwright test ${folder}                  # fresh hosts: checks fail, the solve runs, checks pass (root)`);
    console.log(`  labwright serve --labs ${resolve(dir)}    # open it in the browser`);
    return 0;
  },
};
