/**
 * The master's PDUs: request builders for the four tables and the four writes,
 * and the check of an answer against the request it answers. Pure; framing (MBAP,
 * RTU) wraps these. Clause numbers refer to the Modbus Application Protocol
 * Specification v1.1b3.
 *
 * A request that breaks the protocol's limits is a bug in the caller (the request
 * planner keeps within them), so the builders throw a RangeError rather than send
 * something a device will refuse. An answer, whatever it is, is a value:
 * {@link decodeResponse} never throws.
 */
import type { Table } from '../profile/schema.ts'
import { FC, LIMITS } from './codes.ts'

/** Read function code of each table (§6.1–§6.4). */
export const READ_FUNCTION: Readonly<Record<Table, 0x01 | 0x02 | 0x03 | 0x04>> = {
  coil: FC.readCoils,
  discrete: FC.readDiscreteInputs,
  holding: FC.readHoldingRegisters,
  input: FC.readInputRegisters,
}

/** What an answer says about its request. */
export type ResponseOutcome =
  /** A read's registers (16-bit words) or bits (0/1), as many as asked. */
  | { readonly kind: 'data'; readonly values: number[] }
  /** A write's echo, matching the request. */
  | { readonly kind: 'written' }
  /** An exception response (§7): the request's function code + 0x80, then the code. */
  | { readonly kind: 'exception'; readonly code: number }
  /** An answer that does not fit the request: other function code, wrong byte count, wrong echo, wrong length. */
  | { readonly kind: 'mismatch'; readonly detail: string }

/**
 * FC01/02/03/04 request (§6.1–§6.4): function code, starting address, quantity.
 * Throws a RangeError for a quantity outside 1..2000 bits / 1..125 registers or a
 * range past address 65535.
 */
export function encodeRead(table: Table, start: number, count: number): Uint8Array {
  const fc = READ_FUNCTION[table]
  if (fc === undefined) throw new RangeError(`unknown table ${String(table)}`)
  const bits = table === 'coil' || table === 'discrete'
  checkRange(start, count, bits ? LIMITS.readBits : LIMITS.readRegisters, bits ? 'bits' : 'registers')
  return Uint8Array.of(fc, start >>> 8, start & 0xff, count >>> 8, count & 0xff)
}

/**
 * Write request: one holding register → FC06 (§6.6), several → FC16 (§6.12); one
 * coil → FC05 (§6.5, ON = 0xFF00), several → FC15 (§6.11, LSB first). Registers
 * are 0..65535, coils 0 or 1. Throws a RangeError outside those, or for more than
 * 123 registers / 1968 coils, or past address 65535.
 */
export function encodeWrite(table: 'holding' | 'coil', start: number, values: readonly number[]): Uint8Array {
  if (table !== 'holding' && table !== 'coil') throw new RangeError(`table ${String(table)} is not writable`)
  const coils = table === 'coil'
  checkRange(start, values.length, coils ? LIMITS.writeBits : LIMITS.writeRegisters, coils ? 'coils' : 'registers')
  values.forEach((v, i) => {
    const ok = coils ? v === 0 || v === 1 : Number.isInteger(v) && v >= 0 && v <= 0xffff
    if (!ok) throw new RangeError(`value ${v} at index ${i} is not ${coils ? 'a coil state 0 or 1' : 'a 16-bit register 0..65535'}`)
  })
  const a = [start >>> 8, start & 0xff] as const
  if (values.length === 1) {
    const v = values[0] ?? 0
    // §6.5: 0xFF00 requests ON, 0x0000 OFF.
    if (coils) return Uint8Array.of(FC.writeSingleCoil, ...a, v ? 0xff : 0x00, 0x00)
    return Uint8Array.of(FC.writeSingleRegister, ...a, v >>> 8, v & 0xff)
  }
  const n = values.length
  if (coils) {
    // §6.11: byte count ceil(N/8); the first coil is the LSB of the first byte; unused bits zero.
    const bytes = Math.ceil(n / 8)
    const out = new Uint8Array(6 + bytes)
    out.set([FC.writeMultipleCoils, ...a, n >>> 8, n & 0xff, bytes])
    values.forEach((v, i) => {
      if (v) out[6 + (i >> 3)] = (out[6 + (i >> 3)] ?? 0) | (1 << (i & 7))
    })
    return out
  }
  // §6.12: byte count 2N, then each register high byte first.
  const out = new Uint8Array(6 + 2 * n)
  out.set([FC.writeMultipleRegisters, ...a, n >>> 8, n & 0xff, 2 * n])
  values.forEach((v, i) => {
    out[6 + 2 * i] = v >>> 8
    out[7 + 2 * i] = v & 0xff
  })
  return out
}

