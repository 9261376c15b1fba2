// The one HTTP API contract under {base}api/: every route's method and path, the schemas of what a
// client sends (validated by the server), the types of what it answers, and the error body.
import { z } from 'zod';
import type { LabSummary, LabView } from './lab.ts';
import { LAB_ID } from './lab.ts';
import type { Result } from './result.ts';
import { err, ok } from './result.ts';
import type { DashboardSnapshot, WorkshopInfo } from './workshop.ts';
import type { ProgressExport } from './workshop-export.ts';
import type { CatchUpOutcome } from './catch-up.ts';
import type { StepResetStatus } from './protocol.ts';

// ---- errors ----

export type ApiErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'bad-request'
  /** The request body is larger than the API accepts. */
  | 'too-large'
  | 'lab-broken'
  | 'workshop-full'
  | 'workshop-ended'
  /** The request is well formed but the state it acts on refuses it now (e.g. a workshop move with nothing to move to). */
  | 'conflict'
  | 'too-many-attempts'
  | 'misdirected'
  | 'unavailable'
  | 'internal';

/** The body of every HTTP error answer: a code to branch on and a message for a person. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/** Reads an error body without trusting it (a proxy in front may answer with HTML). */
export function apiErrorOf(body: unknown): { code: string; message: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const e = (body as { error?: unknown }).error;
  if (typeof e !== 'object' || e === null) return undefined;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return typeof code === 'string' && typeof message === 'string' ? { code, message } : undefined;
}

// ---- limits and field schemas ----

export const MAX_CAPACITY = 200;
/** A workshop runs at most a week (and may be extended by as much again). */
export const MAX_MINUTES = 7 * 24 * 60;
export const MAX_DISPLAY_NAME = 40;
/** Longest instructor credential compared (it is 43 characters when generated). */
export const MAX_CREDENTIAL = 512;

/** Lab ids are folder names: lower-case letters, digits and dashes. */
export const labId = z.string({ error: 'a lab id is a string' }).max(100, 'a lab id is at most 100 characters').regex(LAB_ID, 'a lab id is lower-case letters, digits and dashes');

/** Server-made ids and tokens (workshop ids, join tokens, attendee handles) are base64url. */
const opaqueId = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'not a valid id');

const nameRule = `enter a name of 1 to ${MAX_DISPLAY_NAME} characters`;
/** A display name is shown to others: 1–40 characters after tidying spaces, no control or bidi-override characters. */
export const displayName = z
  .string({ error: nameRule })
  .transform((raw) => raw.normalize('NFC').replace(/\s+/g, ' ').trim())
  .pipe(
    z
      .string()
      .min(1, nameRule)
      .max(MAX_DISPLAY_NAME, nameRule)
      .refine((name) => !/[\p{Cc}\p{Cf}]/u.test(name), 'a name cannot contain control or formatting characters'),
  );

const minutes = (what: string) =>
  z
    .number({ error: `${what} a whole number of minutes from 1 to ${MAX_MINUTES}` })
    .int(`${what} a whole number of minutes from 1 to ${MAX_MINUTES}`)
    .min(1, `${what} a whole number of minutes from 1 to ${MAX_MINUTES}`)
    .max(MAX_MINUTES, `${what} a whole number of minutes from 1 to ${MAX_MINUTES}`);

const jsonObject = { error: 'send a JSON object (Content-Type: application/json)' };

// ---- request bodies ----

export const instructorLogin = z.object(
  {
    token: z
      .string({ error: 'send the instructor credential as a string' })
      .min(1, 'send the instructor credential')
      .max(MAX_CREDENTIAL, `the credential is at most ${MAX_CREDENTIAL} characters`),
  },
  jsonObject,
);
export type InstructorLogin = z.input<typeof instructorLogin>;

/** What the instructor asks for when creating a workshop. */
export const workshopSpec = z.object(
  {
    labId,
    capacity: z
      .number({ error: `capacity must be a whole number from 1 to ${MAX_CAPACITY}` })
      .int(`capacity must be a whole number from 1 to ${MAX_CAPACITY}`)
      .min(1, `capacity must be a whole number from 1 to ${MAX_CAPACITY}`)
      .max(MAX_CAPACITY, `capacity must be a whole number from 1 to ${MAX_CAPACITY}`),
    minutes: minutes('the duration is'),
    /** Boot the hosts of every seat ahead of the class (absent: no). */
    bootAhead: z.boolean({ error: 'must be true or false' }).optional(),
  },
  jsonObject,
);
export type WorkshopSpec = z.output<typeof workshopSpec>;

