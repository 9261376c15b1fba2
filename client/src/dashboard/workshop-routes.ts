// Hash routes of workshop mode: #/join/<token>, #/instructor, #/instructor/workshops/<id>.
export type WorkshopRoute = { page: 'join'; token: string } | { page: 'instructor' } | { page: 'dashboard'; workshopId: string };

export function parseWorkshopRoute(hash: string): WorkshopRoute | undefined {
  const path = hash.replace(/^#/, '');
  let m = /^\/join\/([A-Za-z0-9_-]{10,100})\/?$/.exec(path);
  if (m?.[1]) return { page: 'join', token: m[1] };
  if (/^\/instructor\/?$/.test(path)) return { page: 'instructor' };
  m = /^\/instructor\/workshops\/([A-Za-z0-9_-]{1,40})\/?$/.exec(path);
  if (m?.[1]) return { page: 'dashboard', workshopId: m[1] };
  return undefined;
}

export const dashboardHref = (id: string): string => `#/instructor/workshops/${id}`;
export const instructorHref = '#/instructor';
