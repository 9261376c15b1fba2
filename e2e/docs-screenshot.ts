// Pictures for the docs are tracked files, so tests take them only on request:
// LABWRIGHT_SCREENSHOT=1 npx playwright test <spec>. A normal `npm test` leaves the tree clean.
import path from 'node:path';
import type { Page } from '@playwright/test';

const DOCS = path.resolve(import.meta.dirname, '..', 'docs');

/** True when this run was asked to regenerate the docs' screenshots. */
export const docsScreenshotsWanted = (): boolean => process.env.LABWRIGHT_SCREENSHOT === '1';

/** Saves docs/<name> from the page, only when docs screenshots were asked for. */
export async function saveDocsScreenshot(page: Page, name: string): Promise<void> {
  if (!docsScreenshotsWanted()) return;
  await page.screenshot({ path: path.join(DOCS, name) });
}
