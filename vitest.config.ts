// Unit tests sit beside the code (foo.ts, foo.test.ts); tests that need real hosts say so in their name (*.host.test.ts).
import { defineConfig } from 'vitest/config';
import { loadConfig } from './server/config.ts';

export default defineConfig({
  test: {
    include: ['{common,server,provisioning,client,bench}/**/*.test.ts'],
    setupFiles: ['./server/testing/test-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // The real-host tests under provisioning/ get the settings from here: provisioning imports nothing from server/.
    provide: { localProviderConfig: loadConfig() },
  },
});
