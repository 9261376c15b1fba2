// Sessions handed out as a cookie but not yet needed durably (a visitor who loaded the page and
// has not opened a lab): kept only in memory, at most `max` of them, least recently used dropped
// first, so a flood of cookieless requests costs bounded memory and writes nothing to disk.

export interface ProvisionalSession {
  readonly id: string;
  readonly createdAt: number;
}

export class ProvisionalSessions {
  readonly #byId = new Map<string, { session: ProvisionalSession; lastSeen: number }>();

  constructor(
    private readonly max: number,
    /** An entry unused for this long is gone, as a durable session would be. */
    private readonly idleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  add(session: ProvisionalSession): void {
    this.#byId.set(session.id, { session, lastSeen: this.now() });
    while (this.#byId.size > this.max) {
      const first = this.#byId.keys().next().value;
      if (first === undefined) break;
      this.#byId.delete(first);
    }
  }

  /** The session, marked as just used; undefined when unknown, dropped or idle too long. */
  get(id: string): ProvisionalSession | undefined {
    const e = this.#byId.get(id);
    if (!e) return undefined;
    this.#byId.delete(id);
    const now = this.now();
    if (now - e.lastSeen > this.idleMs) return undefined;
    e.lastSeen = now;
    // Re-inserted at the end: the map's first key is always the least recently used.
    this.#byId.set(id, e);
    return e.session;
  }

  /** Looks without marking it used. */
  peek(id: string): ProvisionalSession | undefined {
    const e = this.#byId.get(id);
    return e && this.now() - e.lastSeen <= this.idleMs ? e.session : undefined;
  }

  delete(id: string): boolean {
    return this.#byId.delete(id);
  }

  get size(): number {
    return this.#byId.size;
  }

  clear(): void {
    this.#byId.clear();
  }
}