/** "Boot hosts ahead for every seat" on or off for a running workshop. */
export const setBootAhead = z.object({ on: z.boolean({ error: 'must be true or false' }) }, jsonObject);

export const extendWorkshop = z.object({ minutes: minutes('extend by') }, jsonObject);
export type ExtendWorkshop = z.input<typeof extendWorkshop>;

export const joinWorkshop = z.object({ name: displayName }, jsonObject);

/** Catch-up: bring attendees to `step` (1-based: the steps before it get done by replaying their solutions). */
export const catchUpBody = z.strictObject(
  {
    step: z.number({ error: 'step must be a whole number from 2 to 100' }).int('step must be a whole number from 2 to 100').min(2, 'step must be a whole number from 2 to 100').max(100, 'step must be a whole number from 2 to 100'),
    attendee: opaqueId.optional(),
  },
  jsonObject,
);
export type CatchUpBody = z.input<typeof catchUpBody>;
export type JoinWorkshop = z.input<typeof joinWorkshop>;

/** Open a preview the lab offers (the caller's own hosts, or an attendee's for the instructor). */
export const openPreview = z.object(
  {
    host: z.string({ error: 'host: a host name of the lab' }).min(1).max(63),
    port: z.number({ error: 'port: a number from 1 to 65535' }).int().min(1).max(65535),
    attendee: opaqueId.optional(),
  },
  jsonObject,
);
export type OpenPreview = z.input<typeof openPreview>;

// ---- answers ----

/** One preview a lab offers, and whether its port answers now (probed over SSH). */
export interface PreviewState {
  host: string;
  port: number;
  label: string;
  /** answering: something listens there; closed: nothing yet; no-hosts: the lab hosts are not ready. */
  state: 'answering' | 'closed' | 'no-hosts';
}

export interface PreviewsAnswer {
  /** False when this server cannot serve previews (reason says how to enable them). */
  enabled: boolean;
  reason?: string;
  previews: PreviewState[];
}

export interface OpenPreviewAnswer {
  /** Open this in a new tab: the preview's own origin, with a one-time ticket (good for a minute). */
  url: string;
}

export interface HealthAnswer {
  status: 'ok';
}

export interface InstructorMe {
  instructor: boolean;
}

export type WorkshopState = 'open' | 'full' | 'ended' | 'expired';

/** What a join link shows before joining (and whether this browser already joined). */
export interface JoinInfo {
  labId: string;
  labTitle: string;
  state: WorkshopState;
  expiresAt: number;
  you: { name: string } | null;
}

export interface JoinAnswer {
  labId: string;
  /** True when this browser had joined already (another tab, a reopened link). */
  resumed: boolean;
}

// ---- routes ----

type ParamNames<P extends string> = P extends `${string}:${infer N}/${infer Rest}` ? N | ParamNames<`/${Rest}`> : P extends `${string}:${infer N}` ? N : never;
/** The path parameters a route pattern names, e.g. "/labs/:id" → { id: string }. */
export type PathParams<P extends string> = { [K in ParamNames<P>]: string };

export interface ApiRoute<P extends string = string, Body extends z.ZodType | undefined = z.ZodType | undefined, Answer = unknown> {
  method: 'GET' | 'POST';
  /** Express pattern, relative to {base}api. */
  path: P;
  /** Schema of each path parameter, checked before the route looks anything up. */
  params: { [K in ParamNames<P>]: z.ZodType<string, string> };
  /** Schema of the JSON body, for routes that read one. */
  body: Body;
  /** Carries the answer's type only (never set). */
  readonly answer?: Answer;
}

const route =
  <Answer>() =>
  <P extends string, Body extends z.ZodType | undefined = undefined>(method: 'GET' | 'POST', path: P, params: { [K in ParamNames<P>]: z.ZodType<string, string> }, body?: Body): ApiRoute<P, Body, Answer> => ({
    method,
    path,
    params,
    body: body as Body,
  });

