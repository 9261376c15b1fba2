import { describe, expect, it } from 'vitest';
import { hostPolicy } from './host-policy.ts';

const machine = { addresses: ['127.0.0.1', '::1', '10.1.2.3', '2001:db8::7'], hostname: 'LabBox' };

describe('hostPolicy', () => {
  it('serves only the loopback names, with the listening port, when bound to loopback', () => {
    const p = hostPolicy({ bind: '127.0.0.1', port: 8080, publicUrls: [], machine });
    for (const h of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'LOCALHOST:8080']) expect(p.allowsHost(h)).toBe(true);
    for (const h of ['evil.example:8080', 'evil.example', '127.0.0.1:8081', '127.0.0.1', 'localhost.:8080', 'a.localhost:8080', '10.1.2.3:8080', 'labbox:8080', '', undefined]) {
      expect(p.allowsHost(h)).toBe(false);
    }
    expect([...p.origins].sort()).toEqual(['http://127.0.0.1:8080', 'http://[::1]:8080', 'http://localhost:8080']);
  });

  it('accepts the bare name on port 80, where browsers leave the port out', () => {
    const p = hostPolicy({ bind: '127.0.0.1', port: 80, publicUrls: [], machine });
    expect(p.allowsHost('localhost')).toBe(true);
    expect(p.allowsHost('localhost:80')).toBe(true);
    expect(p.allowsOrigin('http://localhost')).toBe(true);
  });

  it('matches Origin exactly: scheme, host and port, nothing else', () => {
    const p = hostPolicy({ bind: '127.0.0.1', port: 8080, publicUrls: [], machine });
    expect(p.allowsOrigin('http://127.0.0.1:8080')).toBe(true);
    expect(p.allowsOrigin('http://localhost:8080')).toBe(true);
    for (const o of ['http://127.0.0.1:8081', 'https://127.0.0.1:8080', 'http://evil.example:8080', 'http://127.0.0.1:8080/', 'null', '', undefined]) {
      expect(p.allowsOrigin(o)).toBe(false);
    }
  });

  it('adds the names of public URLs, https ones marked secure', () => {
    const p = hostPolicy({ bind: '127.0.0.1', port: 8080, publicUrls: ['https://labs.example.org/', 'http://lab.school.test:8000/lw/'], machine });
    expect(p.allowsHost('labs.example.org')).toBe(true);
    expect(p.allowsHost('labs.example.org:443')).toBe(true);
    expect(p.allowsHost('labs.example.org:8080')).toBe(false);
    expect(p.allowsHost('lab.school.test:8000')).toBe(true);
    expect(p.allowsHost('lab.school.test')).toBe(false);
    expect(p.allowsHost('127.0.0.1:8080')).toBe(true);
    expect(p.allowsOrigin('https://labs.example.org')).toBe(true);
    expect(p.allowsOrigin('http://labs.example.org')).toBe(false);
    expect(p.allowsOrigin('http://lab.school.test:8000')).toBe(true);
    expect(p.isHttpsName('labs.example.org')).toBe(true);
    expect(p.isHttpsName('lab.school.test:8000')).toBe(false);
    expect(p.isHttpsName('127.0.0.1:8080')).toBe(false);
  });

  it('on every interface serves loopback, this machine’s addresses and its host name', () => {
    const p = hostPolicy({ bind: '0.0.0.0', port: 8080, publicUrls: [], machine });
    for (const h of ['127.0.0.1:8080', '10.1.2.3:8080', '[2001:db8::7]:8080', 'labbox:8080']) expect(p.allowsHost(h)).toBe(true);
    expect(p.allowsHost('evil.example:8080')).toBe(false);
    expect(p.allowsOrigin('http://10.1.2.3:8080')).toBe(true);
  });

  it('on one other address serves only that address', () => {
    const p = hostPolicy({ bind: '10.1.2.3', port: 8080, publicUrls: [], machine });
    expect(p.allowsHost('10.1.2.3:8080')).toBe(true);
    expect(p.allowsHost('127.0.0.1:8080')).toBe(false);
  });

  it('allows the extra origins of LABWRIGHT_ORIGINS, normalised, but serves no new name for them', () => {
    const p = hostPolicy({ bind: '127.0.0.1', port: 8080, publicUrls: [], extraOrigins: ['https://Proxy.example:443/', 'not a url'], machine });
    expect(p.allowsOrigin('https://proxy.example')).toBe(true);
    expect(p.allowsHost('proxy.example')).toBe(false);
  });
});
