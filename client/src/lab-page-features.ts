// How features (terminals, checks) plug into the lab page without the page knowing them: each
// registers a LabPageFeature once at start-up; the page attaches it to every lab page it opens.
import type { LabView } from '../../common/lab.ts';
import type { StepCard } from './lab/step-card.ts';
import type { TerminalArea } from './terminal-area.ts';
import type { LabSocket } from './ws-client.ts';

export interface LabPageHandle {
  readonly labId: string;
  /** The current lab view; replaced when the lab file changes on disk. */
  readonly view: LabView;
  readonly socket: LabSocket;
  readonly terminals: TerminalArea;
  /** The current step cards; replaced on every re-render (see onRender). */
  readonly steps: readonly StepCard[];
  /** Called after the steps are re-rendered (live preview), with the new cards. */
  onRender(listener: (steps: readonly StepCard[]) => void): () => void;
}

export interface LabPageFeature {
  readonly name: string;
  /** Sets the feature up on a lab page; returns what undoes it when the page closes. */
  attach(page: LabPageHandle): () => void;
}

const features: LabPageFeature[] = [];

export function registerLabPageFeature(feature: LabPageFeature): void {
  features.push(feature);
}

export const labPageFeatures = (): readonly LabPageFeature[] => features;
