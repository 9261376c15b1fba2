// The page's one JSON API client: every call goes through request(), typed by the route table in
// common/http-api.ts and relative to the page's base URL (so the app works under any base path).
// An error answer becomes an ApiError whose message a page can show as it is.
import type { z } from 'zod';
import type { ApiRoute, OpenPreview, PathParams, WorkshopSpec } from '../../common/http-api.ts';
import { API, apiErrorOf, fillPath } from '../../common/http-api.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type BodyArg<B> = B extends z.ZodType ? [body: z.input<B>] : [];

/** Calls one route of the API; resolves to its answer (undefined for a 204), rejects with an ApiError. */
export async function request<P extends string, B extends z.ZodType | undefined, A>(route: ApiRoute<P, B, A>, params: PathParams<P>, ...[body]: BodyArg<B>): Promise<A> {
  const url = new URL(`api${fillPath(route.path, params)}`, document.baseURI);
  const res = await fetch(url, {
    method: route.method,
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: a proxy's error page, say; the status below says what happened.
  }
  if (!res.ok) {
    const e = apiErrorOf(json);
    throw new ApiError(res.status, e?.code ?? 'http', e?.message ?? `the server answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  }
  return json as A;
}

export const fetchLabs = () => request(API.labs, {});
export const fetchLab = (id: string) => request(API.lab, { id });
export const whoAmI = () => request(API.instructorMe, {});
export const login = (token: string) => request(API.instructorLogin, {}, { token });
export const logout = () => request(API.instructorLogout, {});
export const listWorkshops = () => request(API.workshops, {});
export const createWorkshop = (spec: WorkshopSpec) => request(API.createWorkshop, {}, spec);
export const workshopSnapshot = (id: string) => request(API.workshop, { id });
export const extendWorkshop = (id: string, minutes: number) => request(API.extendWorkshop, { id }, { minutes });
export const endWorkshop = (id: string) => request(API.endWorkshop, { id });
export const setBootAhead = (id: string, on: boolean) => request(API.setBootAhead, { id }, { on });
export const moveWorkshop = (id: string) => request(API.moveWorkshop, { id });
export const resetAttendee = (id: string, attendee: string) => request(API.resetAttendee, { id, attendee });
export const resetAttendeeStep = (id: string, attendee: string) => request(API.resetAttendeeStep, { id, attendee });
export const catchUp = (id: string, step: number, attendee?: string) => request(API.catchUp, { id }, attendee === undefined ? { step } : { step, attendee });
export const fetchPreviews = (labId: string) => request(API.previews, { id: labId });
export const openPreview = (labId: string, body: OpenPreview) => request(API.openPreview, { id: labId }, body);
export const joinInfo = (token: string) => request(API.joinInfo, { token });
export const join = (token: string, name: string) => request(API.join, { token }, { name });
