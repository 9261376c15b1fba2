// The lab catalogue against a real folder: broken labs listed with their problems beside working
// ones, ids that are never paths, and file edits reaching subscribers through the watcher.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLabCatalog } from './lab-catalog.ts';
import type { LabCatalog } from './lab-catalog.ts';

const lab = (title: string) => `---\ntitle: ${title}\n---\n## Step\n\n\`\`\`run host0\nls\n\`\`\`\n\n\`\`\`check\nfile: { on: host0, path: /tmp/x }\n\`\`\`\n\n\`\`\`solve host0\ntouch /tmp/x\n\`\`\`\n`;

let dir: string;
let catalog: LabCatalog | undefined;

function write(id: string, text: string): void {
  mkdirSync(join(dir, id), { recursive: true });
  writeFileSync(join(dir, id, 'lab.md'), text);
}

/** Resolves with the first change notified for `id`. */
function nextChange(c: LabCatalog, id: string): Promise<string> {
  return new Promise((resolve) => {
    const off = c.onChange((changed) => {
      if (changed === id) {
        off();
        resolve(changed);
      }
    });
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'labwright-catalog-'));
});

afterEach(() => {
  catalog?.close();
  catalog = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('lab catalogue', () => {
  it('lists working and broken labs, and ignores folders that are not lab ids', async () => {
    write('good', lab('Good lab'));
    write('broken', '---\ntitle: Broken lab\nhosts: [host0]\n---\n## S\n\n```run host7\nls\n```\n');
    write('Not_An_Id', lab('Ignored'));
    mkdirSync(join(dir, 'no-lab-file'));
    catalog = await createLabCatalog(dir, { watch: false });
    const list = catalog.list();
    expect(list.map((l) => [l.id, l.ok])).toEqual([
      ['broken', false],
      ['good', true],
    ]);
    const broken = list[0];
    expect(broken).toMatchObject({ title: 'Broken lab', problems: [{ line: 7 }] });
    expect(broken?.ok === false && broken.problems[0]?.message).toContain('host "host7"');
    expect(list[1]).toMatchObject({ meta: { title: 'Good lab' }, stepCount: 1 });
    const good = catalog.get('good');
    expect(good?.ok && good.lab.steps[0]?.checks[0]?.kind).toBe('file');
  });

  it('answers only lab ids, never paths', async () => {
    write('good', lab('Good lab'));
    catalog = await createLabCatalog(dir, { watch: false });
    for (const id of ['../good', 'good/', '.', '..', '/etc/passwd', 'good/../good', '', 'GOOD']) {
      expect(catalog.get(id)).toBeUndefined();
    }
  });

  it('re-parses a lab whose file changes and tells subscribers', async () => {
    write('good', lab('Before'));
    catalog = await createLabCatalog(dir, { debounceMs: 20 });
    const changed = nextChange(catalog, 'good');
    writeFileSync(join(dir, 'good', 'lab.md'), lab('After'));
    await expect(changed).resolves.toBe('good');
    const entry = catalog.get('good');
    expect(entry?.ok && entry.lab.meta.title).toBe('After');
  });

  it('follows a lab file replaced by rename, as editors save it', async () => {
    write('good', lab('Before'));
    catalog = await createLabCatalog(dir, { debounceMs: 20 });
    const changed = nextChange(catalog, 'good');
    writeFileSync(join(dir, 'good', '.lab.md.tmp'), '---\ntitle: Now broken\n---\n');
    renameSync(join(dir, 'good', '.lab.md.tmp'), join(dir, 'good', 'lab.md'));
    await changed;
    expect(catalog.get('good')).toMatchObject({ ok: false, title: 'Now broken' });
    expect(catalog.list()).toEqual([expect.objectContaining({ id: 'good', ok: false })]);
  });

  it('notices a new lab folder and a removed one', async () => {
    catalog = await createLabCatalog(dir, { debounceMs: 20 });
    const added = nextChange(catalog, 'fresh');
    write('fresh', lab('Fresh'));
    await added;
    expect(catalog.list().map((l) => l.id)).toEqual(['fresh']);
    const removed = nextChange(catalog, 'fresh');
    rmSync(join(dir, 'fresh'), { recursive: true });
    await removed;
    expect(catalog.get('fresh')).toBeUndefined();
    expect(catalog.list()).toEqual([]);
  });

  it('stops notifying an unsubscribed listener', async () => {
    write('a', lab('A'));
    write('b', lab('B'));
    catalog = await createLabCatalog(dir, { debounceMs: 20 });
    const seen: string[] = [];
    const off = catalog.onChange((id) => seen.push(id));
    off();
    const changed = nextChange(catalog, 'b');
    writeFileSync(join(dir, 'b', 'lab.md'), lab('B2'));
    await changed;
    expect(seen).toEqual([]);
  });
});
