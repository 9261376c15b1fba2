// Service previews, composed: which previews a lab offers and whether their ports answer (probed
// over SSH), who may open which (the environment's owner, and the instructor of its workshop), the
// grants and tickets, and the proxy of the preview origins. The workshop stack builds it.
import type { Duplex } from 'node:stream';
import { Router } from 'express';
import type { ContentPart } from '../../common/lab.ts';
import type { PreviewState, PreviewsAnswer } from '../../common/http-api.ts';
import { API } from '../../common/http-api.ts';
import type { Environment } from '../../provisioning/provider.ts';
import type { Config } from '../config.ts';
import { sendApiError } from '../http/api-error.ts';
import { jsonBody, readBody, readParams, sendAnswer } from '../http/api-input.ts';
import type { LabViewSource } from '../http/lab-source.ts';
import { requireSession, sessionFor } from '../http/require-session.ts';
import { logger } from '../log.ts';
import type { SessionStore } from '../sessions/session-store.ts';
import type { SshPool } from '../ssh/ssh-pool.ts';
import type { MirrorDirectory } from '../terminals/mirror-policy.ts';
import type { WorkspaceManager } from '../workspaces/workspace-manager.ts';
import type { PreviewGrant, PreviewTarget } from './preview-grants.ts';
import { PreviewGrants } from './preview-grants.ts';
import type { PreviewNaming } from './preview-names.ts';
import { previewNaming, previewOrigin } from './preview-names.ts';
import type { PreviewProxy, PreviewRefusal } from './preview-proxy.ts';
import { createPreviewProxy, ENTER_PATH } from './preview-proxy.ts';

export interface PreviewServiceOptions {
  config: Readonly<Pick<Config, 'bind' | 'publicUrls' | 'previewDomain'>>;
  labs: LabViewSource;
  workspaces: Pick<WorkspaceManager, 'get' | 'onRelease'>;
  ssh: SshPool;
  sessions: SessionStore;
  /** Instructors and attendees (workshop mode); solo servers answer no to both. */
  directory: MirrorDirectory;
  /** How a TCP stream to HOST:PORT is made (default: from the host itself, over its SSH connection). Tests swap it. */
  connect?: (env: Environment, host: string, port: number) => Promise<Duplex>;
}

export interface PreviewService {
  /** Under {base}api/ (passes on what it does not serve). */
  readonly routes: Router;
  /** Set once the server listens (the port is part of the preview names). */
  listening(port: number): void;
  /** The proxy of preview origins; undefined before listening or when previews are off. */
  proxy(): PreviewProxy | undefined;
  readonly naming: () => PreviewNaming | undefined;
  close(): void;
}

/** How long a probe's answer is reused (many pages of one attendee, the instructor's view). */
const PROBE_CACHE_MS = 2000;

/** Every preview block of a lab, intro and steps, without duplicates. */
export function labPreviews(parts: readonly ContentPart[]): { host: string; port: number; label: string }[] {
  const out = new Map<string, { host: string; port: number; label: string }>();
  for (const p of parts) if (p.kind === 'preview' && !out.has(`${p.host}:${p.port}`)) out.set(`${p.host}:${p.port}`, { host: p.host, port: p.port, label: p.label });
  return [...out.values()];
}

/** From the host itself: loopback first, then the host's own address (a service bound only to it). */
async function forwardFromHost(ssh: SshPool, env: Environment, host: string, port: number): Promise<Duplex> {
  const conn = ssh.get(env, host);
  if (!conn) throw new Error(`no host ${host}`);
  try {
    return await conn.forward('127.0.0.1', port);
  } catch (e) {
    const own = env.hosts.find((h) => h.name === host)?.address;
    if (own === undefined || own === '127.0.0.1') throw e;
    return conn.forward(own, port);
  }
}

