// The one wire protocol between browser and server over the page's WebSocket: a discriminated
// union per direction, validated at runtime on receipt. Nothing about the wire format lives elsewhere.
import { z } from 'zod';
import type { StepReport } from './checks.ts';
import type { ClusterSnapshot } from './cluster-view.ts';
import type { Result } from './result.ts';
import type { DashboardSnapshot } from './workshop.ts';
import type { FaultNotice, FireOutcome } from './faults.ts';
import { faultNoticeSchema, fireOutcomeSchema } from './faults.ts';
import type { HelpState } from './help.ts';
import { MAX_HAND_TEXT, MAX_HELP_MESSAGE, helpStateSchema, helpText } from './help.ts';
import { err, ok } from './result.ts';
import { MAX_TERM_INPUT, TermFrameKind, decodeTermFrame, encodeTermFrame } from './term-frame.ts';

/** Bumped on any incompatible change; a client with another version is told to reload. */
export const PROTOCOL_VERSION = 2;

/** Largest client message accepted (terminal input is small; a paste is chunked by the client). */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;

/**
 * WebSocket close codes. 4000–4499: the client must not retry (it would be refused again);
 * 4500–4999: transient, the client retries with backoff.
 */
export const CloseCode = {
  Unauthorized: 4001,
  ForbiddenOrigin: 4003,
  NotFound: 4004,
  VersionMismatch: 4400,
  /** The attendee's workshop ended or expired: their hosts are gone, reconnecting is pointless. */
  WorkshopEnded: 4010,
  /** This session already has as many pages (WebSockets) open as one session may; close one and reload. */
  TooManyConnections: 4029,
  ServerShutdown: 4500,
  Replaced: 4501,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
export const shouldRetry = (code: number): boolean => code < 4000 || code >= 4500;

const channel = z.number().int().min(0).max(1023);
const dims = { cols: z.number().int().min(2).max(1000), rows: z.number().int().min(1).max(500) };

const clientSchemas = [
  z.strictObject({ type: z.literal('hello'), version: z.number().int(), labId: z.string().min(1).max(100) }),
  z.strictObject({
    type: z.literal('term-open'),
    channel,
    /** A host of the caller's own environment, by name; never an address. */
    host: z.string().min(1).max(63),
    ...dims,
    /** Instructors only: mirror an attendee's terminal read-only. */
    mirrorOf: z.string().min(1).max(100).optional(),
  }),
  /** Also (and from the page, always) a binary frame: see common/term-frame.ts. */
  z.strictObject({ type: z.literal('term-input'), channel, data: z.string().max(MAX_TERM_INPUT) }),
  z.strictObject({ type: z.literal('term-resize'), channel, ...dims }),
  /** The client has rendered this many more bytes of the channel's output (term-output data), sent every ACK_EVERY bytes (common/term-frame.ts). */
  z.strictObject({ type: z.literal('term-ack'), channel, bytes: z.number().int().min(0) }),
  z.strictObject({ type: z.literal('term-close'), channel }),
  /** Before a Run button types into a terminal: does its shell wait for a command, or does a program hold it? Answered with term-pane. */
  z.strictObject({ type: z.literal('term-probe'), channel }),
  /** "Interrupt and run": stop what holds the terminal (q for a pager, Ctrl-C, then Ctrl-D); answered with term-pane once the shell is back or it gave up. */
  z.strictObject({ type: z.literal('term-interrupt'), channel }),
  z.strictObject({ type: z.literal('check-run'), step: z.number().int().min(0) }),
  z.strictObject({ type: z.literal('step-skip'), step: z.number().int().min(0) }),
  /** Run the failed setup of this step again (the attendee pressed Retry on "could not be prepared"). */
  z.strictObject({ type: z.literal('setup-retry'), step: z.number().int().min(0) }),
  /** "Reset this step": put the caller's hosts back to how they were when this (the open) step opened. Answered with step-reset. */
  z.strictObject({ type: z.literal('step-reset'), step: z.number().int().min(0) }),
  /** Instructor dashboard: push this workshop's snapshot now and on every change. */
  z.strictObject({ type: z.literal('dashboard-watch'), workshopId: z.string().min(1).max(40) }),
  /** Lab page: push `cluster-view` snapshots of this page's environment while `watch` is true (the Cluster tab is open). */
  z.strictObject({ type: z.literal('cluster-watch'), watch: z.boolean() }),
  /** Instructor dashboard: fire one of the lab's faults on one attendee's hosts, or (no attendee) on everyone's. */
  z.strictObject({ type: z.literal('fault-fire'), workshopId: z.string().min(1).max(40), fault: z.string().min(1).max(40), attendee: z.string().min(1).max(100).optional() }),
  // The help loop (common/help.ts). On the lab page's socket, always about the caller's own session:
  /** Raise (or re-word) the caller's hand. */
  z.strictObject({ type: z.literal('hand-raise'), text: helpText(MAX_HAND_TEXT, { optional: true }).optional() }),
  z.strictObject({ type: z.literal('hand-lower') }),
  /** The attendee's answer to the instructor's "take the keyboard" request. */
  z.strictObject({ type: z.literal('keyboard-reply'), allow: z.boolean() }),
  /** The attendee takes the keyboard back (or withdraws a request they have not answered). */
  z.strictObject({ type: z.literal('keyboard-take-back') }),
  // On the dashboard's socket (instructors only), about one attendee of one workshop of its lab:
  /** A message to one attendee; it lowers their hand. */
  z.strictObject({ type: z.literal('help-answer'), workshopId: z.string().min(1).max(40), attendee: z.string().min(1).max(100), text: helpText(MAX_HELP_MESSAGE) }),
  /** Lowers an attendee's hand without a message. */
  z.strictObject({ type: z.literal('hand-resolve'), workshopId: z.string().min(1).max(40), attendee: z.string().min(1).max(100) }),
  /** A message to every attendee of the workshop. */
  z.strictObject({ type: z.literal('help-broadcast'), workshopId: z.string().min(1).max(40), text: helpText(MAX_HELP_MESSAGE) }),
  /** Asks the attendee to let this instructor type through the mirror. */
  z.strictObject({ type: z.literal('keyboard-request'), workshopId: z.string().min(1).max(40), attendee: z.string().min(1).max(100) }),
  /** The instructor gives the keyboard back (or cancels the request). */
  z.strictObject({ type: z.literal('keyboard-release'), workshopId: z.string().min(1).max(40), attendee: z.string().min(1).max(100) }),
] as const;

const clientMessage = z.discriminatedUnion('type', clientSchemas);
export type ClientMessage = z.infer<typeof clientMessage>;
export type ClientMessageType = ClientMessage['type'];

export type TermState = 'connecting' | 'connected' | 'reconnecting' | 'unreachable' | 'closed';
/** Who holds a terminal, as term-pane says. */
export type PaneHolder = 'idle' | 'busy' | 'unknown';
export type EnvState = 'provisioning' | 'ready' | 'failed';

export type ErrorCode =
  | 'bad-json'
  | 'too-large'
  | 'invalid-message'
  | 'not-ready'
  | 'unknown-host'
  | 'unknown-channel'
  | 'read-only'
  | 'forbidden'
  | 'unknown-step'
  | 'step-locked'
  /** A fault the lab does not declare, or one that cannot be fired now (see the message). */
  | 'unknown-fault'
  /** A per-session cap (terminals open, check runs a minute) refused this; the message says which and what to do. */
  | 'too-many'
  /** The server could not save this (its disk is full or read-only): nothing was recorded; try again later. */
  | 'unavailable'
  | 'internal';

/**
 * Where the `setup HOST` blocks of an open step stand for the attendee's environment: being run
 * (the step says "Preparing this step…" and is not checked), done, or failed (host and a short
 * reason; the attendee may retry). Steps without setup blocks never get one.
 */
const stepSetupStatus = z.strictObject({
  step: z.number().int().min(0),
  state: z.enum(['running', 'ready', 'failed']),
  host: z.string().max(63).optional(),
  reason: z.string().max(500).optional(),
});
export type StepSetupStatus = z.infer<typeof stepSetupStatus>;
export type SetupState = StepSetupStatus['state'];

/**
 * Where a "Reset this step" stands: `running` (hosts going back to the step's snapshot), `done`, `unavailable`
 * (nothing was touched: `code` says why — the provider has no snapshots, there is no snapshot of this step, a
 * reset or snapshot is under way, the step is not the open one, the hosts are not ready), or `failed` (the hosts
 * were given back; the page gets fresh ones).
 */
const stepResetStatus = z.strictObject({
  step: z.number().int().min(0),
  state: z.enum(['running', 'done', 'unavailable', 'failed']),
  code: z.enum(['unsupported', 'no-snapshot', 'busy', 'not-current', 'not-ready', 'failed']).optional(),
  message: z.string().max(500),
});
export type StepResetStatus = z.infer<typeof stepResetStatus>;
export type StepResetCode = NonNullable<StepResetStatus['code']>;

export interface HostStatus {
  name: string;
  reachable: boolean;
}

export interface ProgressState {
  /** Index of the first step not yet done. */
  current: number;
  /** `step` is the position in the lab version this page shows; `stepId` what progress is kept by. */
  done: { step: number; stepId: string; at: number; skipped: boolean; /** Done by the instructor's catch-up, not the attendee. */ replayed?: true }[];
}

export type ServerMessage =
  | { type: 'welcome'; version: number; sessionId: string; labId: string }
  | {
      type: 'env-status';
      state: EnvState;
      hosts: HostStatus[];
      progress?: { done: number; total: number; message: string };
      message?: string;
    }
  | { type: 'term-opened'; channel: number; host: string; readOnly: boolean }
  /** Always a binary frame on the wire (common/term-frame.ts): the terminal's raw bytes, UTF-8 decoded by the terminal emulator. */
  | { type: 'term-output'; channel: number; data: Uint8Array }
  | { type: 'term-state'; channel: number; state: TermState; message?: string }
  /**
   * The answer to term-probe or term-interrupt (`ref`): `idle` the shell waits for a command, `busy`
   * a program holds the terminal (`commands`: its processes, e.g. `watch`), `unknown` the server
   * could not look (the message says why).
   */
  | { type: 'term-pane'; channel: number; ref: 'term-probe' | 'term-interrupt'; state: PaneHolder; commands: string[]; message?: string }
  | { type: 'check-report'; report: StepReport }
  | { type: 'progress'; progress: ProgressState }
  | { type: 'step-setup'; setup: StepSetupStatus }
  | { type: 'step-reset'; reset: StepResetStatus }
  | { type: 'lab-changed'; labId: string }
  | { type: 'dashboard'; snapshot: DashboardSnapshot }
  | { type: 'cluster-view'; snapshot: ClusterSnapshot }
  /** The dashboard's answer to a fault-fire: what happened for each attendee it was meant for. */
  | { type: 'fault-fired'; fault: string; outcomes: FireOutcome[] }
  /** The attendee's page: the faults fired on their hosts and whether each is repaired (sent on connect and on change). */
  | { type: 'fault-notices'; notices: FaultNotice[] }
  /** The attendee's page: their hand, the instructor's messages and the keyboard (sent on connect and on change). */
  | { type: 'help-state'; help: HelpState }
  | { type: 'error'; code: ErrorCode; message: string; ref?: ClientMessageType };

export type ServerMessageType = ServerMessage['type'];

export interface ProtocolError {
  code: Extract<ErrorCode, 'bad-json' | 'too-large' | 'invalid-message'>;
  message: string;
}

/** Validates one raw client frame. Never throws. */
export function parseClientMessage(raw: string): Result<ClientMessage, ProtocolError> {
  if (raw.length > MAX_CLIENT_MESSAGE_BYTES) {
    return err({ code: 'too-large', message: `message exceeds ${MAX_CLIENT_MESSAGE_BYTES} bytes` });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return err({ code: 'bad-json', message: 'message is not valid JSON' });
  }
  const parsed = clientMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return err({ code: 'invalid-message', message: `${where}${issue?.message ?? 'invalid message'}` });
  }
  return ok(parsed.data);
}

