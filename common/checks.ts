// The check vocabulary of a lab: what each `check` block may say (schemas shared by lint and the
// check engine) and what a check reports back (per host, expected vs actual).
import { z } from 'zod';
import { LINEAR_REGEX_SYNTAX, compileLinearRegex } from './linear-regex.ts';

/** Default time a single check may take before it reports `error` (ms). */
export const DEFAULT_CHECK_TIMEOUT_MS = 5000;

/**
 * A lab regex: it runs over text the attendee controls (a key's value, a command's output, a page),
 * so it must compile in the linear-time engine (see linear-regex.ts); lint says why when not.
 */
const regex = z.string().refine((s) => compileLinearRegex(s).ok, { message: `is not a valid regular expression (${LINEAR_REGEX_SYNTAX})` });

/**
 * Which hosts a check runs on: one host by name, `all`, `any`, or a number N meaning
 * "exactly N hosts" (e.g. exactly 3 hosts have the unit active).
 */
export const hostSelector = z.union([z.string().min(1), z.number().int().positive()]);
export type HostSelector = z.infer<typeof hostSelector>;

const common = { timeout: z.number().int().positive().max(120_000).optional() };

export const etcdCheck = z
  .strictObject({
    key: z.string().min(1).optional(),
    equals: z.string().optional(),
    matches: regex.optional(),
    absent: z.literal(true).optional(),
    prefix: z.string().min(1).optional(),
    count: z.number().int().nonnegative().optional(),
    ...common,
  })
  .superRefine((c, ctx) => {
    if ((c.key === undefined) === (c.prefix === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of `key` or `prefix`' });
    }
    if (c.prefix !== undefined && (c.equals !== undefined || c.matches !== undefined || c.absent)) {
      ctx.addIssue({ code: 'custom', message: '`prefix` takes `count`, not `equals`/`matches`/`absent`' });
    }
    if (c.key !== undefined && c.count !== undefined) {
      ctx.addIssue({ code: 'custom', message: '`count` goes with `prefix`, not `key`' });
    }
    if (c.absent && (c.equals !== undefined || c.matches !== undefined)) {
      ctx.addIssue({ code: 'custom', message: '`absent` cannot be combined with `equals` or `matches`' });
    }
  });

export const overlayCheck = z.strictObject({
  network: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, 'must be a CIDR such as 10.2.0.0/16'),
  on: hostSelector.default('all'),
  /** etcd prefix of the overlay's keys; flannel's layout by default. */
  prefix: z.string().default('/coreos.com/network'),
  /** The interface whose address must lie inside the host's lease. */
  interface: z.string().default('docker0'),
  ...common,
});

export const unitState = z.enum(['active', 'inactive', 'failed', 'activating', 'enabled', 'disabled', 'static', 'masked']);
export const unitCheck = z.strictObject({
  name: z.string().min(1),
  on: hostSelector,
  state: unitState.default('active'),
  ...common,
});

export const containerCheck = z
  .strictObject({
    on: hostSelector,
    name: z.string().min(1).optional(),
    image: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    running: z.boolean().default(true),
    ...common,
  })
  .refine((c) => c.name !== undefined || c.image !== undefined, { message: 'needs `name` or `image`' });

export const httpCheck = z.strictObject({
  /** `server` or a host name; the request is made from there. */
  from: z.string().min(1).default('server'),
  url: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL'),
  status: z.number().int().min(100).max(599).default(200),
  body: regex.optional(),
  ...common,
});

export const commandCheck = z.strictObject({
  on: hostSelector,
  run: z.string().min(1),
  exit: z.number().int().min(0).max(255).default(0),
  stdout: regex.optional(),
  ...common,
});

