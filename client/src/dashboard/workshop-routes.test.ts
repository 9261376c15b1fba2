// Workshop hash routes: join links, the instructor's list and a workshop's dashboard; anything
// else falls through to the lab routes.
import { describe, expect, it } from 'vitest';
import { dashboardHref, parseWorkshopRoute } from './workshop-routes.ts';

describe('parseWorkshopRoute', () => {
  it('maps join links, the instructor page and dashboards', () => {
    expect(parseWorkshopRoute('#/join/AbCdEf_-0123')).toEqual({ page: 'join', token: 'AbCdEf_-0123' });
    expect(parseWorkshopRoute('#/instructor')).toEqual({ page: 'instructor' });
    expect(parseWorkshopRoute('#/instructor/')).toEqual({ page: 'instructor' });
    expect(parseWorkshopRoute('#/instructor/workshops/w-1')).toEqual({ page: 'dashboard', workshopId: 'w-1' });
    expect(parseWorkshopRoute(dashboardHref('w_2'))).toEqual({ page: 'dashboard', workshopId: 'w_2' });
  });

  it('leaves lab routes and malformed workshop routes alone', () => {
    for (const hash of ['', '#/', '#/labs/etcd', '#/join/short', '#/join/../../x', '#/instructor/workshops/', '#/instructor/workshops/a/b', '#/instructor/workshops/a%2Fb']) {
      expect(parseWorkshopRoute(hash)).toBeUndefined();
    }
  });
});
