// Terminal bytes as binary WebSocket frames, both ways: a 3-byte header (kind, channel) and the raw
// bytes, so a keystroke and its echo cost no JSON, no UTF-8 round trip and no schema walk.
import type { Result } from './result.ts';
import { err, ok } from './result.ts';

/** The first byte of a binary frame: what the bytes after the header are. */
export const TermFrameKind = {
  /** Server → client: output of a terminal channel (term-output). */
  Output: 1,
  /** Client → server: keys typed or pasted into a terminal channel (term-input). */
  Input: 2,
} as const;
export type TermFrameKind = (typeof TermFrameKind)[keyof typeof TermFrameKind];

/** kind (1 byte) + channel (uint16, big-endian). */
export const TERM_FRAME_HEADER = 3;
/** Channels are numbered 0..MAX_TERM_CHANNEL, as in the JSON messages. */
export const MAX_TERM_CHANNEL = 1023;
/** Largest term-input text (UTF-16 code units), the same bound as the JSON term-input. */
export const MAX_TERM_INPUT = 16 * 1024;

/**
 * The client acknowledges rendered output in steps of this many bytes (never per frame): far
 * below the server's low-water mark, so output never stalls waiting for an ack, and typing costs
 * no ack message at all until 16 KiB of echo have accumulated.
 */
export const ACK_EVERY = 16 * 1024;

export interface TermFrame {
  kind: TermFrameKind;
  channel: number;
  data: Uint8Array;
}

export interface TermFrameError {
  code: 'invalid-message';
  message: string;
}

/**
 * On a data view made by allocTermData: the frame whose header room precedes it. A property of the view,
 * not a WeakMap: every garbage collection walks a WeakMap's entries (ephemerons), and a busy server makes a
 * view per output frame — thousands a second. In a micro-benchmark of 3 M frames beside a 60 MB heap the
 * WeakMap made allocation 6x slower and the GC's total 10x longer (longest pause 65–104 ms against 39–48); the
 * property costs ~0.5 µs a frame.
 */
const FRAME = Symbol('term-frame');
type FramedData = Uint8Array & { [FRAME]?: Uint8Array };

/**
 * Room for `size` bytes of terminal data with the frame header in front: filling it and sending
 * it as term-output copies the output once, not again into a frame (a flood is many MiB).
 */
export function allocTermData(size: number): Uint8Array {
  const frame = new Uint8Array(TERM_FRAME_HEADER + size);
  const data: FramedData = frame.subarray(TERM_FRAME_HEADER);
  // Not enumerable: the view still equals (deep equality, spreading) any other view of the same bytes.
  Object.defineProperty(data, FRAME, { value: frame });
  return data;
}

/** Writes the header (kind, channel big-endian) into the first TERM_FRAME_HEADER bytes of `frame`. */
function withHeader(frame: Uint8Array, kind: TermFrameKind, channel: number): Uint8Array {
  frame[0] = kind;
  frame[1] = (channel >> 8) & 0xff;
  frame[2] = channel & 0xff;
  return frame;
}

/** One frame: header and data in one buffer (ws sends it as one binary message). */
export function encodeTermFrame(kind: TermFrameKind, channel: number, data: Uint8Array): Uint8Array {
  // Data made by allocTermData already has the header's room in front: no copy.
  const room = (data as FramedData)[FRAME];
  if (room) return withHeader(room, kind, channel);
  const frame = new Uint8Array(TERM_FRAME_HEADER + data.byteLength);
  frame.set(data, TERM_FRAME_HEADER);
  return withHeader(frame, kind, channel);
}

/** Reads one binary frame; the data is a view into `frame`, not a copy. Never throws. */
export function decodeTermFrame(frame: Uint8Array): Result<TermFrame, TermFrameError> {
  if (frame.byteLength < TERM_FRAME_HEADER) return err({ code: 'invalid-message', message: `binary frame shorter than its ${TERM_FRAME_HEADER}-byte header` });
  const kind = frame[0];
  if (kind !== TermFrameKind.Output && kind !== TermFrameKind.Input) return err({ code: 'invalid-message', message: `unknown binary frame kind ${String(kind)}` });
  const channel = ((frame[1] ?? 0) << 8) | (frame[2] ?? 0);
  if (channel > MAX_TERM_CHANNEL) return err({ code: 'invalid-message', message: `channel ${channel} is out of range (0-${MAX_TERM_CHANNEL})` });
  return ok({ kind, channel, data: frame.subarray(TERM_FRAME_HEADER) });
}
