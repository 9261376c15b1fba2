// Playwright e2e tests in Debian's Chromium (no browser download) against a server the config
// starts on a free loopback port, under a sub-path, with a temporary copy of the labs.
import { execFileSync } from 'node:child_process';
import { defineConfig } from '@playwright/test';

// The config is evaluated again in every worker; the port chosen first travels in the environment.
if (!process.env.LABWRIGHT_E2E_PORT) {
  const script = "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  process.env.LABWRIGHT_E2E_PORT = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim();
}
const port = Number(process.env.LABWRIGHT_E2E_PORT);
const baseURL = `http://127.0.0.1:${port}/labwright/`;

export default defineConfig({
  testDir: 'e2e',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  forbidOnly: true,
  webServer: {
    command: 'node --import tsx e2e/e2e-server.ts',
    url: `${baseURL}api/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: { LABWRIGHT_E2E_PORT: String(port) },
    // Long enough for the server to destroy the lab hosts the tests made (about 2 s per environment).
    gracefulShutdown: { signal: 'SIGTERM', timeout: 60_000 },
  },
  use: {
    baseURL,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
