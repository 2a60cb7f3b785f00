/**
 * Modbus RTU framing (Modbus over Serial Line v1.02 §2.5.1): unit address, PDU,
 * CRC-16 low byte first; at most 256 bytes.
 *
 * Frames are found by their expected length, computed from the function code, and
 * confirmed by the CRC (requests and responses alike for a slave, which hears the
 * whole bus: {@link candidateLengths}; responses only for a master:
 * {@link responseLength}), rather than by timing the 3.5-character silence: a pty
 * delivers bytes in bursts with no timing of its own, so silence tells little
 * there. Silence is still the last resort ({@link RtuFrameReader.flush}) for
 * function codes whose length is unknown and for resynchronising after garbage.
 */
import { hasValidCrc, withCrc } from './crc.ts'

/** §2.5.1: address (1) + PDU (≤ 253) + CRC (2). */
export const MAX_RTU_FRAME_BYTES = 256

/** One RTU frame without its CRC. */
export interface RtuFrame {
  unitId: number
  pdu: Uint8Array
}

/** Frame bytes: unit + PDU + CRC (low byte first). */
export function encodeRtu(unitId: number, pdu: Uint8Array): Uint8Array {
  const body = new Uint8Array(1 + pdu.length)
  body[0] = unitId & 0xff
  body.set(pdu, 1)
  return withCrc(body)
}

/**
 * Lengths a frame starting at `buf[at]` may have, from its function code: both the
 * request and the response length, because on a shared bus a slave also hears
 * the other slaves' answers. `undefined` when the function code does not tell
 * (not one of FC01–06/15/16 or an exception response); `need` when more bytes
 * must arrive before the length is known. The request length comes first.
 */
export function candidateLengths(buf: Uint8Array, at = 0): number[] | 'need' | undefined {
  const avail = buf.length - at
  if (avail < 2) return 'need'
  const fc = buf[at + 1] ?? 0
  if (fc & 0x80) return [5] // exception response: unit, fc|0x80, code, CRC (2)
  switch (fc) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
      // request: unit fc addr(2) qty(2) crc(2) = 8; response: unit fc n data(n) crc(2) = 5 + n
      return avail < 3 ? 'need' : [8, 5 + (buf[at + 2] ?? 0)]
    case 0x05:
    case 0x06:
      return [8] // request and echo alike
    case 0x0f:
    case 0x10:
      // request: unit fc addr(2) qty(2) n data(n) crc(2) = 9 + n; response: 8
      return avail < 7 ? 'need' : [9 + (buf[at + 6] ?? 0), 8]
    default:
      return undefined
  }
}

/**
 * Length of the response frame starting at `buf[at]`, from its function code: the
 * master's direction, where only answers are expected (Modbus Application Protocol
 * v1.1b3 §6.1–§6.12, §7; unit and CRC add 3 bytes to the PDU):
 *
 * | function code        | response                                  | bytes     |
 * |----------------------|-------------------------------------------|-----------|
 * | 01–04                | unit fc n data(n) crc(2)                  | 5 + n     |
 * | 05, 06               | echo of the request: unit fc addr val crc | 8         |
 * | 15, 16               | unit fc addr(2) qty(2) crc(2)             | 8         |
 * | fc + 0x80            | exception: unit fc code crc(2)            | 5         |
 *
 * `need` while the bytes that tell are still to come; `undefined` for a function
 * code this client never sends.
 */
export function responseLength(buf: Uint8Array, at = 0): number | 'need' | undefined {
  const avail = buf.length - at
  if (avail < 2) return 'need'
  const fc = buf[at + 1] ?? 0
  if (fc & 0x80) return 5
  switch (fc) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
      return avail < 3 ? 'need' : 5 + (buf[at + 2] ?? 0)
    case 0x05:
    case 0x06:
    case 0x0f:
    case 0x10:
      return 8
    default:
      return undefined
  }
}

/**
 * The slave's reader (see `rtu-response.ts` for the master's).
 * Accumulates bytes from a serial line and yields complete frames with a valid
 * CRC. Garbage is dropped one byte at a time until a frame lines up again, and
 * counted in {@link garbageBytes}.
 */
export class RtuFrameReader {
  private buf = new Uint8Array(0)
  /** Bytes dropped while resynchronising. */
  garbageBytes = 0

  /** Bytes waiting for the rest of their frame. */
  get pending(): number {
    return this.buf.length
  }

  /** Adds received bytes; returns every frame now complete. */
  push(chunk: Uint8Array): RtuFrame[] {
    const joined = new Uint8Array(this.buf.length + chunk.length)
    joined.set(this.buf)
    joined.set(chunk, this.buf.length)
    this.buf = joined
    return this.scan(false)
  }

  /**
   * Call after a silence of at least 3.5 character times (§2.5.1.1): what is
   * buffered is then a whole frame or garbage. A buffer whose CRC is valid is a
   * frame even with an unknown function code (the server answers 01 to it);
   * otherwise bytes are dropped until a frame lines up or nothing is left.
   */
  flush(): RtuFrame[] {
    return this.scan(true)
  }

  private scan(silence: boolean): RtuFrame[] {
    const frames: RtuFrame[] = []
    let at = 0
    const buf = this.buf
    while (at < buf.length) {
      const avail = buf.length - at
      const lengths = candidateLengths(buf, at)
      let take: number | undefined
      let wait = false
      if (Array.isArray(lengths)) {
        // Request length first: a slave cares about requests, and a request whose prefix
        // happens to carry a valid CRC must not be taken for a shorter response.
        // While a preferred length is still incomplete, later ones wait (unless silence says the frame is over).
        for (const n of lengths) {
          if (n > avail) {
            wait = true
            if (!silence) break
          } else if (hasValidCrc(buf, at, n)) {
            take = n
            break
          }
        }
      } else if (lengths === 'need') wait = true
      if (take === undefined && silence && avail >= 4 && avail <= MAX_RTU_FRAME_BYTES && hasValidCrc(buf, at, avail)) take = avail
      if (take !== undefined) {
        frames.push({ unitId: buf[at] ?? 0, pdu: buf.slice(at + 1, at + take - 2) })
        at += take
        continue
      }
      // Unknown function code: only silence can end the frame, unless a complete frame of
      // known length already follows (then these bytes were garbage: a real frame would
      // have been followed by silence, not by another frame).
      if (lengths === undefined && !silence && avail < MAX_RTU_FRAME_BYTES) {
        const next = nextKnownFrame(buf, at + 1)
        if (next === undefined) break
        this.garbageBytes += next - at
        at = next
        continue
      }
      if (wait && !silence && avail < MAX_RTU_FRAME_BYTES) break
      at += 1
      this.garbageBytes += 1
    }
    this.buf = buf.slice(at)
    return frames
  }
}

/** Offset of the first complete frame of known length with a valid CRC at or after `from`, if any. */
function nextKnownFrame(buf: Uint8Array, from: number): number | undefined {
  for (let j = from; j + 4 <= buf.length; j++) {
    const lengths = candidateLengths(buf, j)
    if (Array.isArray(lengths) && lengths.some((n) => n <= buf.length - j && hasValidCrc(buf, j, n))) return j
  }
  return undefined
}