export const fileCheck = z
  .strictObject({
    on: hostSelector,
    path: z.string().regex(/^\//, 'must be an absolute path'),
    contains: z.string().optional(),
    absent: z.literal(true).optional(),
    ...common,
  })
  .refine((c) => !(c.absent && c.contains !== undefined), { message: '`absent` cannot be combined with `contains`' });

/**
 * The etcd cluster itself, member by member (raft state read from every member, never a key an
 * attendee writes): how many members run, whether they follow one leader, whether the stopped
 * member was the leader when it stopped, whether a write reaches every member.
 */
export const etcdClusterCheck = z
  .strictObject({
    /** Exactly this many members answer on their client port; every other member's etcd is stopped. */
    running: z.number().int().nonnegative().optional(),
    /** `elected`: the running members follow one leader, one of them; `none`: none has a leader (and each still answers serializable reads). */
    leader: z.enum(['elected', 'none']).optional(),
    /** `leader`: each stopped member led the cluster when it stopped, and every running member is at a higher raft term. */
    stopped: z.literal('leader').optional(),
    /** The server writes a probe key through the cluster and reads it back from every running member (serializable reads). */
    replicated: z.literal(true).optional(),
    ...common,
  })
  .refine((c) => c.running !== undefined || c.leader !== undefined || c.stopped !== undefined || c.replicated !== undefined, {
    message: 'needs at least one of `running`, `leader`, `stopped` or `replicated`',
  });

/** A swarm service or node name: what `docker service create --name` accepts. */
const swarmName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a service name such as web (letters, digits, _ . -)');
/** The swarm manager a swarm check asks (a host name, not `server`/`all`/`any`); the lab's first host by default. */
const swarmManager = z
  .string()
  .min(1)
  .refine((s) => !['server', 'all', 'any'].includes(s), { message: 'must name one host, a swarm manager' })
  .optional();

/**
 * `service` check: where a Docker swarm service's tasks really run, read from a manager
 * (`docker service ps`): how many run and wait, and per host how many (at most N, on one host,
 * on every host, never on a host).
 */
export const serviceCheck = z
  .strictObject({
    name: swarmName,
    from: swarmManager,
    /** Exactly this many tasks running (at least 1 when left out). */
    running: z.number().int().nonnegative().optional(),
    /** Exactly this many tasks the scheduler could not place (Pending). */
    pending: z.number().int().nonnegative().optional(),
    /** No host runs more than this many of its tasks. */
    'per-host-max': z.number().int().positive().optional(),
    /** A host name: every running task is there; `all`: every host runs one; N: tasks on exactly N hosts. */
    on: hostSelector.optional(),
    /** No running task on this host. */
    'not-on': z
      .string()
      .min(1)
      .refine((s) => !['all', 'any'].includes(s), { message: 'must name one host' })
      .optional(),
    ...common,
  })
  .refine((c) => !(c.on !== undefined && c.on === c['not-on']), { message: '`on` and `not-on` name the same host' });

export const nodeStatus = z.enum(['ready', 'down', 'unknown', 'disconnected']);
/** `node` check: a host's swarm node as a manager sees it (`docker node ls`): status, availability, role. */
export const nodeCheck = z.strictObject({
  on: hostSelector,
  from: swarmManager,
  status: nodeStatus.default('ready'),
  availability: z.enum(['active', 'pause', 'drain']).optional(),
  role: z.enum(['manager', 'worker']).optional(),
  ...common,
});

/** One schema per check kind; the key of a check mapping names its kind. */
export const checkSchemas = {
  etcd: etcdCheck,
  overlay: overlayCheck,
  unit: unitCheck,
  container: containerCheck,
  http: httpCheck,
  command: commandCheck,
  file: fileCheck,
  'etcd-cluster': etcdClusterCheck,
  service: serviceCheck,
  node: nodeCheck,
} as const;

export type CheckKind = keyof typeof checkSchemas;
export const CHECK_KINDS = Object.keys(checkSchemas) as CheckKind[];

/** Longest `description:` of a check: it is a one-line title in the attendee's check results. */
export const MAX_CHECK_DESCRIPTION = 200;

/**
 * A parsed check: its kind, its validated fields, and the lab line it came from; `description` is
 * the author's words for it (`- description: every host runs etcd` beside the kind), which
 * attendees see instead of the raw command, key or regex.
 */
export type CheckSpec = {
  [K in CheckKind]: { kind: K; line: number; spec: z.output<(typeof checkSchemas)[K]>; description?: string };
}[CheckKind];

export type CheckStatus = 'pass' | 'fail' | 'error';

/**
 * The outcome of one check on one host (or on the cluster, when `host` is absent).
 * `error` means the check could not be evaluated (host unreachable, timeout) — not that
 * the attendee did something wrong.
 */
export interface CheckResult {
  status: CheckStatus;
  kind: CheckKind;
  /** Short label of what was checked, e.g. "unit web@2.service"; the check's description when it has one. */
  subject: string;
  /**
   * The check's `description:`, when the lab gives one: the title attendees see for this check.
   * Then subject, expected, actual and message hold no raw command or regex of the lab.
   */
  description?: string;
  host?: string;
  expected: string;
  actual: string;
  /** One sentence for the attendee, e.g. "host1: unit web@2.service is failed, expected active". */
  message: string;
  durationMs: number;
}

export interface StepReport {
  step: number;
  passed: boolean;
  results: CheckResult[];
  /** Epoch ms when the check finished. */
  at: number;
}
