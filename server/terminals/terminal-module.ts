// Plugs terminals into the WebSocket gateway: one TerminalMux per connection handles term-*,
// and every shell opens on the connection's own environment (never one the browser names).
import type { PseudoTtyOptions } from 'ssh2';
import type { GatewayModule } from '../ws/gateway-module.ts';
import type { ConnectionContext } from '../ws/connection-context.ts';
import { WorkspaceError } from '../workspaces/workspace-manager.ts';
import type { WorkspaceManager } from '../workspaces/workspace-manager.ts';
import type { MirrorPolicy } from './mirror-policy.ts';
import { soloMirrorPolicy } from './mirror-policy.ts';
import { ShellHub } from './shell-hub.ts';
import type { ShellOpener, TerminalBridge } from './terminal-bridge.ts';
import type { TermMessage } from './terminal-mux.ts';
import { TerminalMux } from './terminal-mux.ts';
import type { SshPool } from '../ssh/ssh-pool.ts';
import type { PaneAccess } from './pane-interrupt.ts';
import { PANE_STATE_COMMAND, attachCommand, mirrorCommand, parsePaneState, sendKeysCommand } from './keeper-command.ts';

export interface TerminalModuleOptions {
  workspaces: WorkspaceManager;
  /** Connections that look into a host's terminal session for a Run button (term-probe, term-interrupt); without it those answer `unknown`. */
  ssh?: SshPool;
  mirrorPolicy?: MirrorPolicy;
  hub?: ShellHub;
  highWater?: number;
  lowWater?: number;
  /**
   * The keeper session a terminal attaches to. Default: one fixed session per host, shared by
   * every tab and reconnect. The bench gives each terminal its own shell this way.
   */
  sessionName?: (host: string, channel: number, connectionId: string) => string;
  /**
   * For the instructor dashboard's socket: the connection has no environment of its own and may
   * only open read-only mirrors (granted by mirrorPolicy); hostsOf names the lab's hosts.
   */
  mirrorsOnly?: { hostsOf: (labId: string) => readonly string[] | undefined };
  /**
   * Terminals one session may have open at once over all its pages (each is an SSH channel the
   * server holds); past that term-open is answered `too-many`. Default 64.
   */
  maxTerminalsPerSession?: number;
  /**
   * Take the keyboard (server/help/): whether `requester`'s mirrors may type into `owner`'s
   * terminals now, and a feed of owners whose keyboard changed hands (their mirrors reopen with
   * or without the keeper's read-only flag). Absent: mirrors are read-only, always.
   */
  mirrorKeyboard?: { mayType(requester: string, owner: string): boolean; onChange(listener: (owner: string) => void): () => void };
}

export interface TerminalModule extends GatewayModule {
  /** The mux of a connection (tests and the bench look at flow-control figures through it). */
  muxOf(ctx: ConnectionContext): TerminalMux | undefined;
  /** Every open terminal of every connection (tests and the bench read flow-control figures). */
  bridges(): TerminalBridge[];
  readonly hub: ShellHub;
  close(): void;
}

/** xterm.js speaks xterm; with 256 colours the shell's tools use the full palette. */
const TERM = 'xterm-256color';

