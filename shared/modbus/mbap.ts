/**
 * Modbus TCP framing: the MBAP header (Modbus Messaging on TCP/IP Implementation
 * Guide v1.0b §3.1.3) in front of a PDU.
 *
 * | field          | bytes | meaning                                        |
 * |----------------|-------|------------------------------------------------|
 * | transaction id | 2     | echoed by the server; pairs pipelined requests |
 * | protocol id    | 2     | 0 = Modbus                                      |
 * | length         | 2     | bytes that follow: unit id + PDU               |
 * | unit id        | 1     | the device behind a gateway                     |
 *
 * All fields big-endian. A PDU is at most 253 bytes (Application Protocol v1.1b3
 * §4.1), so a frame is at most 7 + 253 = 260 bytes and `length` is 2..254.
 */

/** Transaction id (2) + protocol id (2) + length (2) + unit id (1). */
export const MBAP_HEADER_BYTES = 7
/** Application Protocol v1.1b3 §4.1: the RS-485 ADU limit of 256 bytes leaves 253 for the PDU. */
export const MAX_PDU_BYTES = 253

/** One Modbus TCP frame. */
export interface MbapFrame {
  transactionId: number
  protocolId: number
  unitId: number
  pdu: Uint8Array
}

/** Frame bytes: MBAP header + PDU. */
export function encodeMbap(f: Omit<MbapFrame, 'protocolId'> & { protocolId?: number }): Uint8Array {
  const out = new Uint8Array(MBAP_HEADER_BYTES + f.pdu.length)
  const length = f.pdu.length + 1
  out[0] = (f.transactionId >>> 8) & 0xff
  out[1] = f.transactionId & 0xff
  out[2] = ((f.protocolId ?? 0) >>> 8) & 0xff
  out[3] = (f.protocolId ?? 0) & 0xff
  out[4] = (length >>> 8) & 0xff
  out[5] = length & 0xff
  out[6] = f.unitId & 0xff
  out.set(f.pdu, MBAP_HEADER_BYTES)
  return out
}

/** What {@link splitMbap} found in a byte stream. */
export interface MbapSplit {
  /** Complete frames, in stream order. */
  frames: MbapFrame[]
  /** Offset of the first byte not consumed (a partial frame still arriving). */
  consumed: number
  /**
   * Set when a header announces a length outside 2..254: the stream cannot be
   * re-synchronised (TCP has no frame delimiter), so the caller should close the
   * connection. Frames before the bad header are still returned.
   */
  corrupt?: string
}

/**
 * Splits a TCP byte stream into frames by their length fields; handles several
 * pipelined frames in one chunk and frames split across chunks. Frames whose
 * protocol id is not 0 are returned too; the caller decides (servers drop them).
 */
export function splitMbap(buf: Uint8Array): MbapSplit {
  const frames: MbapFrame[] = []
  let at = 0
  while (buf.length - at >= MBAP_HEADER_BYTES) {
    const length = ((buf[at + 4] ?? 0) << 8) | (buf[at + 5] ?? 0)
    if (length < 2 || length > MAX_PDU_BYTES + 1) {
      return { frames, consumed: at, corrupt: `MBAP length ${length} outside 2..${MAX_PDU_BYTES + 1}` }
    }
    if (buf.length - at < 6 + length) break
    frames.push({
      transactionId: ((buf[at] ?? 0) << 8) | (buf[at + 1] ?? 0),
      protocolId: ((buf[at + 2] ?? 0) << 8) | (buf[at + 3] ?? 0),
      unitId: buf[at + 6] ?? 0,
      // A copy: the caller may hand `buf` (often a pooled Buffer) back for reuse.
      pdu: Uint8Array.prototype.slice.call(buf, at + MBAP_HEADER_BYTES, at + 6 + length),
    })
    at += 6 + length
  }
  return { frames, consumed: at }
}
