// Sends the one shape of an HTTP error body (ApiErrorBody in common/http-api.ts), so the client can
// show a message without parsing prose.
import type { Response } from 'express';
import type { ApiErrorBody, ApiErrorCode } from '../../common/http-api.ts';

export type { ApiErrorBody, ApiErrorCode };

export function sendApiError(res: Response, status: number, code: ApiErrorCode, message: string): void {
  const body: ApiErrorBody = { error: { code, message } };
  res.status(status).json(body);
}
