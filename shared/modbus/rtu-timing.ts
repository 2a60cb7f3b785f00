/**
 * RTU wire timing (Modbus over Serial Line v1.02 §2.5.1.1): what a transaction
 * costs on a real RS-485 line, used by the simulated RTU server to pace its
 * answers, by the edge's RTU driver for the silence before each request, and by
 * the benchmark to state the limit it is measured against.
 *
 * - A character is 11 bits: start + 8 data + parity (or a 2nd stop bit) + stop
 *   (§2.5.1: "1 start bit, 8 data bits, 1 parity bit, 1 stop bit"; without parity
 *   2 stop bits keep the count at 11).
 * - Frames are separated by at least 3.5 character times of silence; above 19200
 *   baud the spec fixes it at 1.75 ms (and the inter-character limit at 0.75 ms).
 */

/** Bits per character on the wire (§2.5.1). */
export const BITS_PER_CHAR = 11

/** Time one character occupies the line, in ms. */
export function charTimeMs(baud: number, bitsPerChar = BITS_PER_CHAR): number {
  return (bitsPerChar * 1000) / baud
}

/** Time a frame of `bytes` characters occupies the line, in ms. */
export function frameTimeMs(bytes: number, baud: number, bitsPerChar = BITS_PER_CHAR): number {
  return bytes * charTimeMs(baud, bitsPerChar)
}

/** Minimum silence between frames, t3.5, in ms (§2.5.1.1: fixed 1.75 ms above 19200 baud). */
export function interFrameGapMs(baud: number, bitsPerChar = BITS_PER_CHAR): number {
  return baud > 19200 ? 1.75 : 3.5 * charTimeMs(baud, bitsPerChar)
}

/** Request and response size of an FC03/FC04 read of `registers` registers: 8 and 5 + 2N bytes. */
export function readRegistersFrameBytes(registers: number): { request: number; response: number } {
  return { request: 8, response: 5 + 2 * registers }
}

/**
 * Duration of one request/response transaction on the wire, in ms: the request,
 * a t3.5 gap, the device's turnaround, the response, and the t3.5 gap before the
 * master may send again.
 */
export function transactionTimeMs(o: { baud: number; requestBytes: number; responseBytes: number; turnaroundMs?: number }): number {
  const gap = interFrameGapMs(o.baud)
  return frameTimeMs(o.requestBytes, o.baud) + gap + (o.turnaroundMs ?? 0) + frameTimeMs(o.responseBytes, o.baud) + gap
}

/** Transactions per second the wire allows (the ceiling any master/slave pair can reach). */
export function wireLimitPerSecond(o: { baud: number; requestBytes: number; responseBytes: number; turnaroundMs?: number }): number {
  return 1000 / transactionTimeMs(o)
}
