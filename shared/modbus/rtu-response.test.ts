import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeRtu } from './rtu-frame.ts'
import { RtuResponseReader } from './rtu-response.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)))
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]))

// Unit 1's answer to "read input register 0": one register = 0x000A.
const ANSWER = encodeRtu(1, hex('04 02 00 0A'))
// Published frame: unit 1, exception 02 to FC03, CRC C0 F1.
const EXCEPTION_02 = '01 83 02 C0 F1'

function feed(reader: RtuResponseReader, bytes: Uint8Array, chunk = bytes.length): ReturnType<RtuResponseReader['push']>[] {
  const out: ReturnType<RtuResponseReader['push']>[] = []
  for (let i = 0; i < bytes.length; i += chunk) out.push(reader.push(bytes.subarray(i, i + chunk)))
  return out.filter((e) => e !== undefined)
}

describe('RtuResponseReader: the answer to one request (Modbus over Serial Line v1.02 §2.5.1)', () => {
  it('takes the answer delivered byte by byte, at its last byte', () => {
    const r = new RtuResponseReader(1, 0x04)
    const events = [...ANSWER].map((b) => r.push(Uint8Array.of(b)))
    expect(events.slice(0, -1).every((e) => e === undefined)).toBe(true)
    const last = events.at(-1)
    expect(last?.kind === 'response' && show(last.pdu)).toBe('04 02 00 0A')
    expect(r.pending).toBe(0)
  })

  it('takes a 5-byte exception frame (published bytes)', () => {
    const r = new RtuResponseReader(1, 0x03)
    const [e] = feed(r, hex(EXCEPTION_02))
    expect(e?.kind === 'response' && show(e.pdu)).toBe('83 02')
  })

  it('reports a bad CRC at the first byte at once', () => {
    const bad = ANSWER.slice()
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff
    const r = new RtuResponseReader(1, 0x04)
    expect(feed(r, bad)).toEqual([{ kind: 'bad-crc', detail: 'CRC mismatch in the 7-byte answer of unit 1 (FC 0x04)' }])
  })

  it('waits on a truncated answer: only the timeout can end it', () => {
    const r = new RtuResponseReader(1, 0x04)
    expect(feed(r, ANSWER.subarray(0, 3))).toEqual([])
    expect(r.pending).toBe(3)
    expect(r.suspectCrc).toBeUndefined()
  })

  it("skips another unit's late answer whole, then takes its own", () => {
    const r = new RtuResponseReader(1, 0x04)
    const late = encodeRtu(2, hex('03 04 01 03 00 07'))
    const [e] = feed(r, cat(late, ANSWER))
    expect(e?.kind === 'response' && show(e.pdu)).toBe('04 02 00 0A')
    expect(r.staleFrames).toBe(1)
    expect(r.garbageBytes).toBe(0)
  })

  it('skips its own unit’s late answer to another function code', () => {
    const r = new RtuResponseReader(1, 0x04)
    const [e] = feed(r, cat(encodeRtu(1, hex('03 02 12 34')), ANSWER), 3)
    expect(e?.kind).toBe('response')
    expect(r.staleFrames).toBe(1)
  })

  it('skips line noise byte by byte and counts it', () => {
    const r = new RtuResponseReader(1, 0x04)
    const [e] = feed(r, cat(hex('00 FF 13 7E'), ANSWER))
    expect(e?.kind === 'response' && show(e.pdu)).toBe('04 02 00 0A')
    expect(r.garbageBytes).toBe(4)
  })

  it('keeps a bad CRC found after noise as a suspicion, keeps looking, and reports it at the timeout', () => {
    const bad = ANSWER.slice()
    bad[5] = (bad[5] ?? 0) ^ 0x01
    const r = new RtuResponseReader(1, 0x04)
    expect(feed(r, cat(hex('FF FF'), bad, hex('00 00 00 00 00 00 00 00')))).toEqual([])
    expect(r.suspectCrc).toMatch(/CRC mismatch in the 7-byte answer/)
    expect(r.finish()).toBe(r.suspectCrc)
    const [e] = feed(r, ANSWER)
    expect(e?.kind).toBe('response')
  })

  it('at the timeout, finds a corrupted answer still buffered behind an incomplete frame', () => {
    const bad = ANSWER.slice()
    bad[6] = (bad[6] ?? 0) ^ 0x01
    const r = new RtuResponseReader(1, 0x04)
    // "07 03 10" announces a 21-byte frame of unit 7 that never completes.
    expect(feed(r, cat(hex('07 03 10'), bad))).toEqual([])
    expect(r.finish()).toMatch(/CRC mismatch in the 7-byte answer of unit 1 \(FC 0x04\)/)
    expect(new RtuResponseReader(1, 0x04).finish()).toBeUndefined()
  })

  it('does not stall on a chance match in noise that announces a long frame', () => {
    // "01 04 FA" looks like the start of a 255-byte answer; the real one follows complete.
    const r = new RtuResponseReader(1, 0x04)
    const [e] = feed(r, cat(hex('01 04 FA 00'), ANSWER))
    expect(e?.kind === 'response' && show(e.pdu)).toBe('04 02 00 0A')
    expect(r.garbageBytes).toBe(4)
  })

  it('finds its answer behind any noise that does not start with its own unit id', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1, max: 8 }), (noise, chunk) => {
        fc.pre(noise[0] !== 1)
        const r = new RtuResponseReader(1, 0x04)
        const events = feed(r, cat(noise, ANSWER), chunk)
        expect(events.length).toBeLessThanOrEqual(1)
        // A chance frame with a valid CRC inside the noise (~1 in 65536 per position) may be taken; otherwise the answer is found.
        const e = events[0]
        if (e?.kind === 'response' && show(e.pdu) !== '04 02 00 0A') return
        expect(e?.kind === 'response' && show(e.pdu)).toBe('04 02 00 0A')
      }),
    )
  })
})
