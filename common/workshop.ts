// The workshop model shared by server and browser: what the instructor dashboard is pushed
// (one snapshot per change) and the one rule for flagging an attendee as stuck.
import type { StepReport } from './checks.ts';
import type { StepGate } from './gating.ts';
import type { EnvState, StepSetupStatus } from './protocol.ts';
import type { AttendeeFault, FaultInfo } from './faults.ts';
import type { CatchUpStatus } from './catch-up.ts';
import type { KeyboardState, RaisedHand } from './help.ts';

/** A cell of the attendees × steps grid: the step's standing by the lab's gate (common/gating.ts). */
export type StepCell = StepGate;

export interface WorkshopInfo {
  id: string;
  labId: string;
  labTitle: string;
  capacity: number;
  attendeeCount: number;
  createdAt: number;
  expiresAt: number;
  endedAt?: number;
  endReason?: 'ended' | 'expired';
  /** Relative to the app's base URL, e.g. "#/join/<token>". */
  joinPath: string;
  /** Set while the instructor has the hosts of every free seat booted ahead ("Boot hosts ahead for every seat"). */
  bootAhead?: true;
}

/** How far booting ahead has come: `ready` of the `of` environments the free seats need are booted and waiting. */
export interface BootAheadStatus {
  ready: number;
  of: number;
}

export interface AttendeeRow {
  /** Public handle (also `mirrorOf` for a read-only terminal); not the session id. */
  id: string;
  name: string;
  joinedAt: number;
  /** A page of this attendee is connected now. */
  connected: boolean;
  /** The attendee's environment, or none yet. */
  env: EnvState | 'none';
  cells: StepCell[];
  /** Index of the current step; equals the step count once every step is done. */
  current: number;
  /** When the current step became current (the previous step's completion, or joining). */
  currentSince: number;
  /** Failed explicit checks of the current step. */
  failedOnCurrent: number;
  failedTotal: number;
  /** Per step, the time spent on it before it was done (common/room-heat.ts); null while not done. */
  spentMs?: (number | null)[];
  lastReport?: StepReport;
  /** The current step's setup while it runs or after it failed (absent once it ran, or without setup). */
  setup?: StepSetupStatus;
  /** Steps (0-based) done by the instructor's catch-up, not by the attendee (absent: none). */
  replayed?: number[];
  /** The last catch-up of this attendee (absent: none since they joined or were reset). */
  catchUp?: CatchUpStatus;
  /** Faults fired on this attendee's hosts, latest first per name (absent: none). */
  faults?: AttendeeFault[];
  /** The attendee's raised hand (absent: not raised). */
  hand?: RaisedHand;
  /** Where "take the keyboard" stands for this attendee (absent: none). */
  keyboard?: Exclude<KeyboardState, 'none'>;
}

export interface DashboardSnapshot {
  workshop: WorkshopInfo;
  steps: string[];
  attendees: AttendeeRow[];
  /** The faults the lab declares, which the instructor can fire (absent: none). */
  faults?: FaultInfo[];
  stuck: { afterMs: number; afterFailures: number };
  /** Server time when the snapshot was made (the browser's clock may be off). */
  now: number;
  /**
   * Set when the lab file has changed since the version this workshop runs: whether the
   * instructor can move the workshop to it, and why not.
   */
  labChanged?: { movable: true } | { movable: false; reason: string };
  /** Present while the workshop boots hosts ahead for its free seats. */
  bootAhead?: BootAheadStatus;
  /**
   * Why the server turned "Boot hosts ahead for every seat" off by itself: at a restart this machine's memory
   * could no longer hold the free seats' hosts. Gone once the instructor turns it on again.
   */
  bootAheadStopped?: string;
}

export const STUCK_AFTER_MS = 10 * 60_000;
export const STUCK_AFTER_FAILURES = 3;

/** Stuck: on the same unfinished step too long, or failing its checks again and again. */
export function isStuck(row: AttendeeRow, steps: number, now: number, rule: DashboardSnapshot['stuck']): boolean {
  if (row.current >= steps) return false;
  return now - row.currentSince >= rule.afterMs || row.failedOnCurrent >= rule.afterFailures;
}
