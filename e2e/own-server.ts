// A spec's own `labwright serve` (its own process, data folder and labs folder, which the spec may
// edit on disk) for workshop tests that need the instructor credential, and the steps an instructor
// and an attendee take in the browser to start a workshop and join it.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { expect } from '@playwright/test';

const ROOT = path.resolve(import.meta.dirname, '..');
export const INSTRUCTOR_TOKEN = 'e2e-instructor-credential-0123456789';

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });

export class OwnServer {
  readonly #contexts: BrowserContext[] = [];
  readonly #workshops: { page: Page; id: string }[] = [];

  private constructor(
    readonly dir: string,
    readonly base: string,
    private child: ChildProcessWithoutNullStreams,
  ) {}

  /** Writes each lab to a temporary labs folder (`labs/<id>/lab.md`) and serves it under /lw/. */
  static async start(labs: Record<string, string>): Promise<OwnServer> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lw-own-e2e-'));
    for (const [id, text] of Object.entries(labs)) {
      mkdirSync(path.join(dir, 'labs', id), { recursive: true });
      writeFileSync(path.join(dir, 'labs', id, 'lab.md'), text);
    }
    const port = await freePort();
    const server = new OwnServer(dir, `http://127.0.0.1:${port}/lw/`, await OwnServer.#spawn(dir, port));
    // Without the built browser app every page is the "not built yet" notice, and a test would wait out its
    // whole timeout for elements that never come: say so at once.
    if ((await fetch(server.base)).status === 503) {
      await server.stop();
      throw new Error('the browser app is not built: run `npm run build` before the browser tests');
    }
    return server;
  }

  static async #spawn(dir: string, port: number): Promise<ChildProcessWithoutNullStreams> {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'labwright.mjs'), 'serve', '--port', String(port), '--labs', path.join(dir, 'labs'), '--base-path', '/lw/'], {
      cwd: ROOT,
      env: { ...process.env, LABWRIGHT_DATA_DIR: path.join(dir, 'data'), LABWRIGHT_INSTRUCTOR_TOKEN: INSTRUCTOR_TOKEN, LABWRIGHT_LOG_LEVEL: 'warn', LABWRIGHT_POOL_SIZE: '0' },
    });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(`[serve] ${d.toString()}`));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Open http')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`labwright serve exited (${code}) before listening:\n${out}`)));
    });
    return child;
  }

  /** The server's data folder (its SQLite file, and `envs/` where the local provider keeps each environment). */
  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /**
   * Stops the server with SIGTERM (a running workshop's hosts outlive it) and starts it again on the same port
   * and data folder, as an operator's restart does: open pages reconnect by themselves.
   */
  async restart(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
    this.child = await OwnServer.#spawn(this.dir, Number(new URL(this.base).port));
  }

  labFile(id: string): string {
    return path.join(this.dir, 'labs', id, 'lab.md');
  }

  /** A page in a browser context of its own (its own cookie: its own session), optionally of a given size. */
  async newPage(browser: Browser, viewport?: { width: number; height: number }): Promise<Page> {
    const ctx = await browser.newContext(viewport ? { viewport } : {});
    this.#contexts.push(ctx);
    return ctx.newPage();
  }

  /** Logs the instructor in, creates a workshop of the (only) lab and returns its join link. */
  async createWorkshop(instructor: Page, labTitle: string): Promise<string> {
    await instructor.goto(`${this.base}#/instructor`);
    await instructor.getByLabel('Instructor credential').fill(INSTRUCTOR_TOKEN);
    await instructor.getByRole('button', { name: 'Log in' }).click();
    await instructor.getByRole('button', { name: 'Create workshop' }).click();
    await expect(instructor.locator('.dash-head h1')).toHaveText(labTitle);
    await expect(instructor.locator('.dash-conn')).toHaveText('● live');
    const id = /#\/instructor\/workshops\/([\w-]+)/.exec(instructor.url())?.[1];
    if (id) this.#workshops.push({ page: instructor, id });
    return instructor.locator('.join-link').inputValue();
  }

  /** An attendee joins by the link and waits for their lab page and their hosts' terminals. */
  async join(p: Page, joinUrl: string, name: string, labTitle: string, hosts: readonly string[]): Promise<void> {
    await p.goto(joinUrl);
    await p.getByLabel('Your name').fill(name);
    await p.getByRole('button', { name: 'Join' }).click();
    await expect(p.locator('.lab-title')).toHaveText(labTitle);
    for (const host of hosts) await expect(p.locator(`.term-tab[data-host="${host}"]`)).toHaveAttribute('data-state', 'connected', { timeout: 180_000 });
  }

  /** Ends the workshops (a running workshop's hosts outlive a SIGTERM on purpose), then stops the server. */
  async stop(): Promise<void> {
    for (const w of this.#workshops) await w.page.context().request.post(`${this.base}api/workshops/${w.id}/end`).catch(() => undefined);
    for (const c of this.#contexts) await c.close();
    if (this.child.exitCode === null) {
      // SIGTERM: the server gives every environment back before it exits.
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
