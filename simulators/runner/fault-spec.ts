/**
 * The command-line spelling of a device fault (`simulators/device/faults.ts`):
 * `KIND[:PARAM[:PARAM]]`, optionally aimed at one device as `DEVICE=KIND…`. Pure.
 *
 *   none · no-response · exception:CODE · bad-crc · truncated · stuck ·
 *   noise[:PROBABILITY] · sentinel · dropout:FOR_MS[:EVERY_MS] · wrong-order[:ORDER]
 *
 * Exception codes are those a client can meet from a field device or a gateway
 * (Modbus Application Protocol v1.1b3 §7): 01 illegal function, 02 illegal data
 * address, 03 illegal data value, 04 server device failure, 06 server busy, 0B
 * gateway target failed to respond. Decimal (`11`) or hex (`0B`, `0x0b`).
 */
import { WORD_ORDERS, type WordOrder } from '../../shared/profile/schema.ts'
import { faultProblem, type Fault } from '../device/faults.ts'
import type { ExceptionCode } from '../../shared/modbus/codes.ts'

/** Exception codes accepted on the command line. */
export const CLI_EXCEPTION_CODES: readonly ExceptionCode[] = [0x01, 0x02, 0x03, 0x04, 0x06, 0x0b]

/** The accepted forms, for help texts and error messages. */
export const FAULT_FORMS = [
  'none',
  'no-response',
  'exception:CODE (CODE 1, 2, 3, 4, 6 or 11; hex like 0B also accepted)',
  'bad-crc',
  'truncated',
  'stuck',
  'noise[:PROBABILITY] (0..1)',
  'sentinel',
  'dropout:FOR_MS[:EVERY_MS] (EVERY_MS > FOR_MS)',
  `wrong-order[:ORDER] (${WORD_ORDERS.join(', ')})`,
] as const

export type FaultParse = { ok: true; fault: Fault } | { ok: false; reason: string }

/** Parses `KIND[:PARAM…]`; the reason of a failure says what was wrong, not the accepted forms (callers add those). */
export function parseFault(text: string): FaultParse {
  const [kind = '', ...params] = text.trim().split(':')
  const arity = (max: number): string | undefined => (params.length > max ? `${kind} takes ${max === 0 ? 'no parameter' : `at most ${max} parameter${max > 1 ? 's' : ''}`}` : undefined)
  const done = (fault: Fault, tooMany: string | undefined): FaultParse => {
    if (tooMany) return { ok: false, reason: tooMany }
    const problem = faultProblem(fault)
    return problem === undefined ? { ok: true, fault } : { ok: false, reason: problem }
  }
  switch (kind) {
    case 'none':
    case 'no-response':
    case 'bad-crc':
    case 'truncated':
    case 'stuck':
    case 'sentinel':
      return done({ kind }, arity(0))
    case 'exception': {
      const code = exceptionCode(params[0])
      if (code === undefined) {
        const codes = `${CLI_EXCEPTION_CODES.join(', ')} (e.g. exception:2, exception:0B)`
        return { ok: false, reason: params[0] === undefined ? `exception needs a code: one of ${codes}` : `exception code "${params[0]}" is not one of ${codes}` }
      }
      return done({ kind, code }, arity(1))
    }
    case 'noise': {
      if (params[0] === undefined) return done({ kind }, undefined)
      const p = number(params[0])
      if (p === undefined || p < 0 || p > 1) return { ok: false, reason: `noise probability "${params[0]}" is not a number from 0 to 1` }
      return done({ kind, probability: p }, arity(1))
    }
    case 'dropout': {
      const forMs = number(params[0])
      if (forMs === undefined || !(forMs > 0)) return { ok: false, reason: `dropout needs FOR_MS, a positive number of milliseconds (e.g. dropout:2000 or dropout:2000:10000)` }
      if (params[1] === undefined) return done({ kind, forMs }, arity(2))
      const everyMs = number(params[1])
      if (everyMs === undefined) return { ok: false, reason: `dropout EVERY_MS "${params[1]}" is not a number` }
      return done({ kind, forMs, everyMs }, arity(2))
    }
    case 'wrong-order': {
      if (params[0] === undefined) return done({ kind }, undefined)
      const order = params[0].toUpperCase()
      if (!(WORD_ORDERS as readonly string[]).includes(order)) return { ok: false, reason: `word order "${params[0]}" is not one of ${WORD_ORDERS.join(', ')}` }
      return done({ kind, order: order as WordOrder }, arity(1))
    }
    default:
      return { ok: false, reason: kind === '' ? 'empty fault' : `unknown fault kind "${kind}"` }
  }
}

/** `DEVICE=KIND…` → the device and the fault; without `DEVICE=` the fault applies to every device. */
export function parseTargetedFault(text: string): { ok: true; device?: string; fault: Fault } | { ok: false; reason: string } {
  const eq = text.indexOf('=')
  const device = eq >= 0 ? text.slice(0, eq).trim() : undefined
  if (device === '') return { ok: false, reason: 'nothing before "=": expected DEVICE=KIND' }
  const r = parseFault(eq >= 0 ? text.slice(eq + 1) : text)
  if (!r.ok) return r
  return device === undefined ? { ok: true, fault: r.fault } : { ok: true, device, fault: r.fault }
}

/** The inverse of `parseFault` (exception codes in decimal). */
export function formatFault(f: Fault): string {
  switch (f.kind) {
    case 'exception':
      return `exception:${f.code}`
    case 'noise':
      return f.probability === undefined ? 'noise' : `noise:${f.probability}`
    case 'dropout':
      return f.everyMs === undefined ? `dropout:${f.forMs}` : `dropout:${f.forMs}:${f.everyMs}`
    case 'wrong-order':
      return f.order === undefined ? 'wrong-order' : `wrong-order:${f.order}`
    default:
      return f.kind
  }
}

function exceptionCode(text: string | undefined): ExceptionCode | undefined {
  if (text === undefined) return undefined
  const t = text.trim()
  // All digits: decimal ("11", "04"); with 0x or a hex letter: hex ("0B", "0x0b", "b").
  const n = /^\d{1,3}$/.test(t) ? Number(t) : /^(?:0x)?[0-9a-f]{1,2}$/i.test(t) ? Number.parseInt(t.replace(/^0x/i, ''), 16) : NaN
  return (CLI_EXCEPTION_CODES as readonly number[]).includes(n) ? (n as ExceptionCode) : undefined
}

function number(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined
  const n = Number(text)
  return Number.isFinite(n) ? n : undefined
}
