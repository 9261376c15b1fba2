// Reads a request through the shared API contract (common/http-api.ts): a bounded JSON body parser
// whose failures are error bodies, and the route's path parameters and body validated by its
// schemas — anything wrong is answered 400 with a message naming the field, before the route runs.
import express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { ApiRoute, PathParams, RouteBody } from '../../common/http-api.ts';
import { parseRouteBody, parseRouteParams } from '../../common/http-api.ts';
import { sendApiError } from './api-error.ts';

/** Every API body is a small JSON object (a name, a credential, a few numbers). */
export const MAX_JSON_BODY_BYTES = 4 * 1024;

/**
 * express.json() with a size bound, whose failures are answered as error bodies (not express's
 * HTML page): 413 for a body past the bound (read no further), 400 for one that is not JSON.
 */
export function jsonBody(limitBytes = MAX_JSON_BODY_BYTES): RequestHandler {
  const parse = express.json({ limit: limitBytes });
  return (req, res, next) => {
    void parse(req, res, (e?: unknown) => {
      if (e === undefined) {
        next();
        return;
      }
      const { type, status } = e as { type?: unknown; status?: unknown };
      if (type === 'entity.too.large') sendApiError(res, 413, 'too-large', `the request body is larger than ${limitBytes} bytes`);
      else if (type === 'entity.parse.failed') sendApiError(res, 400, 'bad-request', 'body: not valid JSON');
      else if (typeof status === 'number' && status >= 400 && status < 500) sendApiError(res, status, 'bad-request', `body: ${e instanceof Error ? e.message : 'unreadable'}`);
      else next(e);
    });
  };
}

/** The route's path parameters, or undefined once a 400 naming the wrong one was sent. */
export function readParams<P extends string>(route: ApiRoute<P, z.ZodType | undefined, unknown>, req: Request, res: Response): PathParams<P> | undefined {
  const parsed = parseRouteParams(route, req.params as Record<string, string | undefined>);
  if (parsed.ok) return parsed.value;
  sendApiError(res, 400, 'bad-request', parsed.error);
  return undefined;
}

/** The route's body as its schema outputs it, or undefined once a 400 naming the wrong field was sent. */
export function readBody<B extends z.ZodType>(route: ApiRoute<string, B, unknown>, req: Request, res: Response): RouteBody<B> | undefined {
  const parsed = parseRouteBody(route, req.body);
  if (parsed.ok) return parsed.value;
  sendApiError(res, 400, 'bad-request', parsed.error);
  return undefined;
}

/** Sends a route's answer, typed by the contract (a route whose answer is void answers 204, no body). */
export function sendAnswer<A>(res: Response, _route: ApiRoute<string, z.ZodType | undefined, A>, ...[value, status]: A extends void ? [] : [value: A, status?: number]): void {
  if (value === undefined) res.status(204).end();
  else res.status(status ?? 200).json(value);
}