/**
 * Validates a server frame in the browser. The server is trusted, so this only checks the
 * envelope shape; a frame of an unknown type (newer server) is reported, not thrown.
 */
export function parseServerMessage(raw: string): Result<ServerMessage, string> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return err('server sent invalid JSON');
  }
  if (typeof json !== 'object' || json === null || typeof (json as { type?: unknown }).type !== 'string') {
    return err('server message has no type');
  }
  const type = (json as { type: string }).type;
  if (!Object.hasOwn(SERVER_TYPES, type)) return err(`unknown server message type: ${type}`);
  // New message types are validated in full; the older ones only by their envelope (above).
  if (type === 'step-setup') {
    const setup = stepSetupStatus.safeParse((json as { setup?: unknown }).setup);
    if (!setup.success) return err(`invalid step-setup message: ${setup.error.issues[0]?.message ?? 'bad shape'}`);
    return ok({ type: 'step-setup', setup: setup.data });
  }
  const schema = SERVER_SCHEMAS[type as ServerMessageType];
  if (schema && !schema.safeParse(json).success) return err(`server message ${type} is malformed`);
  return ok(json as ServerMessage);
}

/** Server messages whose payload is checked in full (what the attendee reads must be what the protocol says). */
const SERVER_SCHEMAS: Partial<Record<ServerMessageType, z.ZodType>> = {
  'term-pane': z.strictObject({
    type: z.literal('term-pane'),
    channel,
    ref: z.enum(['term-probe', 'term-interrupt']),
    state: z.enum(['idle', 'busy', 'unknown']),
    commands: z.array(z.string().max(64)).max(32),
    message: z.string().max(500).optional(),
  }),
  'fault-fired': z.strictObject({ type: z.literal('fault-fired'), fault: z.string().max(40), outcomes: z.array(fireOutcomeSchema).max(10_000) }),
  'fault-notices': z.strictObject({ type: z.literal('fault-notices'), notices: z.array(faultNoticeSchema).max(100) }),
  'help-state': z.strictObject({ type: z.literal('help-state'), help: helpStateSchema }),
  'step-reset': z.strictObject({ type: z.literal('step-reset'), reset: stepResetStatus }),
};