export function createTerminalModule(opts: TerminalModuleOptions): TerminalModule {
  const hub = opts.hub ?? new ShellHub();
  const policy = opts.mirrorPolicy ?? soloMirrorPolicy;
  const muxes = new WeakMap<ConnectionContext, TerminalMux>();
  const live = new Set<TerminalMux>();
  const bySession = new Map<string, Set<TerminalMux>>();
  const maxPerSession = opts.maxTerminalsPerSession ?? 64;
  const openOf = (sessionId: string): number => {
    let n = 0;
    for (const m of bySession.get(sessionId) ?? []) n += m.channels.size;
    return n;
  };
  const unsubscribe = opts.workspaces.onRelease((env) => hub.closeEnvironment(env.id));
  const keyboard = opts.mirrorKeyboard;
  const offKeyboard = keyboard?.onChange((owner) => {
    for (const m of live) m.reopenMirrorsOf(owner);
  });

  function muxFor(ctx: ConnectionContext): TerminalMux | undefined {
    let mux = muxes.get(ctx);
    if (mux) return mux;
    // Acquire here too (not only in the workspace module's onConnect) so that a term-open
    // racing the hello's onConnect still finds the environment being made.
    const hosts = opts.mirrorsOnly
      ? [...(opts.mirrorsOnly.hostsOf(ctx.labId) ?? [])]
      : opts.workspaces.acquire(ctx.session.id, ctx.labId).hosts.map((h) => h.name);
    const sessionId = ctx.session.id;
    const labId = ctx.labId;
    const openerFor = (host: string, mirror: { sessionId: string; labId: string } | null, channel: number): ShellOpener => {
      return async (size) => {
        const owner = mirror ?? { sessionId, labId };
        // acquire, not whenReady, for mirrors too: after a restart the attendee's environment is
        // adopted by whoever looks first, the attendee or the instructor.
        let workspace;
        try {
          workspace = opts.workspaces.acquire(owner.sessionId, owner.labId);
        } catch (e) {
          // The workshop ended: the page's own socket is closed with the refusal's code (no retry).
          if (!mirror && e instanceof WorkspaceError && e.closeCode !== undefined) ctx.close(e.closeCode, e.message);
          throw e;
        }
        const env = await workspace.whenReady();
        const pty: PseudoTtyOptions = { term: TERM, cols: size.cols, rows: size.rows };
        const command = mirror
          ? mirrorCommand(keyboard?.mayType(sessionId, mirror.sessionId) === true)
          : attachCommand(opts.sessionName?.(host, channel, ctx.connectionId));
        const shell = await hub.open(env, host, pty, command);
        // Released while the shell connected (a reset, the workshop's end): never a shell on hosts
        // being destroyed; the bridge tries again and gets the new ones, or the refusal.
        if (opts.workspaces.get(owner.sessionId, owner.labId) !== workspace) {
          shell.close();
          throw new WorkspaceError('released', 'the lab hosts were replaced while the terminal connected');
        }
        return shell;
      };
    };
    // The pane of the connection's own environment, and only of the one shared session (a bench's
    // per-terminal sessions have none to look into).
    const panes = (host: string): PaneAccess | undefined => {
      const ws = opts.workspaces.get(sessionId, labId);
      const env = ws?.state === 'ready' ? ws.env : undefined;
      if (!opts.ssh || opts.sessionName || opts.mirrorsOnly || !env) return undefined;
      const conn = opts.ssh.get(env, host);
      if (!conn) return undefined;
      const run = async (command: string): Promise<string> => {
        const r = await conn.exec(command, { timeoutMs: 10_000 });
        if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
        return r.stdout;
      };
      return { look: () => run(PANE_STATE_COMMAND).then(parsePaneState), press: (key) => run(sendKeysCommand(key)).then(() => undefined) };
    };
    mux = new TerminalMux({
      hosts,
      authorizeMirror: (mirrorOf) => policy({ requester: sessionId, labId, mirrorOf }),
      openerFor,
      panes,
      send: (m) => ctx.send(m),
      sendError: (code, message, ref) => ctx.sendError(code, message, ref),
      log: ctx.log.child({ component: 'terminals' }),
      ...(opts.mirrorsOnly ? {} : { onReachability: (host: string, reachable: boolean) => opts.workspaces.reportHost(sessionId, labId, host, reachable) }),
      ...(opts.highWater !== undefined ? { highWater: opts.highWater } : {}),
      ...(opts.lowWater !== undefined ? { lowWater: opts.lowWater } : {}),
      bufferedAmount: () => ctx.bufferedAmount,
      ...(keyboard ? { mayTypeMirror: (grant: { sessionId: string }) => keyboard.mayType(sessionId, grant.sessionId) } : {}),
    });
    muxes.set(ctx, mux);
    const m = mux;
    live.add(m);
    const siblings = bySession.get(sessionId) ?? new Set<TerminalMux>();
    siblings.add(m);
    bySession.set(sessionId, siblings);
    ctx.onClose(() => {
      live.delete(m);
      siblings.delete(m);
      if (siblings.size === 0 && bySession.get(sessionId) === siblings) bySession.delete(sessionId);
      m.closeAll();
    });
    return mux;
  }

  const handle = (ctx: ConnectionContext, msg: TermMessage): void => {
    if (opts.mirrorsOnly && msg.type === 'term-open' && msg.mirrorOf === undefined) {
      ctx.log.warn({ host: msg.host }, 'own terminal refused on a mirrors-only connection');
      ctx.sendError('forbidden', 'this connection has no lab hosts of its own; it can only open read-only mirrors', msg.type);
      return;
    }
    let mux: TerminalMux | undefined;
    try {
      mux = muxFor(ctx);
    } catch (e) {
      if (!(e instanceof WorkspaceError)) throw e;
      ctx.sendError('not-ready', e.message, msg.type);
      if (e.closeCode !== undefined) ctx.close(e.closeCode, e.message);
      return;
    }
    if (mux && msg.type === 'term-open' && openOf(ctx.session.id) >= maxPerSession) {
      ctx.log.warn({ max: maxPerSession }, 'terminal refused: too many open for this session');
      ctx.sendError('too-many', `too many terminals open (at most ${maxPerSession} for one session, over all its pages): close some tabs and reload`, msg.type);
      return;
    }
    mux?.handle(msg);
  };

  return {
    name: 'terminals',
    hub,
    handlers: {
      'term-open': handle,
      'term-input': handle,
      'term-resize': handle,
      'term-ack': handle,
      'term-close': handle,
      'term-probe': handle,
      'term-interrupt': handle,
    },
    muxOf: (ctx) => muxes.get(ctx),
    bridges: () => [...live].flatMap((m) => [...m.channels.values()]),
    close() {
      unsubscribe();
      offKeyboard?.();
      hub.closeAll();
    },
  };
}
