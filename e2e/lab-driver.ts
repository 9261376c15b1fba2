// What the e2e tests do on a lab page, as an attendee does it: find a step, a host's tab and its
// screen, and type into a host's terminal.
import type { Locator, Page } from '@playwright/test';

export class LabDriver {
  constructor(readonly page: Page) {}

  step(i: number): Locator {
    return this.page.locator(`.step[data-step="${i}"]`);
  }

  tab(host: string): Locator {
    return this.page.locator(`.term-tab[data-host="${host}"]`);
  }

  /** The host's terminal rows as rendered (xterm draws one div per row). */
  screen(host: string): Locator {
    return this.page.locator(`.term-mount[data-host="${host}"] .xterm-rows`);
  }

  /** Rows of the host's terminal whose whole text matches. */
  row(host: string, re: RegExp): Locator {
    return this.screen(host).locator(':scope > div').filter({ hasText: re });
  }

  /** Selects the host's tab, clicks into its terminal and presses a key (e.g. `Control+C`). */
  async press(host: string, key: string): Promise<void> {
    await this.tab(host).click();
    await this.page.locator(`.term-mount[data-host="${host}"] .xterm`).click();
    await this.page.keyboard.press(key);
  }

  /** Types a line into the host's terminal and presses Enter. */
  async typeInto(host: string, text: string): Promise<void> {
    await this.tab(host).click();
    await this.page.locator(`.term-mount[data-host="${host}"] .xterm`).click();
    await this.page.keyboard.type(text);
    await this.page.keyboard.press('Enter');
  }
}
