// What the HTTP API and the WebSocket gateway need from the lab catalogue: the list, an
// attendee's view of one lab, and change notifications (for the author's live preview).
import type { LabSummary, LabView } from '../../common/lab.ts';

export interface LabViewSource {
  list(): LabSummary[];
  /** The attendee view (no checks, no solves) of a lab that loaded cleanly; undefined otherwise. */
  view(id: string): LabView | undefined;
  /** Calls the listener with a lab id whenever that lab's files change; returns an unsubscribe. */
  onChange(listener: (labId: string) => void): () => void;
  /**
   * The view this session works on (a workshop attendee: the version their workshop runs); without
   * it, everyone gets `view(id)`.
   */
  viewFor?(sessionId: string, labId: string): LabView | undefined;
  /** Calls the listener when the version this session's page shows changes (file edit, or its workshop moved); without it, onChange. */
  watch?(sessionId: string, labId: string, listener: () => void): () => void;
}
