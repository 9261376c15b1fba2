// Renders a step's content parts: server-rendered markdown, run blocks with their button, hints
// collapsed behind a "Show hint" toggle, and preview blocks (wired by the previews feature).
import type { ContentPart } from '../../../common/lab.ts';
import { h, trustedHtml } from '../dom.ts';
import { runCommand } from '../run-command.ts';

function runBlock(part: Extract<ContentPart, { kind: 'run' }>): HTMLElement {
  const button = h('button', { type: 'button', class: 'run-button', 'data-host': part.host }, `Run on ${part.host}`);
  const note = h('span', { class: 'run-note', role: 'status' });
  button.addEventListener('click', () => {
    const delivered = runCommand(part.host, part.code);
    note.textContent = delivered ? '' : 'Terminals are not connected yet';
  });
  return h(
    'div',
    { class: 'run-block', 'data-run-id': part.id },
    h('div', { class: 'run-head' }, h('span', { class: 'run-host' }, part.host), note, button),
    h('pre', {}, h('code', {}, part.code)),
  );
}

/** A service on a lab host; the previews feature enables the button while its port answers. */
function previewBlock(part: Extract<ContentPart, { kind: 'preview' }>): HTMLElement {
  const where = `${part.host}:${part.port}`;
  return h(
    'div',
    { class: 'preview-block', 'data-preview': where, 'data-host': part.host, 'data-port': String(part.port), 'data-preview-id': part.id },
    part.label !== '' ? h('span', { class: 'preview-label' }, part.label) : null,
    h('button', { type: 'button', class: 'preview-button', disabled: true }, `Open preview: ${where}`),
    h('span', { class: 'preview-state', role: 'status' }, 'checking whether it answers…'),
  );
}

/** A hint, collapsed; its toggle says what a click will do. */
function hint(html: string): HTMLElement {
  const summary = h('summary', {}, 'Show hint');
  const details = h('details', { class: 'hint' }, summary, trustedHtml(h('div', { class: 'prose' }), html));
  details.addEventListener('toggle', () => {
    summary.textContent = details.open ? 'Hide hint' : 'Show hint';
  });
  return details;
}

export function renderParts(parts: readonly ContentPart[]): HTMLElement[] {
  return parts.map((part) => {
    switch (part.kind) {
      case 'html':
        return trustedHtml(h('div', { class: 'prose' }), part.html);
      case 'run':
        return runBlock(part);
      case 'hint':
        return hint(part.html);
      case 'preview':
        return previewBlock(part);
    }
  });
}
