/**
 * A tiny seeded PRNG for the physical models. Same seed → the same sequence, bit
 * for bit, on every platform: mulberry32 uses only 32-bit integer arithmetic
 * (`Math.imul`, shifts), and the normal deviates below use only `Math.log`,
 * `Math.sqrt` and `Math.cos`, which V8 computes deterministically.
 *
 * Not for cryptography: 32 bits of state, period 2^32.
 */

/** A source of uniform deviates in [0, 1) plus the few distributions the models need. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number
  /** Normal with the given mean and standard deviation (Box–Muller). */
  normal(mean?: number, sd?: number): number
}

/** mulberry32 (Tommy Ettinger, public domain): one 32-bit state word. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An `Rng` seeded with a number or a string (a device id is a good seed). */
export function createRng(seed: number | string): Rng {
  const next = mulberry32(typeof seed === 'string' ? seedFromString(seed) : seed)
  let spare: number | undefined
  return {
    next,
    uniform: (min, max) => min + (max - min) * next(),
    normal(mean = 0, sd = 1) {
      if (spare !== undefined) {
        const z = spare
        spare = undefined
        return mean + sd * z
      }
      // 1 - next() is in (0, 1]: log never sees 0.
      const r = Math.sqrt(-2 * Math.log(1 - next()))
      const theta = 2 * Math.PI * next()
      spare = r * Math.sin(theta)
      return mean + sd * r * Math.cos(theta)
    },
  }
}

/** FNV-1a over the UTF-16 code units of `text`: a stable 32-bit seed for a name. */
export function seedFromString(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