// A record, not a list, so that adding a ServerMessage type without listing it is a type error.
const SERVER_TYPES: Record<ServerMessageType, true> = {
  welcome: true,
  'env-status': true,
  'term-opened': true,
  'term-output': true,
  'term-state': true,
  'term-pane': true,
  'check-report': true,
  progress: true,
  'step-setup': true,
  'step-reset': true,
  'lab-changed': true,
  dashboard: true,
  'cluster-view': true,
  'fault-fired': true,
  'fault-notices': true,
  'help-state': true,
  error: true,
};

/** JSON text of a control message (term-output is binary: encodeServerMessage). */
export const encode = (msg: Exclude<ServerMessage, { type: 'term-output' }> | ClientMessage): string => JSON.stringify(msg);

/** The frame the server sends: term-output as a binary frame, everything else as JSON text. */
export const encodeServerMessage = (msg: ServerMessage): string | Uint8Array =>
  msg.type === 'term-output' ? encodeTermFrame(TermFrameKind.Output, msg.channel, msg.data) : encode(msg);

// Both the browser and Node have these globals; common/ is typed without either's library.
declare const TextEncoder: new () => { encode(text: string): Uint8Array };
declare const TextDecoder: new () => { decode(bytes: Uint8Array): string };
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** A keystroke is a few ASCII bytes: read those without TextDecoder, which costs microseconds a call. */
function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.byteLength <= 64) {
    let ascii = true;
    for (const b of bytes) if (b >= 0x80) ascii = false;
    if (ascii) return String.fromCharCode(...bytes);
  }
  return utf8Decoder.decode(bytes);
}

