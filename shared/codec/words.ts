/**
 * Byte and word order of multi-register values, in Telegraf's names (A = most
 * significant byte): ABCD big-endian, DCBA little-endian, BADC bytes swapped in
 * each word, CDAB words swapped.
 *
 * Every order is a combination of two independent swaps applied to the
 * big-endian (ABCD) register sequence:
 *
 * | order | reverse the registers | swap the bytes in each register |
 * |-------|-----------------------|---------------------------------|
 * | ABCD  | no                    | no                              |
 * | CDAB  | yes                   | no                              |
 * | BADC  | no                    | yes                             |
 * | DCBA  | yes                   | yes                             |
 *
 * which gives, for 64-bit values, ABCDEFGH, GHEFCDAB, BADCFEHG and HGFEDCBA. Both
 * swaps are their own inverse and commute, so {@link reorder} converts wire order
 * to big-endian and back with the same call.
 */
import type { WordOrder } from '../profile/schema.ts'

/** Whether `order` reverses the sequence of registers of a multi-register value (CDAB, DCBA). */
export function swapsWords(order: WordOrder): boolean {
  return order === 'CDAB' || order === 'DCBA'
}

/** Whether `order` swaps the two bytes inside each register (BADC, DCBA). */
export function swapsBytes(order: WordOrder): boolean {
  return order === 'BADC' || order === 'DCBA'
}

/** Swaps the high and low byte of a 16-bit word. */
export function swapBytes(word: number): number {
  return ((word & 0xff) << 8) | ((word >>> 8) & 0xff)
}

/**
 * How far an order reaches: `value` applies it across all registers of one value
 * (32/64-bit numbers); `word` applies it to each register on its own, so only the
 * byte swap has an effect (16-bit numbers and strings, whose characters are read
 * register by register whatever the order).
 */
export type OrderScope = 'value' | 'word'

/**
 * Converts registers between `order` and big-endian (ABCD) order. The conversion is
 * an involution: `reorder(reorder(w, o), o)` equals `w`, so it serves decoding
 * (wire → big-endian) and encoding (big-endian → wire) alike.
 */
export function reorder(words: ArrayLike<number>, order: WordOrder, scope: OrderScope = 'value'): number[] {
  const out = Array.from(words)
  if (scope === 'value' && swapsWords(order)) out.reverse()
  return swapsBytes(order) ? out.map(swapBytes) : out
}

/** Big-endian bytes of 16-bit words (high byte first). */
export function wordsToBytes(words: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(words.length * 2)
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? 0
    bytes[2 * i] = (w >>> 8) & 0xff
    bytes[2 * i + 1] = w & 0xff
  }
  return bytes
}

/** 16-bit words of big-endian bytes; an odd trailing byte becomes the high byte of a last word. */
export function bytesToWords(bytes: ArrayLike<number>): number[] {
  const words: number[] = []
  for (let i = 0; i < bytes.length; i += 2) words.push((((bytes[i] ?? 0) & 0xff) << 8) | ((bytes[i + 1] ?? 0) & 0xff))
  return words
}

/**
 * Checks that `words` holds exactly `count` 16-bit words (integers 0..65535, as
 * Modbus libraries deliver them). Returns why not, or undefined when they are fine.
 */
export function wordsProblem(words: ArrayLike<number>, count: number): string | undefined {
  if (words.length !== count) {
    return `expected ${count} register${count === 1 ? '' : 's'}, got ${words.length}`
  }
  for (let i = 0; i < words.length; i++) {
    const w: unknown = words[i]
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 0xffff) {
      return `register ${i} is ${String(w).slice(0, 20)}, not a 16-bit word`
    }
  }
  return undefined
}
