// The HTTP contract's schemas and helpers: a wrong body is refused with a message naming the
// field, names are tidied before they are shown to others, and paths are filled safely.
import { describe, expect, it } from 'vitest';
import { API, MAX_CAPACITY, apiErrorOf, fillPath, parseApiBody, parseRouteBody, parseRouteParams, workshopSpec } from './http-api.ts';

const error = <T>(r: { ok: true; value: T } | { ok: false; error: string }): string => (r.ok ? 'accepted' : r.error);

describe('request bodies', () => {
  it('accepts a good workshop spec and names the wrong field of a bad one', () => {
    expect(parseApiBody(workshopSpec, { labId: 'etcd', capacity: 5, minutes: 60 })).toEqual({ ok: true, value: { labId: 'etcd', capacity: 5, minutes: 60 } });
    expect(error(parseApiBody(workshopSpec, { labId: 'etcd', capacity: 0, minutes: 60 }))).toBe(`capacity: capacity must be a whole number from 1 to ${MAX_CAPACITY}`);
    expect(error(parseApiBody(workshopSpec, { labId: 'etcd', capacity: '5', minutes: 60 }))).toMatch(/^capacity: /);
    expect(error(parseApiBody(workshopSpec, { labId: 'etcd', capacity: 2.5, minutes: 60 }))).toMatch(/^capacity: /);
    expect(error(parseApiBody(workshopSpec, { labId: '../etc', capacity: 5, minutes: 60 }))).toBe('labId: a lab id is lower-case letters, digits and dashes');
    expect(error(parseApiBody(workshopSpec, { labId: 'etcd', capacity: 5 }))).toMatch(/^minutes: the duration is a whole number of minutes from 1 to 10080$/);
  });

  it('says "body" when the body is not an object at all', () => {
    for (const body of [undefined, null, [], 'text', 7]) {
      expect(error(parseRouteBody(API.createWorkshop, body))).toBe('body: send a JSON object (Content-Type: application/json)');
    }
  });

  it('tidies a display name and refuses empty, long and control-character names', () => {
    expect(parseRouteBody(API.join, { name: '  Ada \t Lovelace ' })).toEqual({ ok: true, value: { name: 'Ada Lovelace' } });
    expect(parseRouteBody(API.join, { name: 'e\u0301' })).toEqual({ ok: true, value: { name: '\u00e9' } });
    expect(error(parseRouteBody(API.join, { name: '   ' }))).toBe('name: enter a name of 1 to 40 characters');
    expect(error(parseRouteBody(API.join, { name: 'x'.repeat(41) }))).toBe('name: enter a name of 1 to 40 characters');
    expect(error(parseRouteBody(API.join, { name: 42 }))).toBe('name: enter a name of 1 to 40 characters');
    expect(error(parseRouteBody(API.join, { name: 'Eve\u202egnp.exe' }))).toMatch(/^name: .*control or formatting/);
  });

  it('keeps the credential to a bounded string', () => {
    expect(parseRouteBody(API.instructorLogin, { token: 't' })).toEqual({ ok: true, value: { token: 't' } });
    expect(error(parseRouteBody(API.instructorLogin, { token: 'x'.repeat(513) }))).toMatch(/^token: /);
    expect(error(parseRouteBody(API.instructorLogin, { token: ['a'] }))).toMatch(/^token: /);
  });

  it('a route without a body schema ignores whatever was sent', () => {
    expect(parseRouteBody(API.endWorkshop, { anything: true })).toEqual({ ok: true, value: undefined });
  });
});

describe('path parameters', () => {
  it('checks each parameter by its schema and names the wrong one', () => {
    expect(parseRouteParams(API.lab, { id: 'etcd' })).toEqual({ ok: true, value: { id: 'etcd' } });
    expect(error(parseRouteParams(API.lab, { id: '..' }))).toBe('id: a lab id is lower-case letters, digits and dashes');
    expect(error(parseRouteParams(API.resetAttendee, { id: 'wAbc', attendee: 'a/b' }))).toBe('attendee: not a valid id');
    expect(error(parseRouteParams(API.joinInfo, {}))).toMatch(/^token: /);
  });

  it('fills a route pattern, encoding each parameter', () => {
    expect(fillPath(API.resetAttendee.path, { id: 'w1', attendee: 'a/../b' })).toBe('/workshops/w1/attendees/a%2F..%2Fb/reset');
    expect(fillPath(API.labs.path, {})).toBe('/labs');
  });
});

describe('error bodies', () => {
  it('reads the error body and nothing that only looks like one', () => {
    expect(apiErrorOf({ error: { code: 'not-found', message: 'no lab' } })).toEqual({ code: 'not-found', message: 'no lab' });
    expect(apiErrorOf('<html>Bad gateway</html>')).toBeUndefined();
    expect(apiErrorOf({ error: 'x' })).toBeUndefined();
    expect(apiErrorOf({ error: { code: 1, message: 'm' } })).toBeUndefined();
  });
});
