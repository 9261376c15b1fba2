// Hash routes and the base-relative WebSocket URL: deep links and sub-path deployments rely on them.
import { describe, expect, it } from 'vitest';
import { parseRoute } from './router.ts';
import { socketUrl } from './ws-client.ts';

describe('parseRoute', () => {
  it('maps the hash to a page', () => {
    expect(parseRoute('')).toEqual({ page: 'list' });
    expect(parseRoute('#/')).toEqual({ page: 'list' });
    expect(parseRoute('#/labs/etcd')).toEqual({ page: 'lab', labId: 'etcd' });
    expect(parseRoute('#/labs/etcd/')).toEqual({ page: 'lab', labId: 'etcd' });
  });

  it('never turns a malformed id into a lab route', () => {
    for (const hash of ['#/labs/', '#/labs/../x', '#/labs/Etcd', '#/labs/a%2Fb', '#/labs/-x', '#/nope']) {
      expect(parseRoute(hash)).toEqual({ page: 'not-found' });
    }
  });
});

describe('socketUrl', () => {
  it('is {base}ws on the page origin, ws or wss by the page scheme', () => {
    expect(socketUrl('http://127.0.0.1:8080/')).toBe('ws://127.0.0.1:8080/ws');
    expect(socketUrl('https://labs.example/labwright/')).toBe('wss://labs.example/labwright/ws');
  });

  it('builds the dashboard endpoint the same way, without the page hash or query', () => {
    expect(socketUrl('https://labs.example/labwright/?x=1#/instructor/workshops/w1', 'dashboard-ws')).toBe('wss://labs.example/labwright/dashboard-ws');
  });
});
