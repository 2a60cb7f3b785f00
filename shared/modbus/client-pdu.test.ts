/**
 * The master's PDUs against the worked examples of Modbus Application Protocol
 * v1.1b3 (bytes copied from the spec, not computed by the code under test), and
 * round trips against the simulators' independent server core (`handlePdu`).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { handlePdu, type DataModel } from '../../simulators/modbus/pdu.ts'
import type { Table } from '../profile/schema.ts'
import { EXCEPTION_CODES } from './codes.ts'
import { decodeResponse, encodeRead, encodeWrite } from './client-pdu.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)))
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')
/** Bits of the spec's example bytes, LSB of the first byte first (§6.1). */
const bitsOf = (bytes: number[], count: number): number[] => Array.from({ length: count }, (_, i) => ((bytes[i >> 3] ?? 0) >> (i & 7)) & 1)

describe('request builders: the examples of §6', () => {
  it.each([
    { why: '§6.1 read coils 20–38', table: 'coil', start: 19, count: 19, pdu: '01 00 13 00 13' },
    { why: '§6.2 read discrete inputs 197–218', table: 'discrete', start: 196, count: 22, pdu: '02 00 C4 00 16' },
    { why: '§6.3 read holding registers 108–110', table: 'holding', start: 107, count: 3, pdu: '03 00 6B 00 03' },
    { why: '§6.4 read input register 9', table: 'input', start: 8, count: 1, pdu: '04 00 08 00 01' },
    { why: 'the limits: 125 registers', table: 'input', start: 0xff83, count: 125, pdu: '04 FF 83 00 7D' },
    { why: 'the limits: 2000 bits', table: 'coil', start: 0, count: 2000, pdu: '01 00 00 07 D0' },
  ] as const)('$why → $pdu', ({ table, start, count, pdu }) => {
    expect(show(encodeRead(table, start, count))).toBe(pdu)
  })

  it.each([
    { why: '§6.5 write coil 173 ON', table: 'coil', start: 172, values: [1], pdu: '05 00 AC FF 00' },
    { why: 'FC05 OFF', table: 'coil', start: 172, values: [0], pdu: '05 00 AC 00 00' },
    { why: '§6.6 write register 2 = 3', table: 'holding', start: 1, values: [3], pdu: '06 00 01 00 03' },
    { why: '§6.11 write 10 coils from 20', table: 'coil', start: 19, values: [1, 0, 1, 1, 0, 0, 1, 1, 1, 0], pdu: '0F 00 13 00 0A 02 CD 01' },
    { why: '§6.12 write 2 registers from 2', table: 'holding', start: 1, values: [0x000a, 0x0102], pdu: '10 00 01 00 02 04 00 0A 01 02' },
  ] as const)('$why → $pdu', ({ table, start, values, pdu }) => {
    expect(show(encodeWrite(table, start, values))).toBe(pdu)
  })

  it.each([
    { why: 'no registers', f: () => encodeRead('holding', 0, 0), msg: /quantity 0 is not 1\.\.125 registers/ },
    { why: '126 registers (§6.3)', f: () => encodeRead('input', 0, 126), msg: /quantity 126/ },
    { why: '2001 bits (§6.1)', f: () => encodeRead('discrete', 0, 2001), msg: /1\.\.2000 bits/ },
    { why: 'past address 65535', f: () => encodeRead('holding', 0xffff, 2), msg: /past address 65535/ },
    { why: 'a negative address', f: () => encodeRead('holding', -1, 1), msg: /start address -1/ },
    { why: 'a fractional quantity', f: () => encodeRead('coil', 0, 1.5), msg: /quantity 1\.5/ },
    { why: '124 registers (§6.12)', f: () => encodeWrite('holding', 0, Array(124).fill(0)), msg: /1\.\.123 registers/ },
    { why: '1969 coils (§6.11)', f: () => encodeWrite('coil', 0, Array(1969).fill(0)), msg: /1\.\.1968 coils/ },
    { why: 'nothing to write', f: () => encodeWrite('holding', 0, []), msg: /quantity 0/ },
    { why: 'a register of 65536', f: () => encodeWrite('holding', 0, [1, 65536]), msg: /value 65536 at index 1/ },
    { why: 'a negative register', f: () => encodeWrite('holding', 0, [-1]), msg: /value -1/ },
    { why: 'a coil of 2', f: () => encodeWrite('coil', 0, [2]), msg: /coil state 0 or 1/ },
    { why: 'a read-only table', f: () => encodeWrite('input' as 'holding', 0, [1]), msg: /not writable/ },
  ])('refuses $why with a RangeError', ({ f, msg }) => {
    expect(f).toThrow(RangeError)
    expect(f).toThrow(msg)
  })
})

