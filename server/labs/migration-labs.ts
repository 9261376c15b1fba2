// The labs folder as the store's migrations see it (server/store/migrations.ts): a lab's text and
// step ids as they are on disk now, read synchronously because migrations run inside a transaction.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLabId } from '../../common/lab.ts';
import type { MigrationLabs } from '../store/migrations.ts';
import { LAB_FILE } from './lab-catalog.ts';
import { MAX_LAB_BYTES, labHash, loadLab } from './lint-lab.ts';

export function migrationLabs(labsDir: string): MigrationLabs {
  return {
    current(labId) {
      if (!isLabId(labId)) return undefined;
      const file = join(labsDir, labId, LAB_FILE);
      let bytes: Buffer;
      try {
        bytes = readFileSync(file);
      } catch {
        return undefined;
      }
      if (bytes.length > MAX_LAB_BYTES) return undefined;
      const source = bytes.toString('utf8');
      const load = loadLab(source, { id: labId, file });
      return load.ok ? { source, hash: labHash(source), stepIds: load.lab.steps.map((s) => s.id) } : undefined;
    },
  };
}
