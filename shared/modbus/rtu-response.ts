/**
 * The master's side of RTU framing (Modbus over Serial Line v1.02 §2.5.1): after
 * sending one request to one unit, find that unit's answer in what the line
 * delivers, and tell as early as possible when it is broken.
 *
 * One reader per request. The master discards what the line held before sending
 * (late answers of a previous request, noise), so the answer is expected at the
 * first byte; whatever comes first anyway is skipped:
 *
 * - a complete frame with a valid CRC from another unit, or from this unit for
 *   another function code (a late answer to an earlier request that timed out),
 *   is skipped whole and counted in {@link RtuResponseReader.staleFrames};
 * - anything else is garbage, skipped one byte at a time and counted in
 *   {@link RtuResponseReader.garbageBytes}.
 *
 * Bytes that may begin a frame (a known function code in second place) are waited
 * on until the frame's length is in, unless a complete answer to this request
 * already follows them: then they were a chance match in noise, and a long
 * announced length can never hold up an answer that has arrived.
 *
 * A frame for this unit and function code (or its exception, function code +
 * 0x80) is taken by its length from the function code ({@link responseLength}) and
 * confirmed by its CRC. A bad CRC at the very first byte is the answer, corrupted:
 * reported at once as `bad-crc`. A bad CRC after skipped bytes may be a chance
 * match inside the garbage, so the reader keeps looking and only remembers it
 * ({@link RtuResponseReader.suspectCrc}); {@link RtuResponseReader.finish}, called
 * at the master's timeout, reports it instead of a bare timeout.
 *
 * A frame that stops short (a truncated answer) is never completed: the master's
 * timeout ends it. Silence is not used to end a frame: a pty or a USB adapter
 * delivers bytes in bursts with gaps longer than t1.5 and t3.5, so the inter-
 * character timing of §2.5.1.1 cannot be observed above the driver.
 */
import { hasValidCrc } from './crc.ts'
import { responseLength } from './rtu-frame.ts'

/** What the reader found for the request it waits on. */
export type RtuResponseEvent =
  /** The answer: this unit, this function code or its exception, valid CRC. `pdu` has no unit and no CRC. */
  | { readonly kind: 'response'; readonly pdu: Uint8Array }
  /** A frame for this unit and function code, at the first byte after the request, whose CRC is wrong. */
  | { readonly kind: 'bad-crc'; readonly detail: string }

/** Accumulates the bytes answering one request (unit `unitId`, function code `functionCode`). */
export class RtuResponseReader {
  private buf = new Uint8Array(0)
  /** Nothing has been skipped yet: the next candidate is the first thing the line said. */
  private atStart = true
  /** Bytes skipped that were no frame. */
  garbageBytes = 0
  /** Whole frames with a valid CRC skipped: other units, or this unit for another function code. */
  staleFrames = 0
  /** A frame for this request found after skipped bytes with a bad CRC (kept, not reported: see the file comment). */
  suspectCrc: string | undefined

  constructor(
    readonly unitId: number,
    readonly functionCode: number,
  ) {}

  /** Bytes received and not yet consumed (a frame still arriving). */
  get pending(): number {
    return this.buf.length
  }

  /** Adds received bytes; returns the answer or its corruption once known, else undefined (wait for more). */
  push(chunk: Uint8Array): RtuResponseEvent | undefined {
    const joined = new Uint8Array(this.buf.length + chunk.length)
    joined.set(this.buf)
    joined.set(chunk, this.buf.length)
    this.buf = joined
    return this.scan()
  }

  /**
   * Call when the master gives up waiting (its timeout): the CRC problem to report
   * instead of a bare timeout, if a frame for this request arrived corrupted (found
   * after noise, or still buffered behind an incomplete frame), else undefined.
   */
  finish(): string | undefined {
    if (this.suspectCrc !== undefined) return this.suspectCrc
    const buf = this.buf
    for (let j = 0; j < buf.length; j++) {
      if (!this.ours(j)) continue
      const n = responseLength(buf, j)
      if (typeof n === 'number' && j + n <= buf.length) return this.crcDetail(j, n)
    }
    return undefined
  }

  private scan(): RtuResponseEvent | undefined {
    const buf = this.buf
    let at = 0
    let event: RtuResponseEvent | undefined
    while (at < buf.length && event === undefined) {
      const length = responseLength(buf, at)
      if (length === 'need' || (typeof length === 'number' && length > buf.length - at)) {
        // A frame may be arriving (ours, or a late one to skip whole). If a complete answer
        // already follows, these bytes were a chance match in noise: a real frame is not
        // followed by another before it ends. Skip to the answer; otherwise wait.
        const next = this.nextAnswer(at + 1)
        if (next === undefined) break
        this.skip(next - at)
        at = next
        continue
      }
      if (length !== undefined) {
        const valid = hasValidCrc(buf, at, length)
        if (this.ours(at)) {
          if (valid) event = { kind: 'response', pdu: buf.slice(at + 1, at + length - 2) }
          else if (this.atStart) event = { kind: 'bad-crc', detail: this.crcDetail(at, length) }
          else this.suspectCrc = this.crcDetail(at, length)
          if (event) {
            at += length
            break
          }
        } else if (valid) {
          this.staleFrames++
          this.atStart = false
          at += length
          continue
        }
      }
      this.skip(1)
      at += 1
    }
    this.buf = buf.slice(at)
    return event
  }

  private skip(bytes: number): void {
    this.garbageBytes += bytes
    this.atStart = false
  }

  /** Whether a frame for this request (this unit, this function code or its exception) starts at `at`. */
  private ours(at: number): boolean {
    const fc = this.buf[at + 1]
    return this.buf[at] === this.unitId && (fc === this.functionCode || fc === ((this.functionCode | 0x80) & 0xff))
  }

  private crcDetail(at: number, length: number): string {
    return `CRC mismatch in the ${length}-byte answer of unit ${this.unitId} (FC ${hex(this.buf[at + 1] ?? 0)})`
  }

  /** Offset of the first complete answer with a valid CRC at or after `from`, if any. */
  private nextAnswer(from: number): number | undefined {
    const buf = this.buf
    for (let j = from; j + 5 <= buf.length; j++) {
      if (!this.ours(j)) continue
      const n = responseLength(buf, j)
      if (typeof n === 'number' && j + n <= buf.length && hasValidCrc(buf, j, n)) return j
    }
    return undefined
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0').toUpperCase()}`
}