/**
 * Checks `response` against the `request` it answers and decodes it. Exceptions
 * (§7) are recognised by function code + 0x80 and a 2-byte PDU; reads must carry
 * exactly the byte count the quantity implies (§6.1–§6.4); FC05/06 must echo the
 * request, FC15/16 its address and quantity (§6.5, §6.6, §6.11, §6.12). Anything
 * else is a `mismatch`. Never throws.
 */
export function decodeResponse(request: Uint8Array, response: Uint8Array): ResponseOutcome {
  const fc = request[0] ?? 0
  const got = response[0]
  if (got === undefined) return mismatch('empty response')
  if (got === ((fc | 0x80) & 0xff)) {
    if (response.length !== 2) return mismatch(`exception response of ${response.length} bytes, expected 2`)
    return { kind: 'exception', code: response[1] ?? 0 }
  }
  if (got !== fc) return mismatch(`function code ${hex(got)}, expected ${hex(fc)}`)
  const count = u16(request, 3)
  switch (fc) {
    case FC.readCoils:
    case FC.readDiscreteInputs:
    case FC.readHoldingRegisters:
    case FC.readInputRegisters: {
      const bits = fc === FC.readCoils || fc === FC.readDiscreteInputs
      const expected = bits ? Math.ceil(count / 8) : 2 * count
      const byteCount = response[1]
      if (byteCount !== expected) return mismatch(`byte count ${byteCount ?? 'missing'}, expected ${expected} for ${count} ${bits ? 'bits' : 'registers'}`)
      if (response.length !== 2 + expected) return mismatch(`${response.length - 2} data bytes, byte count says ${expected}`)
      const values = bits
        ? Array.from({ length: count }, (_, i) => ((response[2 + (i >> 3)] ?? 0) >> (i & 7)) & 1)
        : Array.from({ length: count }, (_, i) => u16(response, 2 + 2 * i))
      return { kind: 'data', values }
    }
    case FC.writeSingleCoil:
    case FC.writeSingleRegister:
      return sameBytes(response, request, 5) ? { kind: 'written' } : mismatch(`echo ${show(response)} differs from request ${show(request)}`)
    case FC.writeMultipleCoils:
    case FC.writeMultipleRegisters:
      return sameBytes(response, request.subarray(0, 5), 5)
        ? { kind: 'written' }
        : mismatch(`answer ${show(response)} does not echo address and quantity ${show(request.subarray(0, 5))}`)
    default:
      return mismatch(`function code ${hex(fc)} is not one this client sends`)
  }
}

function checkRange(start: number, count: number, limit: number, unit: string): void {
  if (!Number.isInteger(start) || start < 0 || start > 0xffff) throw new RangeError(`start address ${start} is not 0..65535`)
  if (!Number.isInteger(count) || count < 1 || count > limit) throw new RangeError(`quantity ${count} is not 1..${limit} ${unit}`)
  if (start + count > 0x10000) throw new RangeError(`${start} + ${count} ${unit} runs past address 65535`)
}

function mismatch(detail: string): ResponseOutcome {
  return { kind: 'mismatch', detail }
}

function sameBytes(a: Uint8Array, b: Uint8Array, length: number): boolean {
  if (a.length !== length || b.length < length) return false
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false
  return true
}

const u16 = (b: Uint8Array, at: number): number => ((b[at] ?? 0) << 8) | (b[at + 1] ?? 0)
const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0').toUpperCase()}`
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')
