// Hash routes (#/ and #/labs/<id>): the page is always served at the base path, so deep links
// work behind any reverse proxy without server-side route knowledge.
export type Route = { page: 'list' } | { page: 'lab'; labId: string } | { page: 'not-found' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/') return { page: 'list' };
  const m = /^\/labs\/([a-z0-9][a-z0-9-]*)\/?$/.exec(path);
  return m?.[1] ? { page: 'lab', labId: m[1] } : { page: 'not-found' };
}

export const labHref = (labId: string): string => `#/labs/${labId}`;
export const listHref = '#/';
