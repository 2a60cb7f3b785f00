import { describe, expect, it } from 'vitest'
import { FAULT_FORMS, formatFault, parseFault, parseTargetedFault } from './fault-spec.ts'

describe('parseFault', () => {
  it.each([
    ['none', { kind: 'none' }],
    ['no-response', { kind: 'no-response' }],
    ['exception:2', { kind: 'exception', code: 2 }],
    ['exception:04', { kind: 'exception', code: 4 }],
    ['exception:11', { kind: 'exception', code: 11 }],
    ['exception:0B', { kind: 'exception', code: 11 }],
    ['exception:0x0b', { kind: 'exception', code: 11 }],
    ['exception:b', { kind: 'exception', code: 11 }],
    ['exception:6', { kind: 'exception', code: 6 }],
    ['bad-crc', { kind: 'bad-crc' }],
    ['truncated', { kind: 'truncated' }],
    ['stuck', { kind: 'stuck' }],
    ['noise', { kind: 'noise' }],
    ['noise:0.25', { kind: 'noise', probability: 0.25 }],
    ['noise:1', { kind: 'noise', probability: 1 }],
    ['sentinel', { kind: 'sentinel' }],
    ['dropout:2000', { kind: 'dropout', forMs: 2000 }],
    ['dropout:2000:10000', { kind: 'dropout', forMs: 2000, everyMs: 10000 }],
    ['wrong-order', { kind: 'wrong-order' }],
    ['wrong-order:cdab', { kind: 'wrong-order', order: 'CDAB' }],
    [' stuck ', { kind: 'stuck' }],
  ])('%s', (text, fault) => {
    expect(parseFault(text)).toEqual({ ok: true, fault })
  })

  it.each([
    ['', 'empty fault'],
    ['bogus', 'unknown fault kind "bogus"'],
    ['exception', 'exception needs a code'],
    ['exception:7', 'exception code "7" is not one of 1, 2, 3, 4, 6, 11'],
    ['exception:5', 'exception code "5" is not one of'], // acknowledge: not an error a client should be tested with
    ['exception:0A', 'exception code "0A" is not one of'],
    ['exception:2:3', 'exception takes at most 1 parameter'],
    ['stuck:1', 'stuck takes no parameter'],
    ['noise:2', 'noise probability "2" is not a number from 0 to 1'],
    ['noise:x', 'noise probability "x"'],
    ['dropout', 'dropout needs FOR_MS'],
    ['dropout:0', 'dropout needs FOR_MS'],
    ['dropout:2000:1000', 'dropout everyMs 1000 must exceed forMs 2000'],
    ['dropout:1:2:3', 'dropout takes at most 2 parameters'],
    ['wrong-order:XYZW', 'word order "XYZW" is not one of ABCD, CDAB, BADC, DCBA'],
  ])('refuses %j', (text, reason) => {
    const r = parseFault(text)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.reason).toContain(reason)
  })

  it('formats back what it parses (exception codes in decimal)', () => {
    for (const text of ['none', 'exception:11', 'noise:0.5', 'dropout:100:1000', 'wrong-order:BADC', 'sentinel']) {
      const r = parseFault(text)
      expect(r.ok && formatFault(r.fault)).toBe(text)
    }
  })

  it('lists every kind in its accepted forms', () => {
    for (const kind of ['none', 'no-response', 'exception', 'bad-crc', 'truncated', 'stuck', 'noise', 'sentinel', 'dropout', 'wrong-order']) {
      expect(FAULT_FORMS.some((f) => f.startsWith(kind))).toBe(true)
    }
  })
})

describe('parseTargetedFault', () => {
  it.each([
    ['stuck', { ok: true, fault: { kind: 'stuck' } }],
    ['wl-cwm-01=no-response', { ok: true, device: 'wl-cwm-01', fault: { kind: 'no-response' } }],
    ['pp-dzm-01=exception:0B', { ok: true, device: 'pp-dzm-01', fault: { kind: 'exception', code: 11 } }],
    ['=stuck', { ok: false, reason: 'nothing before "=": expected DEVICE=KIND' }],
    ['x=bogus', { ok: false, reason: 'unknown fault kind "bogus"' }],
  ])('%s', (text, expected) => {
    expect(parseTargetedFault(text)).toEqual(expected)
  })
})
