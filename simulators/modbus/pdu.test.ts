import { describe, expect, it } from 'vitest'
import { EXCEPTION, isException } from '../../shared/modbus/codes.ts'
import type { Table } from '../../shared/profile/schema.ts'
import { handlePdu, type DataModel, type DataResult } from './pdu.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)))
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')

/** A sparse data model: every address of the four tables readable unless listed as unmapped; writes recorded. */
class FakeModel implements DataModel {
  readonly tables = new Map<Table, Map<number, number>>([
    ['coil', new Map()],
    ['discrete', new Map()],
    ['input', new Map()],
    ['holding', new Map()],
  ])
  unmappedFrom = 0x10000
  throwOnRead = false
  readonly writes: { table: Table; address: number; values: readonly number[] }[] = []

  read(table: Table, address: number, count: number): DataResult<readonly number[]> {
    if (this.throwOnRead) throw new Error('sensor board not answering')
    if (address + count > this.unmappedFrom) return { ok: false, exception: EXCEPTION.illegalDataAddress }
    const t = this.tables.get(table)
    return { ok: true, value: Array.from({ length: count }, (_, i) => t?.get(address + i) ?? 0) }
  }

  write(table: 'coil' | 'holding', address: number, values: readonly number[]): DataResult<void> {
    if (address + values.length > this.unmappedFrom) return { ok: false, exception: EXCEPTION.illegalDataAddress }
    this.writes.push({ table, address, values: [...values] })
    values.forEach((v, i) => this.tables.get(table)?.set(address + i, v))
    return { ok: true, value: undefined }
  }
}

/** Bits of the spec's example bytes, LSB of the first byte first (§6.1 "the LSB of the first data byte contains the output addressed in the query"). */
function bitsOf(bytes: number[], count: number): number[] {
  return Array.from({ length: count }, (_, i) => ((bytes[i >> 3] ?? 0) >> (i & 7)) & 1)
}

describe('handlePdu: the examples of Modbus Application Protocol v1.1b3', () => {
  it('§6.1 read coils 20–38', () => {
    const m = new FakeModel()
    bitsOf([0xcd, 0x6b, 0x05], 19).forEach((b, i) => m.tables.get('coil')?.set(19 + i, b))
    expect(show(handlePdu(m, hex('01 00 13 00 13')))).toBe('01 03 CD 6B 05')
  })

  it('§6.2 read discrete inputs 197–218', () => {
    const m = new FakeModel()
    bitsOf([0xac, 0xdb, 0x35], 22).forEach((b, i) => m.tables.get('discrete')?.set(196 + i, b))
    expect(show(handlePdu(m, hex('02 00 C4 00 16')))).toBe('02 03 AC DB 35')
  })

  it('§6.3 read holding registers 108–110', () => {
    const m = new FakeModel()
    ;[0x022b, 0x0000, 0x0064].forEach((w, i) => m.tables.get('holding')?.set(107 + i, w))
    expect(show(handlePdu(m, hex('03 00 6B 00 03')))).toBe('03 06 02 2B 00 00 00 64')
  })

  it('§6.4 read input register 9', () => {
    const m = new FakeModel()
    m.tables.get('input')?.set(8, 0x000a)
    expect(show(handlePdu(m, hex('04 00 08 00 01')))).toBe('04 02 00 0A')
  })

  it('§6.5 write single coil 173 ON echoes the request', () => {
    const m = new FakeModel()
    expect(show(handlePdu(m, hex('05 00 AC FF 00')))).toBe('05 00 AC FF 00')
    expect(m.writes).toEqual([{ table: 'coil', address: 172, values: [1] }])
  })

  it('§6.6 write single register 2 = 3 echoes the request', () => {
    const m = new FakeModel()
    expect(show(handlePdu(m, hex('06 00 01 00 03')))).toBe('06 00 01 00 03')
    expect(m.writes).toEqual([{ table: 'holding', address: 1, values: [3] }])
  })

  it('§6.11 write 10 coils from 20', () => {
    const m = new FakeModel()
    expect(show(handlePdu(m, hex('0F 00 13 00 0A 02 CD 01')))).toBe('0F 00 13 00 0A')
    expect(m.writes).toEqual([{ table: 'coil', address: 19, values: [1, 0, 1, 1, 0, 0, 1, 1, 1, 0] }])
  })

  it('§6.12 write 2 registers from 2', () => {
    const m = new FakeModel()
    expect(show(handlePdu(m, hex('10 00 01 00 02 04 00 0A 01 02')))).toBe('10 00 01 00 02')
    expect(m.writes).toEqual([{ table: 'holding', address: 1, values: [0x000a, 0x0102] }])
  })
})

