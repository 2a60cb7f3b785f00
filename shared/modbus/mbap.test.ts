import { describe, expect, it } from 'vitest'
import { encodeMbap, splitMbap } from './mbap.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)))
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')

describe('MBAP framing (Modbus Messaging on TCP/IP Implementation Guide v1.0b §3.1.3)', () => {
  it('encodes transaction id, protocol 0, length = unit + PDU, unit id, PDU', () => {
    expect(show(encodeMbap({ transactionId: 0x1501, unitId: 0x11, pdu: hex('03 00 6B 00 03') }))).toBe('15 01 00 00 00 06 11 03 00 6B 00 03')
  })

  it('splits pipelined frames in one chunk and keeps a partial one for later', () => {
    const a = encodeMbap({ transactionId: 1, unitId: 1, pdu: hex('03 00 00 00 01') })
    const b = encodeMbap({ transactionId: 2, unitId: 7, pdu: hex('04 00 10 00 02') })
    const c = encodeMbap({ transactionId: 3, unitId: 1, pdu: hex('01 00 00 00 08') })
    const stream = Uint8Array.from([...a, ...b, ...c.slice(0, 9)])
    const first = splitMbap(stream)
    expect(first.frames.map((f) => [f.transactionId, f.unitId, show(f.pdu)])).toEqual([
      [1, 1, '03 00 00 00 01'],
      [2, 7, '04 00 10 00 02'],
    ])
    expect(first.consumed).toBe(a.length + b.length)
    const rest = Uint8Array.from([...stream.slice(first.consumed), ...c.slice(9)])
    expect(splitMbap(rest).frames.map((f) => f.transactionId)).toEqual([3])
  })

  it('waits for a header split across chunks', () => {
    expect(splitMbap(hex('00 01 00 00 00'))).toEqual({ frames: [], consumed: 0 })
  })

  it('returns frames with another protocol id for the caller to drop', () => {
    expect(splitMbap(hex('00 09 00 01 00 03 01 03 00')).frames[0]?.protocolId).toBe(1)
  })

  it.each(['00 01 00 00 00 01 01', '00 01 00 00 01 00 01 03', '00 01 00 00 FF FF 01'])('flags an impossible length as corrupt: %s', (s) => {
    const good = encodeMbap({ transactionId: 9, unitId: 1, pdu: hex('03 00 00 00 01') })
    const r = splitMbap(Uint8Array.from([...good, ...hex(s)]))
    expect(r.frames.map((f) => f.transactionId)).toEqual([9])
    expect(r.consumed).toBe(good.length)
    expect(r.corrupt).toMatch(/length/)
  })

  it('copies the PDU out of the input buffer', () => {
    const buf = encodeMbap({ transactionId: 1, unitId: 1, pdu: hex('03 00 00 00 01') })
    const [f] = splitMbap(buf).frames
    buf.fill(0)
    expect(show(f?.pdu ?? new Uint8Array())).toBe('03 00 00 00 01')
  })
})
