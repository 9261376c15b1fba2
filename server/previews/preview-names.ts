// The names previews are served at: one origin per preview, `<token>.<suffix>`, so an app that uses
// absolute paths (/wp-admin/, /static/…) works, and each preview is its own origin apart from the app's.
import type { Config } from '../config.ts';
import { isLoopbackBind } from '../http/solo-mode.ts';

export interface PreviewNames {
  readonly scheme: 'http' | 'https';
  /** e.g. "preview.localhost" or "preview.labs.example.org". */
  readonly suffix: string;
  /** The port in preview URLs (the listening port, or the public URL's). */
  readonly port: number;
}

export type PreviewNaming = { on: true; names: PreviewNames } | { on: false; reason: string };

/** A preview token is a DNS label: 26 lowercase base32 characters (130 random bits). */
export const PREVIEW_TOKEN = /^[a-z2-7]{26}$/;

/**
 * Where previews live on this server. A loopback server without a public URL uses
 * `*.preview.localhost` (browsers resolve every `*.localhost` name to loopback); anything else
 * needs LABWRIGHT_PREVIEW_DOMAIN, a wildcard name its browsers resolve to this server.
 */
export function previewNaming(config: Readonly<Pick<Config, 'bind' | 'publicUrls' | 'previewDomain'>>, listenPort: number): PreviewNaming {
  const pub = config.publicUrls[0];
  const fromPublic = (): { scheme: 'http' | 'https'; port: number } => {
    if (!pub) return { scheme: 'http', port: listenPort };
    const u = new URL(pub);
    const scheme = u.protocol === 'https:' ? 'https' : 'http';
    return { scheme, port: u.port === '' ? (scheme === 'https' ? 443 : 80) : Number(u.port) };
  };
  if (config.previewDomain) return { on: true, names: { suffix: config.previewDomain, ...fromPublic() } };
  if (isLoopbackBind(config.bind) && !pub) return { on: true, names: { scheme: 'http', suffix: 'preview.localhost', port: listenPort } };
  return {
    on: false,
    reason:
      'previews are off on this server: it is reached at names other than localhost, so previews need their own wildcard name — ' +
      'set LABWRIGHT_PREVIEW_DOMAIN (e.g. preview.labs.example.org, with *.preview.labs.example.org pointing at this server, in DNS and in the proxy)',
  };
}

const defaultPort = (n: PreviewNames): number => (n.scheme === 'https' ? 443 : 80);

/** The origin of the preview with this token, e.g. http://abc….preview.localhost:8080. */
export function previewOrigin(n: PreviewNames, token: string): string {
  const port = n.port === defaultPort(n) ? '' : `:${n.port}`;
  return `${n.scheme}://${token}.${n.suffix}${port}`;
}

/** Whether a Host header is under the preview suffix at all (any label, the right port or none). */
export function isPreviewHost(n: PreviewNames, host: string | undefined): boolean {
  return previewLabel(n, host) !== undefined;
}

/**
 * The token a Host header names, if it is exactly `<token>.<suffix>` with the previews' port (or
 * without a port when it is the scheme's default); undefined for anything else.
 */
export function previewTokenOf(n: PreviewNames, host: string | undefined): string | undefined {
  const label = previewLabel(n, host);
  return label !== undefined && PREVIEW_TOKEN.test(label) ? label : undefined;
}

function previewLabel(n: PreviewNames, host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const h = host.trim().toLowerCase();
  const withPort = `.${n.suffix}:${n.port}`;
  const bare = `.${n.suffix}`;
  let label: string | undefined;
  if (h.endsWith(withPort)) label = h.slice(0, -withPort.length);
  else if (n.port === defaultPort(n) && h.endsWith(bare)) label = h.slice(0, -bare.length);
  else if (h.endsWith(bare) || h.includes(`${bare}:`)) label = ''; // under the suffix, wrong port: still ours to refuse
  return label === undefined ? undefined : label;
}
