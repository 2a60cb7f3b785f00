import { describe, expect, it } from 'vitest'
import { charTimeMs, frameTimeMs, interFrameGapMs, readRegistersFrameBytes, wireLimitPerSecond } from './rtu-timing.ts'

describe('RTU wire timing', () => {
  it('11 bits per character: 1.1458 ms at 9600 baud', () => {
    expect(charTimeMs(9600)).toBeCloseTo(11 / 9.6, 6)
    expect(frameTimeMs(8, 9600)).toBeCloseTo(88 / 9.6, 6)
  })

  it('t3.5 is 3.5 characters up to 19200 baud and fixed at 1.75 ms above (§2.5.1.1)', () => {
    expect(interFrameGapMs(9600)).toBeCloseTo(4.0104, 3)
    expect(interFrameGapMs(19200)).toBeCloseTo(2.0052, 3)
    expect(interFrameGapMs(38400)).toBe(1.75)
    expect(interFrameGapMs(115200)).toBe(1.75)
  })

  it('FC03 frames: request 8 bytes, response 5 + 2N', () => {
    expect(readRegistersFrameBytes(1)).toEqual({ request: 8, response: 7 })
    expect(readRegistersFrameBytes(125)).toEqual({ request: 8, response: 255 })
  })

  it('reproduces the figures of CONVENTIONS.md at 9600 baud: ~40 transactions/s for 1 register, ~404 registers/s at 125', () => {
    const one = wireLimitPerSecond({ baud: 9600, ...frames(1) })
    const many = wireLimitPerSecond({ baud: 9600, ...frames(125) })
    expect(one).toBeGreaterThan(39)
    expect(one).toBeLessThan(41)
    expect(many * 125).toBeGreaterThan(400)
    expect(many * 125).toBeLessThan(408)
  })

  it('a device turnaround lowers the limit', () => {
    expect(wireLimitPerSecond({ baud: 9600, ...frames(1), turnaroundMs: 25 })).toBeLessThan(wireLimitPerSecond({ baud: 9600, ...frames(1) }) / 1.9)
  })
})

function frames(n: number): { requestBytes: number; responseBytes: number } {
  const f = readRegistersFrameBytes(n)
  return { requestBytes: f.request, responseBytes: f.response }
}