export function createPreviewService(opts: PreviewServiceOptions): PreviewService {
  const log = logger('previews');
  const grants = new PreviewGrants();
  const connect = opts.connect ?? ((env, host, port) => forwardFromHost(opts.ssh, env, host, port));
  let naming: PreviewNaming | undefined;
  let proxy: PreviewProxy | undefined;
  const probes = new Map<string, { at: number; answer: Promise<boolean> }>();

  const offRelease = opts.workspaces.onRelease((env) => {
    const n = grants.revokeEnvironment(env.id);
    for (const k of probes.keys()) if (k.startsWith(`${env.id}\n`)) probes.delete(k);
    if (n > 0) log.info({ env: env.id, previews: n }, 'previews ended with their environment');
  });
  const offEnd = opts.sessions.onEnd?.((id) => grants.revokeViewer(id));

  const readyEnv = (owner: string, labId: string): Environment | undefined => {
    const w = opts.workspaces.get(owner, labId);
    return w?.state === 'ready' ? w.env : undefined;
  };

  function probe(env: Environment, host: string, port: number): Promise<boolean> {
    const key = `${env.id}\n${host}\n${port}`;
    const hit = probes.get(key);
    if (hit && Date.now() - hit.at < PROBE_CACHE_MS) return hit.answer;
    const answer = connect(env, host, port).then(
      (s) => {
        s.destroy();
        return true;
      },
      () => false,
    );
    probes.set(key, { at: Date.now(), answer });
    return answer;
  }

  /** Whose environment a request means: the caller's own, or (instructor only) an attendee's. */
  function ownerOf(viewer: string, labId: string, attendee: string | undefined): { owner: string } | { status: 403 | 404; message: string } {
    if (attendee === undefined) return { owner: viewer };
    if (!opts.directory.isInstructor(viewer)) return { status: 403, message: 'only the workshop instructor may open an attendee’s preview' };
    const a = opts.directory.attendee(attendee);
    if (!a) return { status: 404, message: 'no such attendee (or their workshop has ended)' };
    if (a.labId !== labId) return { status: 403, message: 'that attendee works on another lab' };
    return { owner: a.sessionId };
  }

  async function status(owner: string, labId: string): Promise<PreviewsAnswer> {
    const view = opts.labs.view(labId);
    const declared = view ? labPreviews([...view.intro, ...view.steps.flatMap((s) => s.parts)]) : [];
    if (naming && !naming.on) return { enabled: false, reason: naming.reason, previews: declared.map((p) => ({ ...p, state: 'no-hosts' })) };
    const env = readyEnv(owner, labId);
    const previews = await Promise.all(
      declared.map(async (p): Promise<PreviewState> => ({ ...p, state: !env ? 'no-hosts' : (await probe(env, p.host, p.port)) ? 'answering' : 'closed' })),
    );
    return { enabled: true, previews };
  }

  const routes = Router();
  const needSession = requireSession(opts.sessions);
  routes.use('/labs/:id/previews', jsonBody());

  routes.get(API.previews.path, needSession, (req, res, next) => {
    const params = readParams(API.previews, req, res);
    if (!params) return;
    status(sessionFor(req).id, params.id).then((a) => sendAnswer(res, API.previews, a), next);
  });

  routes.get(API.attendeePreviews.path, needSession, (req, res, next) => {
    const params = readParams(API.attendeePreviews, req, res);
    if (!params) return;
    const who = ownerOf(sessionFor(req).id, params.id, params.attendee);
    if ('status' in who) {
      sendApiError(res, who.status, who.status === 403 ? 'forbidden' : 'not-found', who.message);
      return;
    }
    status(who.owner, params.id).then((a) => sendAnswer(res, API.attendeePreviews, a), next);
  });

  routes.post(API.openPreview.path, needSession, (req, res) => {
    const params = readParams(API.openPreview, req, res);
    if (!params) return;
    const body = readBody(API.openPreview, req, res);
    if (!body) return;
    if (!naming?.on) {
      sendApiError(res, 409, 'unavailable', naming?.reason ?? 'the server is starting');
      return;
    }
    const viewer = sessionFor(req).id;
    const who = ownerOf(viewer, params.id, body.attendee);
    if ('status' in who) {
      sendApiError(res, who.status, who.status === 403 ? 'forbidden' : 'not-found', who.message);
      return;
    }
    const view = opts.labs.view(params.id);
    const offered = view ? labPreviews([...view.intro, ...view.steps.flatMap((s) => s.parts)]) : [];
    if (!offered.some((p) => p.host === body.host && p.port === body.port)) {
      sendApiError(res, 404, 'not-found', `the lab "${params.id}" offers no preview of ${body.host}:${body.port}`);
      return;
    }
    const env = readyEnv(who.owner, params.id);
    if (!env) {
      sendApiError(res, 409, 'unavailable', 'the lab hosts are not ready yet');
      return;
    }
    const target: PreviewTarget = { ownerSessionId: who.owner, labId: params.id, envId: env.id, host: body.host, port: body.port };
    const grant = grants.grant(viewer, target);
    const url = `${previewOrigin(naming.names, grant.token)}${ENTER_PATH}?ticket=${grants.ticket(grant)}`;
    log.info({ host: body.host, port: body.port, env: env.id, instructor: who.owner !== viewer }, 'preview opened');
    sendAnswer(res, API.openPreview, { url });
  });

  /** Still good: the viewer's session lives, an instructor is still one, and the owner still has this environment. */
  async function verify(g: PreviewGrant): Promise<PreviewRefusal | undefined> {
    const viewer = await opts.sessions.get(g.viewerSessionId);
    if (!viewer) return { status: 403, title: 'Your session has ended', message: 'Log in or open the lab again, then open the preview from the lab page.' };
    if (g.viewerSessionId !== g.ownerSessionId && !opts.directory.isInstructor(g.viewerSessionId)) {
      return { status: 403, title: 'Not your preview', message: 'Only the attendee and the workshop instructor may open this preview.' };
    }
    const env = readyEnv(g.ownerSessionId, g.labId);
    if (env?.id !== g.envId) {
      return { status: 410, title: 'This preview has ended', message: 'The lab hosts behind this preview were reset or removed (or the workshop ended).' };
    }
    return undefined;
  }

  function open(g: PreviewGrant): Promise<Duplex> {
    const env = readyEnv(g.ownerSessionId, g.labId);
    if (env?.id !== g.envId) return Promise.reject(new Error('environment ended'));
    return connect(env, g.host, g.port);
  }

  return {
    routes,
    listening(port) {
      naming = previewNaming(opts.config, port);
      proxy = naming.on ? createPreviewProxy({ names: naming.names, grants, verify, open, log }) : undefined;
      log.info(naming.on ? { previews: `${naming.names.scheme}://*.${naming.names.suffix}:${naming.names.port}` } : { previews: 'off', reason: naming.reason }, 'service previews');
    },
    proxy: () => proxy,
    naming: () => naming,
    close() {
      offRelease();
      offEnd?.();
    },
  };
}
