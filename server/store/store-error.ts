// Errors of the durable store that a person must act on (a foreign or damaged file, a full or
// read-only disk), and how a failed write is told apart from a bug. Dependency-free, so the CLI
// can recognise them without loading SQLite.
import { statfsSync } from 'node:fs';

export type StoreErrorCode = 'not-a-database' | 'foreign' | 'newer-schema' | 'damaged' | 'disk-full' | 'read-only' | 'not-a-folder' | 'cannot-open';

/** The data folder or database cannot be used; the message names the path and what to do. */
export class StoreError extends Error {
  override name = 'StoreError';
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** A write the disk refused (full, read-only, I/O error): the server keeps running, the user is told. */
export type StorageFailure = 'disk-full' | 'read-only' | 'io-error';

const errCode = (e: unknown): string => (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : '');

/**
 * Which kind of refused write `e` is, or undefined for anything else (a bug). SQLite reports some
 * writes on a full disk as I/O errors (growing the WAL index, say): with `dir`, an I/O error on a
 * filesystem with less than a MiB free counts as a full disk.
 */
export function storageFailureOf(e: unknown, dir?: string): StorageFailure | undefined {
  const code = errCode(e);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') return 'disk-full';
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS') return 'read-only';
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') return dir !== undefined && freeBytes(dir) < 1024 * 1024 ? 'disk-full' : 'io-error';
  return undefined;
}

function freeBytes(dir: string): number {
  try {
    const st = statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** What an attendee or instructor is told when a write failed; nothing was saved. */
export function storageFailureMessage(f: StorageFailure): string {
  const why = { 'disk-full': "the server's disk is full", 'read-only': "the server's data folder is read-only", 'io-error': "the server's disk failed a write" }[f];
  return `${why}: this change was not saved. Tell the organiser; try again once it is fixed.`;
}