describe('decodeResponse: answers checked against their requests', () => {
  it.each([
    { why: '§6.1 coils', req: '01 00 13 00 13', res: '01 03 CD 6B 05', values: bitsOf([0xcd, 0x6b, 0x05], 19) },
    { why: '§6.2 discrete inputs', req: '02 00 C4 00 16', res: '02 03 AC DB 35', values: bitsOf([0xac, 0xdb, 0x35], 22) },
    { why: '§6.3 holding registers', req: '03 00 6B 00 03', res: '03 06 02 2B 00 00 00 64', values: [0x022b, 0, 0x64] },
    { why: '§6.4 input register', req: '04 00 08 00 01', res: '04 02 00 0A', values: [10] },
  ])('$why: data', ({ req, res, values }) => {
    expect(decodeResponse(hex(req), hex(res))).toEqual({ kind: 'data', values })
  })

  it.each([
    { why: '§6.5 echo', req: '05 00 AC FF 00', res: '05 00 AC FF 00' },
    { why: '§6.6 echo', req: '06 00 01 00 03', res: '06 00 01 00 03' },
    { why: '§6.11 address + quantity', req: '0F 00 13 00 0A 02 CD 01', res: '0F 00 13 00 0A' },
    { why: '§6.12 address + quantity', req: '10 00 01 00 02 04 00 0A 01 02', res: '10 00 01 00 02' },
  ])('$why: written', ({ req, res }) => {
    expect(decodeResponse(hex(req), hex(res))).toEqual({ kind: 'written' })
  })

  it.each(EXCEPTION_CODES.map((code) => [code] as const))('exception code %i, whatever the function', (code) => {
    expect(decodeResponse(hex('03 00 00 00 01'), Uint8Array.of(0x83, code))).toEqual({ kind: 'exception', code })
    expect(decodeResponse(hex('10 00 01 00 01 02 00 01'), Uint8Array.of(0x90, code))).toEqual({ kind: 'exception', code })
  })

  it.each([
    { why: 'empty', req: '03 00 00 00 01', res: '', detail: /empty/ },
    { why: 'another function', req: '03 00 00 00 01', res: '04 02 00 0A', detail: /function code 0x04, expected 0x03/ },
    { why: "another function's exception", req: '03 00 00 00 01', res: '84 02', detail: /function code 0x84/ },
    { why: 'an exception of 3 bytes', req: '03 00 00 00 01', res: '83 02 00', detail: /exception response of 3 bytes/ },
    { why: 'an exception without code', req: '03 00 00 00 01', res: '83', detail: /exception response of 1 bytes/ },
    { why: 'a byte count for 2 registers when 1 was asked', req: '03 00 00 00 01', res: '03 04 00 01 00 02', detail: /byte count 4, expected 2/ },
    { why: 'fewer data bytes than the byte count', req: '03 00 00 00 02', res: '03 04 00 01 00', detail: /3 data bytes/ },
    { why: 'a bit read with a byte too many', req: '01 00 00 00 08', res: '01 02 FF 00', detail: /byte count 2, expected 1/ },
    { why: 'no byte count', req: '04 00 00 00 01', res: '04', detail: /byte count missing/ },
    { why: 'FC06 echo with another value', req: '06 00 01 00 03', res: '06 00 01 00 04', detail: /echo 06 00 01 00 04 differs/ },
    { why: 'FC05 echo at another address', req: '05 00 AC FF 00', res: '05 00 AD FF 00', detail: /differs/ },
    { why: 'FC16 answer with another quantity', req: '10 00 01 00 02 04 00 0A 01 02', res: '10 00 01 00 01', detail: /does not echo/ },
    { why: 'FC15 answer too long', req: '0F 00 13 00 0A 02 CD 01', res: '0F 00 13 00 0A 00', detail: /does not echo/ },
  ])('mismatch: $why', ({ req, res, detail }) => {
    const out = decodeResponse(hex(req), res === '' ? new Uint8Array(0) : hex(res))
    expect(out.kind).toBe('mismatch')
    expect(out.kind === 'mismatch' && out.detail).toMatch(detail)
  })
})

/** A data model that serves `value(table, address)` and records writes. */
function model(value: (t: Table, a: number) => number): DataModel & { writes: { table: Table; address: number; values: number[] }[] } {
  const writes: { table: Table; address: number; values: number[] }[] = []
  return {
    writes,
    read: (table, address, count) => ({ ok: true, value: Array.from({ length: count }, (_, i) => value(table, address + i)) }),
    write: (table, address, values) => {
      writes.push({ table, address, values: [...values] })
      return { ok: true, value: undefined }
    },
  }
}

const tables = fc.constantFrom<Table>('coil', 'discrete', 'holding', 'input')

describe('round trips through the simulators’ server core', () => {
  it('a read returns what the server served, for any table, address and legal quantity', () => {
    fc.assert(
      fc.property(tables, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 1, max: 2000 }), fc.integer(), (table, start, n, seed) => {
        const bits = table === 'coil' || table === 'discrete'
        const count = Math.min(bits ? n : 1 + (n % 125), 0x10000 - start)
        const value = (_t: Table, a: number): number => (bits ? ((a * 31 + seed) >>> 3) & 1 : (a * 2654435761 + seed) & 0xffff)
        const request = encodeRead(table, start, count)
        const out = decodeResponse(request, handlePdu(model(value), request))
        expect(out).toEqual({ kind: 'data', values: Array.from({ length: count }, (_, i) => value(table, start + i)) })
      }),
    )
  })

  it('a write lands as sent and its echo is accepted', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record({ table: fc.constant('holding' as const), values: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 123 }) }),
          fc.record({ table: fc.constant('coil' as const), values: fc.array(fc.constantFrom(0, 1), { minLength: 1, maxLength: 1968 }) }),
        ),
        fc.integer({ min: 0, max: 0xffff }),
        ({ table, values }, at) => {
          const start = Math.min(at, 0x10000 - values.length)
          const m = model(() => 0)
          const request = encodeWrite(table, start, values)
          expect(decodeResponse(request, handlePdu(m, request))).toEqual({ kind: 'written' })
          expect(m.writes).toEqual([{ table, address: start, values }])
        },
      ),
    )
  })

  it('never throws on any answer to any request', () => {
    fc.assert(
      fc.property(tables, fc.uint8Array({ maxLength: 260 }), (table, response) => {
        const out = decodeResponse(encodeRead(table, 0, 10), response)
        expect(['data', 'exception', 'mismatch']).toContain(out.kind)
      }),
    )
  })
})
