// Where the e2e server listens and keeps its labs. Chosen once by playwright.config.ts and passed
// through the environment, so the server and every test worker agree.
import os from 'node:os';
import path from 'node:path';

export const E2E_BASE_PATH = '/labwright/';

export function e2ePort(): number {
  const port = Number(process.env.LABWRIGHT_E2E_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error('LABWRIGHT_E2E_PORT is not set: run the e2e tests through playwright test');
  return port;
}

export const e2eLabsDir = (): string => path.join(os.tmpdir(), `labwright-e2e-${e2ePort()}`, 'labs');

export const e2eOrigin = (): string => `http://127.0.0.1:${e2ePort()}`;
export const e2eBaseUrl = (): string => `${e2eOrigin()}${E2E_BASE_PATH}`;
