import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hasValidCrc } from './crc.ts'
import { candidateLengths, encodeRtu, responseLength, RtuFrameReader } from './rtu-frame.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)))
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')
const frames = (r: { unitId: number; pdu: Uint8Array }[]): string[] => r.map((f) => `${f.unitId}: ${show(f.pdu)}`)

// Frames written out with their published CRCs, not computed by the code under test.
const READ_10 = '01 03 00 00 00 0A C5 CD'
const READ_1 = '01 03 00 00 00 01 84 0A'

describe('RTU framing (Modbus over Serial Line v1.02 §2.5.1)', () => {
  it('encodes unit + PDU + CRC low byte first', () => {
    expect(show(encodeRtu(1, hex('03 00 00 00 0A')))).toBe(READ_10)
  })

  it.each([
    { bytes: '01 03 00 00 00 0A', lengths: [8, 5] },
    { bytes: '01 03 FA', lengths: [8, 255] },
    { bytes: '11 06 00 01', lengths: [8] },
    { bytes: '11 10 00 01 00 02 04', lengths: [13, 8] },
    { bytes: '11 83 02', lengths: [5] },
  ])('candidate lengths of $bytes: $lengths', ({ bytes, lengths }) => {
    expect(candidateLengths(hex(bytes))).toEqual(lengths)
  })

  it('asks for more bytes when the length is not known yet, and gives up on unknown function codes', () => {
    expect(candidateLengths(hex('01'))).toBe('need')
    expect(candidateLengths(hex('01 10 00 01 00'))).toBe('need')
    expect(candidateLengths(hex('01 2B 0E'))).toBeUndefined()
  })
})

describe('response lengths, the master\'s direction', () => {
  it.each([
    { why: 'FC03 answer with 2 data bytes', bytes: '01 03 02', length: 7 },
    { why: 'FC03 answer with 125 registers', bytes: '01 03 FA', length: 255 },
    { why: 'FC01 answer with 1 data byte', bytes: '11 01 01', length: 6 },
    { why: 'FC02 answer', bytes: '11 02 03', length: 8 },
    { why: 'FC04 answer', bytes: '11 04 04', length: 9 },
    { why: 'FC05 echo', bytes: '11 05', length: 8 },
    { why: 'FC06 echo', bytes: '11 06', length: 8 },
    { why: 'FC15 address + quantity', bytes: '11 0F', length: 8 },
    { why: 'FC16 address + quantity', bytes: '11 10', length: 8 },
    { why: 'exception of FC03', bytes: '11 83', length: 5 },
    { why: 'exception of FC16', bytes: '11 90 02', length: 5 },
  ])('$why: $length bytes', ({ bytes, length }) => {
    expect(responseLength(hex(bytes))).toBe(length)
  })

  it('asks for the byte count of a read, and gives up on function codes a master never sends', () => {
    expect(responseLength(hex('01'))).toBe('need')
    expect(responseLength(hex('01 03'))).toBe('need')
    expect(responseLength(hex('01 2B 0E'))).toBeUndefined()
    expect(responseLength(hex('AA 01 03 04'), 1)).toBe(9)
  })
})

describe('RtuFrameReader', () => {
  it('finds a frame delivered byte by byte', () => {
    const r = new RtuFrameReader()
    const out = [...hex(READ_10)].flatMap((b) => r.push(Uint8Array.of(b)))
    expect(frames(out)).toEqual(['1: 03 00 00 00 0A'])
    expect(r.pending).toBe(0)
  })

  it('finds back-to-back frames in one chunk', () => {
    const r = new RtuFrameReader()
    expect(frames(r.push(hex(`${READ_10} ${READ_1}`)))).toEqual(['1: 03 00 00 00 0A', '1: 03 00 00 00 01'])
  })

  it('resynchronises after garbage and counts the dropped bytes', () => {
    const r = new RtuFrameReader()
    expect(frames(r.push(hex(`FF 00 13 ${READ_10}`)))).toEqual(['1: 03 00 00 00 0A'])
    expect(r.garbageBytes).toBe(3)
  })

  it('drops a frame with a bad CRC, then reads the next one', () => {
    const r = new RtuFrameReader()
    const bad = '01 03 00 00 00 0A C5 CE'
    const out = [...r.push(hex(bad)), ...r.push(hex(READ_1))]
    expect(frames(out)).toEqual(['1: 03 00 00 00 01'])
    expect(r.garbageBytes).toBe(8)
  })

  it("skips another slave's response on the bus", () => {
    const answer = encodeRtu(2, hex('03 02 12 34'))
    const r = new RtuFrameReader()
    expect(frames(r.push(Uint8Array.from([...answer, ...hex(READ_1)])))).toEqual(['2: 03 02 12 34', '1: 03 00 00 00 01'])
    expect(r.garbageBytes).toBe(0)
  })

  it('takes a frame with an unknown function code only after silence', () => {
    const r = new RtuFrameReader()
    const unknown = encodeRtu(1, hex('2B 0E 01 00'))
    expect(r.push(unknown)).toEqual([])
    expect(frames(r.flush())).toEqual(['1: 2B 0E 01 00'])
  })

  it('drops an incomplete frame as garbage at silence', () => {
    const r = new RtuFrameReader()
    expect(r.push(hex('01 03 00 00'))).toEqual([])
    expect(r.flush()).toEqual([])
    expect(r.garbageBytes).toBe(4)
    expect(frames(r.push(hex(READ_1)))).toEqual(['1: 03 00 00 00 01'])
  })

  it('never throws, and accounts for every byte: frames + garbage + pending = input', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 20 }), fc.boolean(), (chunks, flush) => {
        const r = new RtuFrameReader()
        let framed = 0
        let total = 0
        for (const c of chunks) {
          total += c.length
          for (const f of r.push(c)) {
            const bytes = encodeRtu(f.unitId, f.pdu)
            expect(hasValidCrc(bytes, 0, bytes.length)).toBe(true)
            framed += bytes.length
          }
        }
        if (flush) for (const f of r.flush()) framed += f.pdu.length + 3
        expect(framed + r.garbageBytes + r.pending).toBe(total)
        if (flush) expect(r.pending).toBe(0)
      }),
    )
  })
})
