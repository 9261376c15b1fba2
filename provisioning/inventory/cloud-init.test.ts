import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { HOST_FILES, hostFileSource } from '../image/lab-content.ts';
import { PACKAGES } from '../image/recipe.ts';
import { cloudInitUserData } from './cloud-init.ts';

const SHIPPED = path.join(import.meta.dirname, 'example-user-data.yaml');

describe('example cloud-init user-data', () => {
  it('is what cloud-init.ts makes from the image recipe now (UPDATE_GOLDEN=1 rewrites it)', () => {
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(SHIPPED, cloudInitUserData());
    expect(readFileSync(SHIPPED, 'utf8')).toBe(cloudInitUserData());
  });

  it('installs the image recipe’s packages and files, and starts etcd and docker once configured', () => {
    const text = cloudInitUserData();
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    const doc = parse(text) as { packages: string[]; write_files: { path: string; content: string }[]; runcmd: string[] };
    expect(doc.packages).toEqual([...PACKAGES]);
    for (const f of HOST_FILES) expect(doc.write_files.find((w) => w.path === f.dest)?.content).toBe(readFileSync(hostFileSource(f), 'utf8'));
    const prepare = doc.write_files.find((w) => w.path === '/usr/local/lib/labwright/prepare-host')!.content;
    expect(prepare).toContain('ETCD_INITIAL_CLUSTER=$cluster');
    expect(prepare).toContain('systemctl enable --now etcd.service docker.service ssh.service');
    expect(doc.runcmd).toEqual(['/usr/local/lib/labwright/prepare-host']);
    execFileSync('sh', ['-n', '-c', prepare]);
    // Placeholders cloud tooling replaces; no ${…} that Terraform's templatefile() would take for its own.
    expect(text).toContain('@HOST_NAME@');
    expect(prepare).not.toContain('${');
  });
});