/** Every route of the API. The server serves these paths; the client calls them through this table. */
export const API = {
  health: route<HealthAnswer>()('GET', '/health', {}),
  labs: route<LabSummary[]>()('GET', '/labs', {}),
  lab: route<LabView>()('GET', '/labs/:id', { id: labId }),
  instructorMe: route<InstructorMe>()('GET', '/instructor/me', {}),
  instructorLogin: route<void>()('POST', '/instructor/login', {}, instructorLogin),
  instructorLogout: route<void>()('POST', '/instructor/logout', {}),
  workshops: route<WorkshopInfo[]>()('GET', '/workshops', {}),
  createWorkshop: route<WorkshopInfo>()('POST', '/workshops', {}, workshopSpec),
  workshop: route<DashboardSnapshot>()('GET', '/workshops/:id', { id: opaqueId }),
  extendWorkshop: route<WorkshopInfo>()('POST', '/workshops/:id/extend', { id: opaqueId }, extendWorkshop),
  endWorkshop: route<WorkshopInfo>()('POST', '/workshops/:id/end', { id: opaqueId }),
  /** Turns "boot hosts ahead for every seat" on or off; 409 when the machine's memory cannot hold them (the answer names the figures). */
  setBootAhead: route<WorkshopInfo>()('POST', '/workshops/:id/boot-ahead', { id: opaqueId }, setBootAhead),
  /** Moves a running workshop to the lab file as it is now (progress kept by step id). */
  moveWorkshop: route<WorkshopInfo>()('POST', '/workshops/:id/move', { id: opaqueId }),
  /** Brings one attendee (or, without `attendee`, everyone) to step `step` by replaying the solutions of the steps before it. */
  catchUp: route<CatchUpOutcome[]>()('POST', '/workshops/:id/catch-up', { id: opaqueId }, catchUpBody),
  /** The workshop's progress, one row per attendee and step; `?format=csv` answers text/csv instead of JSON. */
  exportWorkshop: route<ProgressExport>()('GET', '/workshops/:id/export', { id: opaqueId }),
  resetAttendee: route<void>()('POST', '/workshops/:id/attendees/:attendee/reset', { id: opaqueId, attendee: opaqueId }),
  /** Puts one attendee's hosts back to the snapshot of their open step; `unavailable` in the answer: nothing was done (offer resetAttendee). */
  resetAttendeeStep: route<StepResetStatus>()('POST', '/workshops/:id/attendees/:attendee/reset-step', { id: opaqueId, attendee: opaqueId }),
  previews: route<PreviewsAnswer>()('GET', '/labs/:id/previews', { id: labId }),
  attendeePreviews: route<PreviewsAnswer>()('GET', '/labs/:id/attendees/:attendee/previews', { id: labId, attendee: opaqueId }),
  openPreview: route<OpenPreviewAnswer>()('POST', '/labs/:id/previews', { id: labId }, openPreview),
  joinInfo: route<JoinInfo>()('GET', '/join/:token', { token: opaqueId }),
  join: route<JoinAnswer>()('POST', '/join/:token', { token: opaqueId }, joinWorkshop),
} as const;

export type AnswerOf<R> = R extends ApiRoute<string, z.ZodType | undefined, infer A> ? A : never;
export type BodyOf<R> = R extends ApiRoute<string, infer B, unknown> ? (B extends z.ZodType ? z.input<B> : undefined) : never;

/** The route's path with its parameters filled in (each one URL-encoded), relative to {base}api. */
export function fillPath<P extends string>(path: P, params: PathParams<P>): string {
  return path.replace(/:([A-Za-z]+)/g, (_m, name: string) => encodeURIComponent((params as Record<string, string>)[name] ?? ''));
}

// ---- validation ----

function firstIssue(error: z.ZodError, where: string): string {
  const issue = error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : where;
  return `${field}: ${issue?.message ?? 'invalid'}`;
}

/** Validates a request body against its schema; the error names the first wrong field. Never throws. */
export function parseApiBody<S extends z.ZodType>(schema: S, value: unknown): Result<z.output<S>, string> {
  const parsed = schema.safeParse(value);
  return parsed.success ? ok(parsed.data) : err(firstIssue(parsed.error, 'body'));
}

export type RouteBody<B extends z.ZodType | undefined> = B extends z.ZodType ? z.output<B> : undefined;

/** Validates a route's path parameters, each by its schema. Never throws. */
export function parseRouteParams<P extends string>(r: ApiRoute<P, z.ZodType | undefined, unknown>, params: Readonly<Record<string, string | undefined>>): Result<PathParams<P>, string> {
  const out: Record<string, string> = {};
  for (const [name, schema] of Object.entries<z.ZodType<string, string>>(r.params)) {
    const parsed = schema.safeParse(params[name]);
    if (!parsed.success) return err(firstIssue(parsed.error, name));
    out[name] = parsed.data;
  }
  return ok(out as PathParams<P>);
}

/** Validates a route's JSON body (a route without a body schema ignores whatever was sent). Never throws. */
export function parseRouteBody<B extends z.ZodType | undefined>(r: ApiRoute<string, B, unknown>, body: unknown): Result<RouteBody<B>, string> {
  if (r.body === undefined) return ok(undefined as RouteBody<B>);
  return parseApiBody(r.body, body) as Result<RouteBody<B>, string>;
}
