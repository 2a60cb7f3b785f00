import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc16, hasValidCrc, withCrc } from './crc.ts'

/** The bitwise definition (Modbus over Serial Line v1.02 §6.2.2), written out independently of the table. */
function crcBitwise(bytes: readonly number[]): number {
  let crc = 0xffff
  for (const b of bytes) {
    crc ^= b
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1
  }
  return crc
}

const hex = (s: string): number[] => s.split(' ').map((h) => parseInt(h, 16))

describe('CRC-16/MODBUS', () => {
  it.each([
    // Published vectors: an FC03 request (the CRC on the wire is C5 CD, low byte first) …
    { frame: '01 03 00 00 00 0A', wire: 'C5 CD' },
    // … the worked example of Modbus over Serial Line v1.02 §6.2.2 (CRC 0x1241, sent 41 12) …
    { frame: '02 07', wire: '41 12' },
    // … and the check value of the CRC catalogue (reveng: CRC-16/MODBUS check=0x4b37) for "123456789".
    { frame: '31 32 33 34 35 36 37 38 39', wire: '37 4B' },
    // The single-register read of slave 1 that most Modbus tutorials print.
    { frame: '01 03 00 00 00 01', wire: '84 0A' },
  ])('$frame → $wire', ({ frame, wire }) => {
    const body = Uint8Array.from(hex(frame))
    expect([...withCrc(body).slice(body.length)]).toEqual(hex(wire))
  })

  it('matches the bitwise definition for any bytes', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 300 }), (bytes) => crc16(bytes) === crcBitwise(bytes)))
  })

  it('accepts its own frames and rejects any single flipped bit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 254 }), fc.nat(), (body, pick) => {
        const frame = withCrc(body)
        expect(hasValidCrc(frame, 0, frame.length)).toBe(true)
        const bit = pick % (frame.length * 8)
        frame[bit >> 3] = (frame[bit >> 3] ?? 0) ^ (1 << (bit & 7))
        expect(hasValidCrc(frame, 0, frame.length)).toBe(false)
      }),
    )
  })

  it('checks a frame inside a larger buffer and refuses spans too short or past the end', () => {
    const frame = withCrc(Uint8Array.from(hex('01 03 00 00 00 0A')))
    const buf = Uint8Array.from([0xaa, ...frame, 0xbb])
    expect(hasValidCrc(buf, 1, frame.length)).toBe(true)
    expect(hasValidCrc(buf, 0, frame.length)).toBe(false)
    expect(hasValidCrc(buf, 1, 2)).toBe(false)
    expect(hasValidCrc(buf, 5, 10)).toBe(false)
  })
})
