// The JSON API, relative to the page's base URL so that the app works under any base path.
import type { LabSummary, LabView } from '../../common/lab.ts';

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

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(new URL(path, document.baseURI), { headers: { Accept: 'application/json' } });
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, e?.code ?? 'http', e?.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}

export const fetchLabs = (): Promise<LabSummary[]> => getJson('api/labs');
export const fetchLab = (id: string): Promise<LabView> => getJson(`api/labs/${encodeURIComponent(id)}`);
