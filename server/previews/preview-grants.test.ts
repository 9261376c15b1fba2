// Grants and tickets: a ticket works once, within its minute, on its own preview's origin only;
// an environment's end revokes its grants and leaves their names saying "ended".
import { describe, expect, it } from 'vitest';
import { PreviewGrants, TICKET_TTL_MS } from './preview-grants.ts';
import { loadConfig } from '../config.ts';
import { previewNaming, previewOrigin, previewTokenOf } from './preview-names.ts';

const target = { ownerSessionId: 'owner', labId: 'demo', envId: 'env1', host: 'host1', port: 80 };

describe('preview grants', () => {
  it('one origin per viewer and target; a ticket is good once, before it expires', () => {
    let now = 1000;
    const grants = new PreviewGrants(() => now);
    const a = grants.grant('owner', target);
    expect(grants.grant('owner', target)).toBe(a);
    expect(grants.grant('instructor', target).token).not.toBe(a.token);
    const t = grants.ticket(a);
    expect(grants.redeem(a.token, t)).toBe(a);
    expect(grants.redeem(a.token, t)).toBeUndefined();
    const late = grants.ticket(a);
    now += TICKET_TTL_MS;
    expect(grants.redeem(a.token, late)).toBeUndefined();
  });

  it('a ticket presented on another preview’s origin is refused (and used up)', () => {
    const grants = new PreviewGrants();
    const a = grants.grant('owner', target);
    const b = grants.grant('owner', { ...target, port: 81 });
    const t = grants.ticket(a);
    expect(grants.redeem(b.token, t)).toBeUndefined();
    expect(grants.redeem(a.token, t)).toBeUndefined();
  });

  it('the environment’s end revokes its grants; their names are remembered as ended', () => {
    const grants = new PreviewGrants();
    const a = grants.grant('owner', target);
    const other = grants.grant('owner', { ...target, envId: 'env2' });
    expect(grants.revokeEnvironment('env1')).toBe(1);
    expect(grants.byToken(a.token)).toBeUndefined();
    expect(grants.ended(a.token)).toBe(true);
    expect(grants.byToken(other.token)).toBe(other);
  });
});

describe('preview names', () => {
  it('loopback: <token>.preview.localhost on the server’s port; exactly that Host is a token', () => {
    const n = previewNaming({ bind: '127.0.0.1', publicUrls: [], previewDomain: undefined }, 8080);
    if (!n.on) throw new Error('expected previews on');
    const token = 'abcdefghijklmnopqrstuvwxyz';
    expect(previewOrigin(n.names, token)).toBe(`http://${token}.preview.localhost:8080`);
    expect(previewTokenOf(n.names, `${token}.preview.localhost:8080`)).toBe(token);
    expect(previewTokenOf(n.names, `${token}.preview.localhost:8081`)).toBeUndefined();
    expect(previewTokenOf(n.names, `${token}.preview.localhost`)).toBeUndefined();
    expect(previewTokenOf(n.names, `x.${token}.preview.localhost:8080`)).toBeUndefined();
    expect(previewTokenOf(n.names, 'localhost:8080')).toBeUndefined();
  });

  it('public URL: off without LABWRIGHT_PREVIEW_DOMAIN (the reason names it); with it, the public scheme and port', () => {
    const off = previewNaming({ bind: '127.0.0.1', publicUrls: ['https://labs.example.org/'], previewDomain: undefined }, 8080);
    expect(off.on ? '' : off.reason).toContain('LABWRIGHT_PREVIEW_DOMAIN');
    const on = previewNaming({ bind: '127.0.0.1', publicUrls: ['https://labs.example.org/'], previewDomain: 'preview.labs.example.org' }, 8080);
    if (!on.on) throw new Error('expected previews on');
    expect(previewOrigin(on.names, 'abcdefghijklmnopqrstuvwxyz')).toBe('https://abcdefghijklmnopqrstuvwxyz.preview.labs.example.org');
    expect(previewTokenOf(on.names, 'abcdefghijklmnopqrstuvwxyz.preview.labs.example.org')).toBe('abcdefghijklmnopqrstuvwxyz');
  });

  it('LABWRIGHT_PREVIEW_DOMAIN is a DNS name, lower-cased; anything else stops the start with the setting named', () => {
    expect(loadConfig({ LABWRIGHT_PREVIEW_DOMAIN: 'Preview.Labs.Example.org' }).previewDomain).toBe('preview.labs.example.org');
    expect(loadConfig({}).previewDomain).toBeUndefined();
    for (const bad of ['https://preview.example.org', 'preview.example.org:443', 'localhost', '*.example.org', '10.0.0.1']) {
      expect(() => loadConfig({ LABWRIGHT_PREVIEW_DOMAIN: bad }), bad).toThrow(/LABWRIGHT_PREVIEW_DOMAIN must be a DNS name/);
    }
  });
});
