/**
 * Register words → numbers, written out by hand for tests so that what a peer read
 * is decoded independently of the codec under test. Word orders as Telegraf names
 * them: ABCD big-endian, CDAB low word first.
 */

/** Bytes of `words` in ABCD order, given the order they were sent in. */
function bytesOf(words: readonly number[], order: 'ABCD' | 'CDAB'): Buffer {
  const ws = order === 'CDAB' ? [...words].reverse() : [...words]
  const b = Buffer.alloc(ws.length * 2)
  ws.forEach((w, i) => b.writeUInt16BE(w, i * 2))
  return b
}

export const float32 = (words: readonly number[], order: 'ABCD' | 'CDAB'): number => bytesOf(words, order).readFloatBE(0)
export const uint32 = (words: readonly number[], order: 'ABCD' | 'CDAB'): number => bytesOf(words, order).readUInt32BE(0)
export const int16 = (word: number): number => (word >= 0x8000 ? word - 0x10000 : word)
