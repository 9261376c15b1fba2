// Whether solo mode is on: anyone who can open the page gets lab hosts without logging in. Meant
// for one person on their own machine, so by default only on a loopback-bound server that was not
// told it sits behind a proxy or a public name.
import type { Config } from '../config.ts';

export interface SoloMode {
  on: boolean;
  /** Set by LABWRIGHT_SOLO=on/off rather than decided from the binding. */
  explicit: boolean;
  /** Why, for the start banner. */
  reason: string;
}

export const isLoopbackBind = (bind: string): boolean => bind === 'localhost' || bind === '::1' || bind.startsWith('127.');

export function soloMode(config: Readonly<Pick<Config, 'solo' | 'bind' | 'publicUrls' | 'trustedProxies'>>): SoloMode {
  if (config.solo === 'on') return { on: true, explicit: true, reason: 'LABWRIGHT_SOLO=on' };
  if (config.solo === 'off') return { on: false, explicit: true, reason: 'LABWRIGHT_SOLO=off' };
  if (!isLoopbackBind(config.bind)) return { on: false, explicit: false, reason: `bound to ${config.bind}, not loopback` };
  if (config.publicUrls.length > 0) return { on: false, explicit: false, reason: 'a public URL is set' };
  if (config.trustedProxies.length > 0) return { on: false, explicit: false, reason: 'a trusted proxy is set' };
  return { on: true, explicit: false, reason: 'bound to loopback' };
}