describe('handlePdu: exception responses (§7)', () => {
  it.each([
    { why: 'unsupported function 0x2B (§7 code 01)', req: '2B 0E 01 00', res: 'AB 01' },
    { why: 'unsupported function 0x07', req: '07', res: '87 01' },
    { why: 'FC03 quantity 0 (§6.3: 1..125)', req: '03 00 00 00 00', res: '83 03' },
    { why: 'FC03 quantity 126', req: '03 00 00 00 7E', res: '83 03' },
    { why: 'FC04 quantity 126', req: '04 00 00 00 7E', res: '84 03' },
    { why: 'FC01 quantity 2001 (§6.1: 1..2000)', req: '01 00 00 07 D1', res: '81 03' },
    { why: 'FC02 quantity 0', req: '02 00 00 00 00', res: '82 03' },
    { why: 'FC03 past the last address 65535', req: '03 FF FF 00 02', res: '83 02' },
    { why: 'FC01 past the last address', req: '01 FF F0 00 20', res: '81 02' },
    { why: 'FC03 request too short', req: '03 00 00 00', res: '83 03' },
    { why: 'FC05 value neither FF00 nor 0000 (§6.5)', req: '05 00 01 12 34', res: '85 03' },
    { why: 'FC15 byte count not ceil(N/8) (§6.11)', req: '0F 00 00 00 0A 01 FF', res: '8F 03' },
    { why: 'FC15 quantity 1969', req: '0F 00 00 07 B1 F7 ' + Array(247).fill('00').join(' '), res: '8F 03' },
    { why: 'FC16 byte count not 2N (§6.12)', req: '10 00 00 00 02 03 00 01 02', res: '90 03' },
    { why: 'FC16 quantity 124 (§6.12: 1..123)', req: '10 00 00 00 7C F8 ' + Array(248).fill('00').join(' '), res: '90 03' },
    { why: 'FC16 data shorter than its byte count', req: '10 00 00 00 02 04 00 01', res: '90 03' },
  ])('$why → $res', ({ req, res }) => {
    expect(show(handlePdu(new FakeModel(), hex(req)))).toBe(res)
  })

  it('serves the limits themselves: 125 registers and 2000 bits', () => {
    const m = new FakeModel()
    expect(handlePdu(m, hex('03 00 00 00 7D')).length).toBe(2 + 250)
    expect(handlePdu(m, hex('01 00 00 07 D0')).length).toBe(2 + 250)
    expect(handlePdu(m, hex('03 FF 83 00 7D'))[0]).toBe(0x03) // 0xFF83 + 125 = 65536: the last register is in range
  })

  it("passes the model's 02 for unmapped addresses through, reads and writes alike", () => {
    const m = new FakeModel()
    m.unmappedFrom = 10
    expect(show(handlePdu(m, hex('03 00 08 00 03')))).toBe('83 02')
    expect(show(handlePdu(m, hex('06 00 0A 00 01')))).toBe('86 02')
    expect(show(handlePdu(m, hex('10 00 09 00 02 04 00 01 00 02')))).toBe('90 02')
    expect(m.writes).toEqual([])
  })

  it('answers 04 server device failure when the model throws', () => {
    const m = new FakeModel()
    m.throwOnRead = true
    expect(show(handlePdu(m, hex('04 00 00 00 01')))).toBe('84 04')
  })

  it('answers an empty PDU without throwing', () => {
    expect(isException(handlePdu(new FakeModel(), new Uint8Array(0)))).toBe(true)
  })
})
