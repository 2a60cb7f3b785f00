/**
 * CRC-16/MODBUS, the check field of an RTU frame (Modbus over Serial Line v1.02
 * §2.5.1.2 and Appendix B): polynomial 0x8005 reflected (0xA001), initial value
 * 0xFFFF, no final XOR. The CRC is sent low byte first, the only little-endian
 * field in Modbus.
 *
 * Table-driven, one byte per step: the table holds the CRC of each byte value
 * from a zero register, computed once at load by the bitwise definition.
 */

const POLY_REFLECTED = 0xa001

const TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1
    t[n] = c
  }
  return t
})()

/** CRC-16/MODBUS of `bytes[start..end)` (whole array by default). */
export function crc16(bytes: ArrayLike<number>, start = 0, end = bytes.length): number {
  let crc = 0xffff
  for (let i = start; i < end; i++) {
    crc = (crc >>> 8) ^ (TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0)
  }
  return crc
}

/** Appends the CRC of `body` to it, low byte first (§2.5.1.2). */
export function withCrc(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2)
  out.set(body)
  const crc = crc16(body)
  out[body.length] = crc & 0xff
  out[body.length + 1] = crc >>> 8
  return out
}

/** Whether `bytes[start..start+length)` ends with the correct CRC of what precedes it. */
export function hasValidCrc(bytes: ArrayLike<number>, start: number, length: number): boolean {
  if (length < 3 || start + length > bytes.length) return false
  const end = start + length - 2
  const crc = crc16(bytes, start, end)
  return (bytes[end] ?? -1) === (crc & 0xff) && (bytes[end + 1] ?? -1) === crc >>> 8
}
