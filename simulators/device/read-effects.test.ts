import { describe, expect, it } from 'vitest'
import { resolveProfile, type ResolvedPoint } from '../../shared/profile/resolve.ts'
import type { Point } from '../../shared/profile/schema.ts'
import { isAnalog, noiseWords, sentinelWords, wrongOrderWords } from './read-effects.ts'

function point(p: Partial<Point> & Pick<Point, 'type'>): ResolvedPoint {
  const profile = resolveProfile({
    id: 'x-y@1',
    kind: 'water-level',
    vendor: 'x',
    model: 'y',
    firmware: '1',
    protocol: 'modbus',
    points: [{ name: 'p', table: 'holding', address: 0, ...p }],
  })
  return profile.points[0] as ResolvedPoint
}

describe('isAnalog', () => {
  it.each([
    [{ type: 'float32' }, true],
    [{ type: 'int16', scale: 0.1 }, true],
    [{ type: 'uint16', unit: 'm' }, true],
    [{ type: 'uint16', range: { max: 100 } }, true],
    [{ type: 'int16', offset: -40 }, true],
    [{ type: 'uint16' }, false],
    [{ type: 'uint32' }, false],
    [{ type: 'bit', bit: 2 }, false],
    [{ type: 'string', registers: 2 }, false],
  ] as const)('%o → %s', (p, analog) => {
    expect(isAnalog(point(p))).toBe(analog)
  })
})

describe('sentinelWords', () => {
  it.each([
    // Hand-computed: -32768 = 0x8000; 65535 = 0xFFFF; float32 -999.9 ≈ 0xC479F99A; float32 NaN = 0x7FC00000 (CDAB: 0000 7FC0).
    [{ type: 'int16', sentinels: [-32768, 32767] }, [0x8000]],
    [{ type: 'uint16', sentinels: [65535] }, [0xffff]],
    [{ type: 'float32', sentinels: [-999.9] }, [0xc479, 0xf99a]],
    [{ type: 'float32', order: 'CDAB' }, [0x0000, 0x7fc0]],
    [{ type: 'int16' }, undefined],
    [{ type: 'bool', sentinels: [1] }, undefined],
  ] as const)('%o → %o', (p, words) => {
    expect(sentinelWords(point(p as Partial<Point> & Pick<Point, 'type'>))).toEqual(words)
  })
})

describe('wrongOrderWords', () => {
  it.each([
    ['ABCD', undefined, [0x0102, 0x0304], [0x0304, 0x0102]],
    ['CDAB', undefined, [0x0304, 0x0102], [0x0102, 0x0304]],
    ['BADC', undefined, [0x0201, 0x0403], [0x0403, 0x0201]],
    ['ABCD', 'DCBA', [0x0102, 0x0304], [0x0403, 0x0201]],
  ] as const)('%s served as %s', (order, wrong, words, served) => {
    expect(wrongOrderWords(point({ type: 'uint32', order }), words, wrong)).toEqual(served)
  })

  it('leaves 16-bit points alone', () => {
    expect(wrongOrderWords(point({ type: 'int16', scale: 0.1 }), [1])).toBeUndefined()
  })
})

describe('noiseWords', () => {
  const seq = (...xs: number[]): (() => number) => () => xs.shift() ?? 0
  // scale 0.1, range 0..100: the default amplitude is (100 - 0) / 2 = 50 engineering units.
  const p = point({ type: 'uint16', scale: 0.1, range: { min: 0, max: 100 } })

  it('spikes down by (0.5 + u) × amplitude when u < 0.5: 50 - 0.7 × 50 = 15 → raw 150', () => {
    expect(noiseWords(p, [500], seq(0, 0.2))).toEqual([150])
  })

  it('spikes up by u × amplitude when u ≥ 0.5: 50 + 0.8 × 50 = 90 → raw 900', () => {
    expect(noiseWords(p, [500], seq(0, 0.8))).toEqual([900])
  })

  it('saturates at the type limit instead of wrapping: 10 - 45 → raw 0, not 65186', () => {
    expect(noiseWords(p, [100], seq(0, 0.4))).toEqual([0])
  })

  it('takes an explicit amplitude and probability', () => {
    expect(noiseWords(p, [500], seq(0.5, 0.5), { probability: 0.6, amplitude: 2 })).toEqual([510])
    expect(noiseWords(p, [500], seq(0.5, 0.5), { probability: 0.4 })).toBeUndefined()
  })

  it('draws exactly two deviates per analog point, hit or not, none for others', () => {
    let draws = 0
    const next = (): number => (draws++, 0.9)
    noiseWords(p, [500], next)
    noiseWords(point({ type: 'uint16' }), [1], next)
    expect(draws).toBe(2)
  })
})
