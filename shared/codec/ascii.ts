/**
 * ASCII strings packed two characters per register, the first character in the
 * high byte (as in ABCD order; BADC/DCBA devices put it in the low byte — the
 * caller undoes that with `reorder(..., 'word')` before calling these).
 */

/** Printable ASCII: space (0x20) through tilde (0x7E). */
export function isPrintableAscii(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e
}

/** Whether every character of `s` is printable ASCII. */
export function isPrintableAsciiString(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isPrintableAscii(s.charCodeAt(i))) return false
  return true
}

export type AsciiResult = { ok: true; text: string } | { ok: false; detail: string }

/**
 * Reads the characters of big-endian words. Trailing NULs and spaces (the padding
 * devices use) are trimmed; any other byte must be printable ASCII. A NUL followed
 * by a printable character is therefore an error, not a terminator: a device that
 * leaves garbage after a C-style terminator is reported, not silently cut short.
 */
export function decodeAscii(bytes: Uint8Array): AsciiResult {
  let end = bytes.length
  while (end > 0 && (bytes[end - 1] === 0x00 || bytes[end - 1] === 0x20)) end--
  let text = ''
  for (let i = 0; i < end; i++) {
    const b = bytes[i] ?? 0
    if (!isPrintableAscii(b)) {
      return { ok: false, detail: `byte ${i} is 0x${b.toString(16).padStart(2, '0')}, not printable ASCII` }
    }
    text += String.fromCharCode(b)
  }
  return { ok: true, text }
}

/**
 * Bytes of `text` padded with NULs to `length`. Takes the low 8 bits of each
 * character code and drops characters past `length`, without complaint: callers
 * that need checks make them first (encodePoint does; encodeRaw, for simulators
 * that must serve bad strings, does not).
 */
export function encodeAscii(text: string, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < Math.min(text.length, length); i++) bytes[i] = text.charCodeAt(i) & 0xff
  return bytes
}
