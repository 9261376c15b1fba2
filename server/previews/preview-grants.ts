// Who may see which preview: a grant per (viewer session, environment, host, port) with its own
// origin token and cookie secret, and one-time tickets the app hands out to move a viewer onto
// that origin. All in memory: a restart or the environment's end forgets them (links then 421).
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface PreviewTarget {
  /** The session whose environment it is (the attendee). */
  ownerSessionId: string;
  labId: string;
  envId: string;
  host: string;
  port: number;
}

export interface PreviewGrant extends PreviewTarget {
  /** The session looking (the owner, or the instructor). */
  viewerSessionId: string;
  /** The preview's DNS label: not secret (it shows in the address bar), only unguessable. */
  token: string;
  /** The value of the preview cookie on that origin: the capability itself. */
  secret: string;
}

/** A ticket is good for this long, once. */
export const TICKET_TTL_MS = 60_000;
/** Grants one viewer may hold (oldest dropped first): previews are few per lab. */
const MAX_GRANTS_PER_VIEWER = 64;

const ENDED_MEMORY_MS = 3_600_000;
const MAX_ENDED = 10_000;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** 26 base32 characters: 130 random bits, a valid DNS label. */
function newToken(): string {
  const bytes = randomBytes(26);
  let out = '';
  for (const b of bytes) out += BASE32[b & 31];
  return out;
}

const secretOf = (): string => randomBytes(32).toString('base64url');

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class PreviewGrants {
  readonly #byToken = new Map<string, PreviewGrant>();
  readonly #byKey = new Map<string, PreviewGrant>();
  readonly #tickets = new Map<string, { token: string; expires: number }>();
  /** Tokens of revoked grants, so their origin can say "ended" rather than "unknown" for a while. */
  readonly #ended = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The viewer's grant for this target, made on first use; the same origin every time while the environment lives. */
  grant(viewerSessionId: string, t: PreviewTarget): PreviewGrant {
    const key = `${viewerSessionId}\n${t.envId}\n${t.host}\n${t.port}`;
    const existing = this.#byKey.get(key);
    if (existing && existing.ownerSessionId === t.ownerSessionId && existing.labId === t.labId) return existing;
    const mine = [...this.#byKey.values()].filter((g) => g.viewerSessionId === viewerSessionId);
    if (mine.length >= MAX_GRANTS_PER_VIEWER && mine[0]) this.#drop(mine[0]);
    const g: PreviewGrant = { ...t, viewerSessionId, token: newToken(), secret: secretOf() };
    this.#byKey.set(key, g);
    this.#byToken.set(g.token, g);
    return g;
  }

  /** A one-time ticket that the preview's origin exchanges for its cookie. */
  ticket(g: PreviewGrant): string {
    this.#sweepTickets();
    const ticket = randomBytes(32).toString('base64url');
    this.#tickets.set(ticket, { token: g.token, expires: this.now() + TICKET_TTL_MS });
    return ticket;
  }

  /** The grant a ticket was made for, if it is unused, unexpired and presented on that grant's own origin. Used up either way. */
  redeem(token: string, ticket: string): PreviewGrant | undefined {
    const t = this.#tickets.get(ticket);
    if (!t) return undefined;
    this.#tickets.delete(ticket);
    if (t.expires <= this.now() || t.token !== token) return undefined;
    return this.#byToken.get(token);
  }

  byToken(token: string): PreviewGrant | undefined {
    return this.#byToken.get(token);
  }

  /** The environment ended or was reset: its previews are gone (their names are refused from now on). */
  revokeEnvironment(envId: string): number {
    let n = 0;
    for (const g of [...this.#byKey.values()]) {
      if (g.envId === envId) {
        this.#drop(g);
        this.#ended.set(g.token, this.now() + ENDED_MEMORY_MS);
        n++;
      }
    }
    return n;
  }

  /** The viewer's session ended (logout, expiry). */
  revokeViewer(sessionId: string): void {
    for (const g of [...this.#byKey.values()]) if (g.viewerSessionId === sessionId || g.ownerSessionId === sessionId) this.#drop(g);
  }

  /** Whether this token's grant was revoked because its environment ended (remembered for an hour). */
  ended(token: string): boolean {
    const until = this.#ended.get(token);
    if (until !== undefined && until <= this.now()) this.#ended.delete(token);
    return until !== undefined && until > this.now();
  }

  get size(): number {
    return this.#byToken.size;
  }

  #drop(g: PreviewGrant): void {
    this.#byToken.delete(g.token);
    this.#byKey.delete(`${g.viewerSessionId}\n${g.envId}\n${g.host}\n${g.port}`);
    for (const [k, t] of this.#tickets) if (t.token === g.token) this.#tickets.delete(k);
  }

  #sweepTickets(): void {
    const now = this.now();
    for (const [k, until] of this.#ended) if (until <= now || this.#ended.size > MAX_ENDED) this.#ended.delete(k);
    for (const [k, t] of this.#tickets) if (t.expires <= now) this.#tickets.delete(k);
  }
}
