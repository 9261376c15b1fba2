// Names of everything the local provider creates. One environment id prefixes them all, which is how a
// crashed run's leftovers are recognised; names stay short because a veth is "vb-<machine>" (15 chars max).
import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Environment ids: "lw" + 5 lowercase letters/digits, e.g. lwk3x9a. */
export const ENV_ID_RE = /^lw[a-z0-9]{5}$/;
export const MACHINE_RE = /^(lw[a-z0-9]{5})-(\d{1,2})$/;
export const BRIDGE_RE = /^(lw[a-z0-9]{5})-br$/;

export function newEnvId(): string {
  const bytes = randomBytes(5);
  let s = 'lw';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

export const machineName = (envId: string, index: number): string => `${envId}-${index}`;
export const bridgeName = (envId: string): string => `${envId}-br`;
export const vethName = (machine: string): string => `vb-${machine}`;

/** Host names a lab may use: they become hostnames and /etc/hosts entries. */
export const HOST_NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;
