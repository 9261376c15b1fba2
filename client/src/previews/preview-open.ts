// Opens a preview in a new tab: the server hands out a one-time link to the preview's own origin
// (which trades it for a cookie of that origin only); the tab gets no handle on this page.
import type { LabView } from '../../../common/lab.ts';
import { openPreview } from '../api.ts';

export interface OfferedPreview {
  host: string;
  port: number;
  label: string;
}

/** Every preview block of a lab (intro and steps), once each. */
export function offeredPreviews(view: LabView): OfferedPreview[] {
  const out = new Map<string, OfferedPreview>();
  for (const p of [...view.intro, ...view.steps.flatMap((s) => s.parts)]) {
    if (p.kind === 'preview' && !out.has(`${p.host}:${p.port}`)) out.set(`${p.host}:${p.port}`, { host: p.host, port: p.port, label: p.label });
  }
  return [...out.values()];
}

/** Asks for a link and opens it; resolves with an error message for the page, or undefined. */
export async function openPreviewTab(labId: string, host: string, port: number, attendee?: string): Promise<string | undefined> {
  try {
    const { url } = await openPreview(labId, { host, port, ...(attendee !== undefined ? { attendee } : {}) });
    window.open(url, '_blank', 'noopener,noreferrer');
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
