// The lab page's previews: each `preview HOST:PORT` block gets an "Open preview" button, enabled
// while the server finds the port answering (it probes over SSH every few seconds), and a line
// saying why not otherwise ("not answering yet", hosts not ready, previews off on this server).
import type { PreviewState, PreviewsAnswer } from '../../../common/http-api.ts';
import { fetchPreviews } from '../api.ts';
import type { LabPageFeature, LabPageHandle } from '../lab-page-features.ts';
import { offeredPreviews, openPreviewTab } from './preview-open.ts';
import './previews.css';

const POLL_MS = 3000;

function stateText(p: PreviewState): string {
  switch (p.state) {
    case 'answering':
      return 'answering';
    case 'closed':
      return `${p.host}:${p.port} is not answering yet`;
    case 'no-hosts':
      return 'waiting for the lab hosts';
  }
}

function apply(answer: PreviewsAnswer): void {
  for (const block of document.querySelectorAll<HTMLElement>('.preview-block')) {
    const button = block.querySelector<HTMLButtonElement>('.preview-button');
    const note = block.querySelector<HTMLElement>('.preview-state');
    if (!button || !note) continue;
    const p = answer.previews.find((x) => `${x.host}:${x.port}` === block.dataset.preview);
    if (!answer.enabled) {
      button.disabled = true;
      note.textContent = answer.reason ?? 'previews are off on this server';
    } else if (p) {
      button.disabled = p.state !== 'answering';
      note.textContent = stateText(p);
      block.dataset.state = p.state;
    }
  }
}

function attach(page: LabPageHandle): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last: PreviewsAnswer | undefined;
  const poll = async (): Promise<void> => {
    if (offeredPreviews(page.view).length > 0) {
      try {
        last = await fetchPreviews(page.labId);
        if (!stopped) apply(last);
      } catch {
        // The server is away for a moment: keep what was shown, ask again.
      }
    }
    if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
  };
  const onClick = (ev: MouseEvent): void => {
    const button = (ev.target as HTMLElement | null)?.closest<HTMLButtonElement>('.preview-button');
    const block = button?.closest<HTMLElement>('.preview-block');
    if (!button || !block) return;
    const note = block.querySelector<HTMLElement>('.preview-state');
    void openPreviewTab(page.labId, block.dataset.host ?? '', Number(block.dataset.port)).then((problem) => {
      if (problem && note) note.textContent = problem;
    });
  };
  document.addEventListener('click', onClick);
  // Re-rendered steps (the lab file changed) get their state at once.
  const offRender = page.onRender(() => {
    if (last) apply(last);
  });
  void poll();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    document.removeEventListener('click', onClick);
    offRender();
  };
}

export const previewsFeature: LabPageFeature = { name: 'previews', attach };
