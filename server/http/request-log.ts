// One structured log line per HTTP request, written when the response finishes.
import type { RequestHandler } from 'express';
import type { Logger } from '../log.ts';

export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // originalUrl without the query: queries are not used by the app and could carry anything.
      const path = req.originalUrl.split('?')[0];
      log.info({ method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}