/** The frame a client sends: term-input as a binary frame (UTF-8), everything else as JSON text. */
export const encodeClientMessage = (msg: ClientMessage): string | Uint8Array =>
  msg.type === 'term-input' ? encodeTermFrame(TermFrameKind.Input, msg.channel, utf8.encode(msg.data)) : encode(msg);

/**
 * Validates one binary client frame: only term-input may come this way, within the same bounds
 * as its JSON form (a frame the server would not even buffer is refused by the socket first).
 * Never throws.
 */
export function parseClientFrame(frame: Uint8Array): Result<ClientMessage, ProtocolError> {
  if (frame.byteLength > MAX_CLIENT_MESSAGE_BYTES) return err({ code: 'too-large', message: `message exceeds ${MAX_CLIENT_MESSAGE_BYTES} bytes` });
  const f = decodeTermFrame(frame);
  if (!f.ok) return f;
  if (f.value.kind !== TermFrameKind.Input) return err({ code: 'invalid-message', message: 'a client may send only term-input as a binary frame' });
  const data = decodeUtf8(f.value.data);
  if (data.length > MAX_TERM_INPUT) return err({ code: 'invalid-message', message: `data: term-input holds at most ${MAX_TERM_INPUT} characters` });
  return ok({ type: 'term-input', channel: f.value.channel, data });
}

/** Reads one binary server frame in the browser: term-output. */
export function parseServerFrame(frame: Uint8Array): Result<ServerMessage, string> {
  const f = decodeTermFrame(frame);
  if (!f.ok) return err(f.error.message);
  if (f.value.kind !== TermFrameKind.Output) return err('a server sends only term-output as a binary frame');
  return ok({ type: 'term-output', channel: f.value.channel, data: f.value.data });
}
