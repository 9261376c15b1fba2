// The one shape of an HTTP error body, so the client can show a message without parsing prose.
import type { Response } from 'express';

export type ApiErrorCode = 'unauthorized' | 'forbidden' | 'not-found' | 'bad-request' | 'lab-broken' | 'workshop-full' | 'workshop-ended' | 'too-many-attempts' | 'misdirected' | 'unavailable' | 'internal';

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

export function sendApiError(res: Response, status: number, code: ApiErrorCode, message: string): void {
  const body: ApiErrorBody = { error: { code, message } };
  res.status(status).json(body);
}
