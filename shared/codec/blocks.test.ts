import { describe, it, expect } from 'vitest'
import { covers, decodeBlocks, type Block } from './blocks.ts'
import { pt } from './test-vectors.ts'

describe('decodeBlocks', () => {
  // holding 10..19 and 20..29 read as two blocks; coils 0..7 as one
  const points = [
    pt('uint16', { name: 'level', address: 10, scale: 0.01 }),
    pt('float32', { name: 'pressure', address: 11, order: 'CDAB' }),
    pt('int32', { name: 'straddler', address: 19 }), // 19..20 spans both blocks: covered by neither
    pt('uint16', { name: 'flow', address: 19, sentinels: [65535] }),
    pt('bit', { name: 'pump_on', address: 20, bit: 15 }),
    pt('string', { name: 'serial', address: 21, registers: 2 }),
    pt('uint16', { name: 'past_end', address: 30 }),
    pt('uint16', { name: 'other_table', table: 'input', address: 10 }),
    pt('bool', { name: 'cover_open', table: 'coil', address: 3 }),
    pt('bool', { name: 'alarm_bit', table: 'coil', address: 4 }),
    pt('string', { name: 'bad_text', address: 25 }),
  ]
  const holdingA: number[] = [1234, 0xe979, 0x42f6, 0, 0, 0, 0, 0, 0, 0xffff] // 10..19
  const holdingB: number[] = [0x8001, 0x5357, 0x3100, 0, 0, 0x41e9, 0, 0, 0, 0] // 20..29
  const blocks: Block[] = [
    { table: 'holding', start: 10, data: holdingA },
    { table: 'holding', start: 20, data: holdingB },
    { table: 'coil', start: 0, data: [false, false, false, true, 0, 1, 0, 0] },
  ]

  it('decodes covered points into values and errors, leaving uncovered ones out', () => {
    expect(decodeBlocks(points, blocks)).toEqual({
      values: {
        level: 12.34,
        pressure: Math.fround(123.456),
        pump_on: true,
        serial: 'SW1',
        cover_open: true,
        alarm_bit: false,
      },
      errors: {
        flow: { code: 'sentinel', raw: 65535 },
        bad_text: { code: 'decode', detail: 'byte 1 is 0xe9, not printable ASCII' },
      },
    })
  })

  it('the straddling point decodes once one block covers it', () => {
    const merged: Block = { table: 'holding', start: 10, data: [...holdingA, ...holdingB] }
    // 0xFFFF8001 as int32
    expect(decodeBlocks(points, [merged]).values.straddler).toBe(-32767)
  })

  it('works on typed arrays and an empty block list', () => {
    const r = decodeBlocks([pt('uint16', { name: 'x', address: 2 })], [{ table: 'input', start: 0, data: new Uint16Array([0, 0, 7]) }])
    expect(r).toEqual({ values: {}, errors: {} }) // x is a holding point
    const s = decodeBlocks([pt('uint16', { name: 'x', table: 'input', address: 2 })], [{ table: 'input', start: 0, data: new Uint16Array([0, 0, 7]) }])
    expect(s).toEqual({ values: { x: 7 }, errors: {} })
    expect(decodeBlocks(points, [])).toEqual({ values: {}, errors: {} })
  })

  it('a non-word in a register block is a decode error for the point that covers it', () => {
    const r = decodeBlocks([pt('uint16', { name: 'x' })], [{ table: 'holding', start: 0, data: [true] }])
    // booleans count as 1/0 …
    expect(r.values.x).toBe(1)
    const s = decodeBlocks([pt('uint16', { name: 'x' })], [{ table: 'holding', start: 0, data: [70000] }])
    expect(s.errors.x?.code).toBe('decode')
  })
})

describe('covers', () => {
  const p = pt('int32', { address: 5 })
  it.each([
    { start: 5, length: 2, want: true },
    { start: 0, length: 7, want: true },
    { start: 0, length: 6, want: false },
    { start: 6, length: 10, want: false },
  ])('block $start+$length covers 5..6: $want', ({ start, length, want }) => {
    expect(covers({ table: 'holding', start, data: new Array<number>(length).fill(0) }, p)).toBe(want)
  })
})
