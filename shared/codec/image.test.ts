import { describe, it, expect } from 'vitest'
import { encodeRaw } from './encode.ts'
import { decodeBlocks } from './blocks.ts'
import { encodeImage, readImage, writeWords } from './image.ts'
import { pt } from './test-vectors.ts'

const points = [
  pt('float32', { name: 'pressure', address: 100, order: 'CDAB' }),
  pt('uint16', { name: 'level', address: 102, scale: 0.01 }),
  pt('bit', { name: 'pump_a', address: 103, bit: 0 }),
  pt('bit', { name: 'pump_b', address: 103, bit: 15 }),
  pt('string', { name: 'serial', address: 104, registers: 2, order: 'BADC' }),
  pt('bool', { name: 'cover_open', table: 'coil', address: 7 }),
  pt('int16', { name: 'temp', table: 'input', address: 0 }),
]

describe('encodeImage', () => {
  it('places every value at its address, sharing registers between bit points', () => {
    const image = encodeImage(points, {
      pressure: Math.fround(123.456),
      level: 12.34,
      pump_a: true,
      pump_b: true,
      serial: 'SW1',
      cover_open: true,
      temp: -2,
    })
    expect(readImage(image, 'holding', 100, 6)).toEqual([0xe979, 0x42f6, 1234, 0x8001, 0x5753, 0x0031])
    expect(readImage(image, 'coil', 6, 2)).toEqual([0, 1])
    expect(readImage(image, 'input', 0, 1)).toEqual([0xfffe])
    expect([...image.keys()].sort()).toEqual(['coil', 'holding', 'input'])
  })

  it('clears a bit without touching its neighbour', () => {
    const image = encodeImage(points, { pump_a: true, pump_b: false })
    expect(readImage(image, 'holding', 103, 1)).toEqual([0x0001])
  })

  it('skips points without a value; unwritten addresses read as 0', () => {
    const image = encodeImage(points, { level: 1 })
    expect(readImage(image, 'holding', 99, 5)).toEqual([0, 0, 0, 100, 0])
    expect(image.has('coil')).toBe(false)
  })

  it('decodeBlocks reads back what encodeImage wrote', () => {
    const values = { pressure: Math.fround(-1.5), level: 655.35, pump_a: false, pump_b: true, serial: 'AB', cover_open: false, temp: 32767 }
    const image = encodeImage(points, values)
    const read = decodeBlocks(points, [
      { table: 'holding', start: 100, data: readImage(image, 'holding', 100, 6) },
      { table: 'coil', start: 0, data: readImage(image, 'coil', 0, 8) },
      { table: 'input', start: 0, data: readImage(image, 'input', 0, 1) },
    ])
    expect(read).toEqual({ values, errors: {} })
  })

  it('throws naming every value it cannot encode and every unknown name', () => {
    expect(() => encodeImage(points, { level: -1, temp: 'hot', nosuch: 1 })).toThrow(
      /nosuch: no such point.*level: raw -100 does not fit uint16.*temp: int16 point needs a number, got string/,
    )
  })
})

describe('writeWords', () => {
  it('lets a simulator serve a sentinel or NaN raw on purpose', () => {
    const image = encodeImage(points, { level: 1 })
    writeWords(image, 'holding', 102, encodeRaw(points[1]!, 65535))
    writeWords(image, 'holding', 100, encodeRaw(points[0]!, Number.NaN))
    expect(readImage(image, 'holding', 100, 3)).toEqual([0x0000, 0x7fc0, 0xffff])
  })
})
