// The instructor credential: taken from the config, or generated at start (and printed once by
// `labwright serve`); compared in constant time.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface InstructorCredential {
  /** True when the offered token is the instructor's. Constant time in the token's content. */
  matches(offered: string): boolean;
  /** Whether it was generated at start (so `serve` must print it). */
  readonly generated: boolean;
  /** The token itself, for `serve` to print once; never logged. */
  readonly token: string;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function instructorCredential(configured: string | undefined): InstructorCredential {
  const token = configured ?? randomBytes(24).toString('base64url');
  // Comparing fixed-length digests: timingSafeEqual needs equal lengths, and the length of
  // the offered string then tells an attacker nothing either.
  const expected = digest(token);
  return {
    token,
    generated: configured === undefined,
    matches: (offered) => timingSafeEqual(digest(offered), expected),
  };
}

/**
 * What an instructor session records of the credential it logged in with: HMAC-SHA256 keyed with
 * a random per-install key, so the database never holds the credential or an unkeyed hash of it.
 * A server started with another credential computes another fingerprint and ends those sessions.
 */
export const credentialFingerprint = (token: string, key: Buffer): string => createHmac('sha256', key).update(token, 'utf8').digest('base64url');
