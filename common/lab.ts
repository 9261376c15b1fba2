// The lab model: what a lab.md file becomes once parsed (server side), and the attendee's
// view of it (no checks, no solutions) that the browser receives.
import type { CheckSpec } from './checks.ts';
import type { ClusterViewSpec } from './cluster-view.ts';
import type { Gate } from './gating.ts';

export const MAX_HOSTS = 16;

/** Lab ids are folder names under labs/; anything else is rejected before it gets near the file system. */
export const LAB_ID = /^[a-z0-9][a-z0-9-]*$/;
export const isLabId = (id: string): boolean => id.length <= 100 && LAB_ID.test(id);

/**
 * Step ids: what progress is keyed by, so that inserting or reordering steps never shifts anyone's
 * progress. Explicit (`## Title {#my-id}`) or derived from the title (see server/labs/step-id.ts).
 */
export const STEP_ID = /^[a-z0-9][a-z0-9-]*$/;
export const MAX_STEP_ID = 64;
export const isStepId = (id: string): boolean => id.length <= MAX_STEP_ID && STEP_ID.test(id);

export interface LabServices {
  /** `cluster`: one etcd member on every host, clustered; `none`: etcd not started. */
  etcd: 'cluster' | 'none';
  /** Docker engine running on every host. */
  docker: boolean;
}

export interface LabMeta {
  title: string;
  /** One line for the catalogue. */
  summary: string;
  hosts: string[];
  services: LabServices;
  /** Expected duration in minutes. */
  durationMinutes: number | null;
  /** `hard`: a step unlocks only when the previous one passes; `soft`: checks are advisory. */
  gate: Gate;
  /** Whether attendees may skip a step (runs its solve blocks). */
  allowSkip: boolean;
  /** What the page's Cluster tab draws (front matter `cluster:`); defaults follow `services`. */
  cluster?: ClusterViewSpec;
  /** Front matter `vm: true`: the hosts must be virtual machines (the lxd provider, on a member with KVM). */
  vm?: true;
}

/** Rendered content of a step, in order. HTML is produced server-side by markdown-it with raw HTML disabled. */
export type ContentPart =
  | { kind: 'html'; html: string }
  | { kind: 'run'; id: string; host: string; code: string }
  | { kind: 'hint'; html: string }
  /** A web service on a lab host the page offers to open (proxied over the host's SSH connection). */
  | { kind: 'preview'; id: string; host: string; port: number; label: string };

/** Ports a preview block may name. */
export const MIN_PREVIEW_PORT = 1;
export const MAX_PREVIEW_PORT = 65535;
/** Longest label of a preview block (one line of plain text). */
export const MAX_PREVIEW_LABEL = 80;

export interface SolveBlock {
  host: string;
  code: string;
  line: number;
}

/**
 * A `setup HOST` block: commands the server runs as root on HOST (its own SSH connection, never the
 * attendee's terminal) when the step opens, once per environment. Never sent to browsers.
 */
export type SetupBlock = SolveBlock;

/**
 * A named fault (```fault NAME HOST): commands the server runs as root on HOST when an instructor
 * fires it, undone by its ```repair NAME HOST block (used only by `labwright test`). It belongs to
 * the step it is declared in: that step's checks passing again is what shows it repaired.
 */
export interface Fault {
  /** [a-z0-9-], unique in the lab. */
  name: string;
  /** What the dashboard and the attendee's notice say: the block's first `# comment` line, else the name. */
  title: string;
  /** 0-based index of the step it belongs to. */
  step: number;
  host: string;
  code: string;
  line: number;
  repair: SolveBlock;
}

export const FAULT_NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;

export interface Step {
  /** 0-based position. */
  index: number;
  /** Stable id (see STEP_ID): explicit `{#id}` on the heading, else derived from the title. */
  id: string;
  title: string;
  /** Line of the `##` heading in the lab file (1-based). */
  line: number;
  parts: ContentPart[];
  checks: CheckSpec[];
  solves: SolveBlock[];
  /** Run in order when the step opens (see SetupBlock). */
  setups: SetupBlock[];
}

export interface Lab {
  /** Folder name under labs/, e.g. `etcd`. */
  id: string;
  /** Path of the lab file as given to the loader. */
  file: string;
  meta: LabMeta;
  intro: ContentPart[];
  steps: Step[];
  /** Named faults an instructor can fire, in file order. */
  faults: Fault[];
  /**
   * Front matter `reset:`: a shell script run as root on every host when hosts that are kept rather than
   * thrown away (an inventory's) are given back, before the next attendee gets them. Never sent to browsers.
   */
  reset?: string;
}

export interface LintProblem {
  file: string;
  line: number;
  message: string;
  severity: 'error' | 'warning';
}

/** What an attendee's browser receives: content only. */
export interface StepView {
  index: number;
  id: string;
  title: string;
  parts: ContentPart[];
  checkCount: number;
  hasHints: boolean;
  canSkip: boolean;
}

export interface LabView {
  id: string;
  meta: LabMeta;
  intro: ContentPart[];
  steps: StepView[];
}

/** An entry of the lab list: a working lab, or a broken one with its problems. */
export type LabSummary =
  | { id: string; ok: true; meta: LabMeta; stepCount: number }
  | { id: string; ok: false; title: string; problems: LintProblem[] };

export function toLabView(lab: Lab): LabView {
  return {
    id: lab.id,
    meta: lab.meta,
    intro: lab.intro,
    steps: lab.steps.map((s) => ({
      index: s.index,
      id: s.id,
      title: s.title,
      parts: s.parts,
      checkCount: s.checks.length,
      hasHints: s.parts.some((p) => p.kind === 'hint'),
      canSkip: lab.meta.allowSkip && s.solves.length > 0,
    })),
  };
}
