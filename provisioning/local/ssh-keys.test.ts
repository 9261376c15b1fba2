import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from './ssh-keys.ts';

describe('ssh key pairs', () => {
  it('never hands out a key that cannot be read (ssh2 mangles 1 in 256)', () => {
    // 3000 keys: without the check, P(no broken key) = (255/256)^3000 ≈ 1e-5.
    for (let i = 0; i < 3000; i++) {
      const k = generateKeyPair(`t${i}`);
      expect(ssh2.utils.parseKey(k.private)).not.toBeInstanceOf(Error);
    }
  });

  it('gives keys OpenSSH reads, whose public half matches', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'lw-key-'));
    try {
      const k = generateKeyPair('labwright-test');
      await fs.writeFile(path.join(dir, 'id'), k.private, { mode: 0o600 });
      const { stdout } = await promisify(execFile)('ssh-keygen', ['-y', '-f', path.join(dir, 'id')]);
      expect(stdout.trim().split(' ').slice(0, 2)).toEqual(k.public.trim().split(' ').slice(0, 2));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
