// SSH connections that carry terminal shells, kept apart from the checks' pooled connections:
// each carries a bounded number of shells, and more terminals on one host get more connections.
import type { ClientChannel, PseudoTtyOptions } from 'ssh2';
import type { Environment } from '../../provisioning/provider.ts';
import { SshConnection, SshError, sshTargetOf } from '../ssh/ssh-connection.ts';
import { installKeeper } from './keeper-binary.ts';

/**
 * sshd's MaxSessions is 10 per connection by default; a connection past it fails every new
 * channel with "open failed". 8 leaves headroom, and a per-connection cap also spreads 100
 * busy terminals over several TCP streams instead of one shared SSH window.
 */
export const SHELLS_PER_CONNECTION = 8;
/** An empty connection is kept this long, so a page reload does not pay a new SSH handshake. */
const IDLE_CLOSE_MS = 30_000;

interface Slot {
  conn: SshConnection;
  shells: number;
  idleTimer: NodeJS.Timeout | null;
}

export class ShellHub {
  readonly #slots = new Map<string, Slot[]>();
  /** Hosts (env/host) being checked for the session keeper: concurrent opens share one check. */
  readonly #keepers = new Map<string, Promise<void>>();

  /** Opens a channel on `host` of `env` running `command` with a PTY; rejects with SshError. */
  async open(env: Environment, host: string, pty: PseudoTtyOptions, command: string): Promise<ClientChannel> {
    const { k, slot: s } = this.#slotFor(env, host, (slot) => slot.shells < SHELLS_PER_CONNECTION);
    if (s.idleTimer) clearTimeout(s.idleTimer);
    s.idleTimer = null;
    // Counted before the await so that concurrent opens spread over connections.
    s.shells++;
    let channel: ClientChannel;
    try {
      await this.#keeperOn(k, s.conn);
      channel = await s.conn.shell(pty, command);
    } catch (e) {
      this.#done(k, s);
      throw e;
    }
    channel.once('close', () => this.#done(k, s));
    return channel;
  }

  /**
   * Connects to `host` ahead of its first terminal (hosts waiting in a pool for an attendee): the SSH
   * handshake and the keeper's copy are done before she opens it. The connection is kept, empty, until
   * its first shell closes or closeEnvironment. Rejects with SshError; a later open connects again.
   */
  async warm(env: Environment, host: string): Promise<void> {
    const { k, slot } = this.#slotFor(env, host, () => true);
    await this.#keeperOn(k, slot.conn);
  }

  /** The first connection to `host` of `env` that `fits`, made (not yet connected) when none does. */
  #slotFor(env: Environment, host: string, fits: (s: Slot) => boolean): { k: string; slot: Slot } {
    const info = env.hosts.find((h) => h.name === host);
    if (!info) throw new SshError('unreachable', `environment ${env.id} has no host ${host}`);
    const k = `${env.id}/${host}`;
    let slots = this.#slots.get(k);
    if (!slots) {
      slots = [];
      this.#slots.set(k, slots);
    }
    let slot = slots.find(fits);
    if (!slot) {
      slot = { conn: new SshConnection(sshTargetOf(env, info)), shells: 0, idleTimer: null };
      slots.push(slot);
    }
    return { k, slot };
  }

  /**
   * The session keeper on the host: checked before every shell (one exec on a warm connection; a host
   * restored from a snapshot may have lost it), copied there when missing.
   */
  #keeperOn(k: string, conn: SshConnection): Promise<void> {
    let p = this.#keepers.get(k);
    if (!p) {
      p = installKeeper((command, stdin) => conn.exec(command, { timeoutMs: 30_000, ...(stdin !== undefined ? { stdin } : {}) }));
      this.#keepers.set(k, p);
      const done = (): void => {
        if (this.#keepers.get(k) === p) this.#keepers.delete(k);
      };
      p.then(done, done);
    }
    return p;
  }

  #done(k: string, s: Slot): void {
    s.shells--;
    if (s.shells > 0) return;
    s.idleTimer = setTimeout(() => {
      const slots = this.#slots.get(k);
      if (!slots || s.shells > 0) return;
      s.conn.close();
      slots.splice(slots.indexOf(s), 1);
      if (slots.length === 0) this.#slots.delete(k);
    }, IDLE_CLOSE_MS);
    s.idleTimer.unref();
  }

  /** Number of SSH connections currently held (for tests and the bench). */
  get connectionCount(): number {
    let n = 0;
    for (const slots of this.#slots.values()) n += slots.length;
    return n;
  }

  closeEnvironment(envId: string): void {
    for (const [k, slots] of this.#slots) {
      if (!k.startsWith(`${envId}/`)) continue;
      for (const s of slots) {
        if (s.idleTimer) clearTimeout(s.idleTimer);
        s.conn.close();
      }
      this.#slots.delete(k);
    }
  }

  closeAll(): void {
    for (const k of [...this.#slots.keys()]) this.closeEnvironment(k.split('/')[0] ?? '');
  }
}
