// The question a Run button asks when a program holds the host's terminal (a watch, a pager, a
// container shell): keys typed now would go to that program, so the attendee chooses first.
import { h } from '../dom.ts';

export type BusyChoice = 'interrupt' | 'type' | 'cancel';

/** "watch", "docker and less": the programs as the attendee would name them. */
export function programsText(commands: readonly string[]): string {
  const names = [...new Set(commands)].slice(0, 4);
  if (names.length === 0) return 'a program';
  return names.length === 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1) ?? ''}`;
}

/** One prompt per terminal pane, shown over the top of the terminal until the attendee chooses. */
export class BusyPrompt {
  readonly #el: HTMLElement;
  readonly #text: HTMLElement;
  readonly #interrupt: HTMLButtonElement;
  #choose: ((c: BusyChoice) => void) | undefined;

  constructor(mount: HTMLElement, host: string) {
    this.#text = h('p', { class: 'term-busy-text', id: `term-busy-${host}` });
    this.#interrupt = h('button', { type: 'button', class: 'term-busy-interrupt' }, 'Interrupt and run');
    const typeAnyway = h('button', { type: 'button' }, 'Type it anyway');
    const cancel = h('button', { type: 'button' }, 'Cancel');
    this.#el = h(
      'div',
      { class: 'term-busy', role: 'alertdialog', 'aria-label': `${host}'s terminal is busy`, 'aria-describedby': `term-busy-${host}`, hidden: true },
      this.#text,
      h('div', { class: 'term-busy-actions' }, this.#interrupt, typeAnyway, cancel),
    );
    this.#interrupt.addEventListener('click', () => this.#pick('interrupt'));
    typeAnyway.addEventListener('click', () => this.#pick('type'));
    cancel.addEventListener('click', () => this.#pick('cancel'));
    mount.append(this.#el);
  }

  /** Shows the question (replacing one still open, which counts as cancelled) and resolves with the choice. */
  ask(text: string, canInterrupt = true): Promise<BusyChoice> {
    this.#choose?.('cancel');
    this.#text.textContent = text;
    this.#interrupt.hidden = !canInterrupt;
    this.#el.hidden = false;
    (canInterrupt ? this.#interrupt : this.#el.querySelector<HTMLButtonElement>('button:not([hidden])'))?.focus();
    return new Promise((resolve) => {
      this.#choose = resolve;
    });
  }

  /** Says what is happening (e.g. "Interrupting…") with the buttons off. */
  working(text: string): void {
    this.#text.textContent = text;
    for (const b of this.#el.querySelectorAll('button')) b.disabled = true;
  }

  hide(): void {
    this.#el.hidden = true;
    for (const b of this.#el.querySelectorAll('button')) b.disabled = false;
  }

  #pick(c: BusyChoice): void {
    const choose = this.#choose;
    this.#choose = undefined;
    choose?.(c);
  }
}
