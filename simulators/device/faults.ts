/**
 * The ways a simulated device misbehaves, switchable at runtime
 * (`SimulatedDevice.setFault`). Each mimics a failure seen on real buses:
 *
 * | kind          | on the wire                                                          |
 * |---------------|----------------------------------------------------------------------|
 * | none          | correct answers                                                       |
 * | no-response   | silence; the client times out                                         |
 * | exception     | every request answered with exception `code`                          |
 * | bad-crc       | RTU: the answer's CRC is corrupted (TCP: see `TcpServer`)              |
 * | truncated     | only the first part of the answer frame is sent                       |
 * | stuck         | reads serve the image as it was when the fault was set                |
 * | noise         | analog points jump by random spikes (seeded, reproducible)            |
 * | sentinel      | numeric points serve their first sentinel raw value, NaN for floats   |
 * | dropout       | silence for `forMs`, then answers again (every `everyMs` if given)    |
 * | wrong-order   | multi-register numbers served in a wrong word order                   |
 */
import type { WordOrder } from '../../shared/profile/schema.ts'
import { WORD_ORDERS } from '../../shared/profile/schema.ts'
import { EXCEPTION_CODES, type ExceptionCode } from '../../shared/modbus/codes.ts'

/** One fault of the table above; `setFault({ kind: 'none' })` clears it. */
export type Fault =
  | { readonly kind: 'none' }
  | { readonly kind: 'no-response' }
  | { readonly kind: 'exception'; readonly code: ExceptionCode }
  | { readonly kind: 'bad-crc' }
  | { readonly kind: 'truncated' }
  | { readonly kind: 'stuck' }
  | {
      readonly kind: 'noise'
      /** Chance that a point is spiked in one read, 0..1 (default 0.25). */
      readonly probability?: number
      /**
       * Spike size in engineering units; each spike is ±(0.5..1) × amplitude. Default:
       * half the point's range when it has both bounds, else max(|value|, 1).
       */
      readonly amplitude?: number
    }
  | { readonly kind: 'sentinel' }
  | {
      readonly kind: 'dropout'
      /** Silence lasts this long from the moment the fault is set, ms. */
      readonly forMs: number
      /** Repeat the dropout every this many ms; without it, one dropout and the fault clears itself. */
      readonly everyMs?: number
    }
  | {
      readonly kind: 'wrong-order'
      /** The order served; default the point's order with its words swapped (ABCD ↔ CDAB, BADC ↔ DCBA). */
      readonly order?: WordOrder
    }

/** The name of a fault. */
export type FaultKind = Fault['kind']

/** Every fault name, e.g. for a CLI or scenario file to validate against. */
export const FAULT_KINDS = [
  'none',
  'no-response',
  'exception',
  'bad-crc',
  'truncated',
  'stuck',
  'noise',
  'sentinel',
  'dropout',
  'wrong-order',
] as const satisfies readonly FaultKind[]

/** The absence of a fault. */
export const NO_FAULT: Fault = Object.freeze({ kind: 'none' })

/** Why a fault is unusable (a bug in the caller, e.g. exception code 0x07), or undefined. */
export function faultProblem(f: Fault): string | undefined {
  switch (f.kind) {
    case 'exception':
      return EXCEPTION_CODES.includes(f.code) ? undefined : `exception code ${String(f.code)} is not one of ${EXCEPTION_CODES.join(', ')}`
    case 'noise':
      if (f.probability !== undefined && !(f.probability >= 0 && f.probability <= 1)) return `noise probability ${f.probability} is not 0..1`
      if (f.amplitude !== undefined && !(Number.isFinite(f.amplitude) && f.amplitude > 0)) return `noise amplitude ${f.amplitude} is not a positive number`
      return undefined
    case 'dropout':
      if (!(Number.isFinite(f.forMs) && f.forMs > 0)) return `dropout forMs ${f.forMs} is not a positive number`
      if (f.everyMs !== undefined && !(Number.isFinite(f.everyMs) && f.everyMs > f.forMs)) return `dropout everyMs ${f.everyMs} must exceed forMs ${f.forMs}`
      return undefined
    case 'wrong-order':
      return f.order === undefined || WORD_ORDERS.includes(f.order) ? undefined : `word order ${String(f.order)} is not one of ${WORD_ORDERS.join(', ')}`
    default:
      return FAULT_KINDS.includes(f.kind) ? undefined : `unknown fault ${String((f as { kind: unknown }).kind)}`
  }
}

/** The misconfiguration most often seen in gateway issue trackers: the words of a 32/64-bit value swapped. */
export function swappedWordOrder(order: WordOrder): WordOrder {
  switch (order) {
    case 'ABCD':
      return 'CDAB'
    case 'CDAB':
      return 'ABCD'
    case 'BADC':
      return 'DCBA'
    case 'DCBA':
      return 'BADC'
  }
}
