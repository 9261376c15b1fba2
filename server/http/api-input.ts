// Reads a request through the shared API contract (common/http-api.ts): a bounded JSON body parser
// whose failures are error bodies, and the route's path parameters and body validated by its
// schemas — anything wrong is answered 400 with a message naming the field, before the route runs.
import type { Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { ApiRoute, PathParams, RouteBody } from '../../common/http-api.ts';
import { parseRouteBody, parseRouteParams } from '../../common/http-api.ts';
import { sendApiError } from './api-error.ts';

/** Every API body is a small JSON object (a name, a credential, a few numbers). */
export const MAX_JSON_BODY_BYTES = 4 * 1024;

/**
 * Reads a JSON body of at most limitBytes into req.body (undefined for no body or another type).
 * Not express.json(): past its limit that one keeps reading (and discarding) until the client
 * stops, so an endless upload held a connection and a core forever. Here a body past the bound is
 * answered 413 at once and its connection closed; one that is not JSON is answered 400. Both are
 * error bodies, not express's HTML page.
 */
export function jsonBody(limitBytes = MAX_JSON_BODY_BYTES): RequestHandler {
  return (req, res, next) => {
    const length = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (!hasBody || !req.is(['application/json', '+json'])) {
      next();
      return;
    }
    const refuse = (status: number, code: 'too-large' | 'bad-request', message: string): void => {
      req.pause();
      req.removeAllListeners('data');
      // Answer, then drop the connection: whatever the client still sends is never read.
      res.setHeader('Connection', 'close');
      res.once('finish', () => req.socket.destroy());
      sendApiError(res, status, code, message);
    };
    const tooLarge = `the request body is larger than ${limitBytes} bytes`;
    if (length !== undefined && !(Number(length) <= limitBytes)) {
      refuse(413, 'too-large', tooLarge);
      return;
    }
    const encoding = req.headers['content-encoding'];
    const charset = /;\s*charset=["']?([^;"']+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if ((encoding !== undefined && encoding !== 'identity') || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
      refuse(415, 'bad-request', 'body: send uncompressed UTF-8 JSON');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        done = true;
        refuse(413, 'too-large', tooLarge);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      if (done) return;
      done = true;
      if (size === 0) {
        next();
        return;
      }
      try {
        req.body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      } catch {
        sendApiError(res, 400, 'bad-request', 'body: not valid JSON');
        return;
      }
      next();
    });
    req.once('error', (e) => {
      if (done) return;
      done = true;
      next(e);
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
