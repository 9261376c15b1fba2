// The workshop and instructor JSON API, relative to the page's base URL (see api.ts).
import type { DashboardSnapshot, WorkshopInfo } from '../../../common/workshop.ts';
import { ApiError } from '../api.ts';

export async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(new URL(path, document.baseURI), {
    method,
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? 'http', e?.message ?? `HTTP ${res.status}`);
  }
  return json as T;
}

export const whoAmI = (): Promise<{ instructor: boolean }> => call('GET', 'api/instructor/me');
export const login = (token: string): Promise<void> => call('POST', 'api/instructor/login', { token });
export const logout = (): Promise<void> => call('POST', 'api/instructor/logout');
export const listWorkshops = (): Promise<WorkshopInfo[]> => call('GET', 'api/workshops');
export const createWorkshop = (spec: { labId: string; capacity: number; minutes: number }): Promise<WorkshopInfo> => call('POST', 'api/workshops', spec);
export const workshopSnapshot = (id: string): Promise<DashboardSnapshot> => call('GET', `api/workshops/${encodeURIComponent(id)}`);
export const extendWorkshop = (id: string, minutes: number): Promise<WorkshopInfo> => call('POST', `api/workshops/${encodeURIComponent(id)}/extend`, { minutes });
export const endWorkshop = (id: string): Promise<WorkshopInfo> => call('POST', `api/workshops/${encodeURIComponent(id)}/end`);
export const resetAttendee = (id: string, attendee: string): Promise<void> =>
  call('POST', `api/workshops/${encodeURIComponent(id)}/attendees/${encodeURIComponent(attendee)}/reset`);

export interface JoinInfo {
  labId: string;
  labTitle: string;
  state: 'open' | 'full' | 'ended' | 'expired';
  expiresAt: number;
  you: { name: string } | null;
}
export const joinInfo = (token: string): Promise<JoinInfo> => call('GET', `api/join/${encodeURIComponent(token)}`);
export const join = (token: string, name: string): Promise<{ labId: string; resumed: boolean }> => call('POST', `api/join/${encodeURIComponent(token)}`, { name });
