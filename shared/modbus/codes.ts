/**
 * The numbers both ends of a Modbus link agree on: public function codes,
 * exception codes, per-request quantity limits, and the exception-response shape.
 * Clause numbers refer to the Modbus Application Protocol Specification v1.1b3.
 */

/** Public function codes of the four data tables (§5.1, §6.1–§6.12). */
export const FC = {
  readCoils: 0x01,
  readDiscreteInputs: 0x02,
  readHoldingRegisters: 0x03,
  readInputRegisters: 0x04,
  writeSingleCoil: 0x05,
  writeSingleRegister: 0x06,
  writeMultipleCoils: 0x0f,
  writeMultipleRegisters: 0x10,
} as const
/** One of the function codes of {@link FC}. */
export type FunctionCode = (typeof FC)[keyof typeof FC]

/** Exception codes (§7). */
export const EXCEPTION = {
  illegalFunction: 0x01,
  illegalDataAddress: 0x02,
  illegalDataValue: 0x03,
  serverDeviceFailure: 0x04,
  acknowledge: 0x05,
  serverDeviceBusy: 0x06,
  gatewayPathUnavailable: 0x0a,
  gatewayTargetFailedToRespond: 0x0b,
} as const
/** One of the exception codes of §7. */
export type ExceptionCode = (typeof EXCEPTION)[keyof typeof EXCEPTION]
/** Every exception code of §7. */
export const EXCEPTION_CODES: readonly ExceptionCode[] = Object.values(EXCEPTION)

/** The name §7 gives each exception code, for logs and metrics labels. */
export const EXCEPTION_NAMES: Readonly<Record<ExceptionCode, string>> = {
  0x01: 'illegal function',
  0x02: 'illegal data address',
  0x03: 'illegal data value',
  0x04: 'server device failure',
  0x05: 'acknowledge',
  0x06: 'server device busy',
  0x0a: 'gateway path unavailable',
  0x0b: 'gateway target device failed to respond',
}

/** Quantity limits per request (§6.1–§6.4, §6.11, §6.12). */
export const LIMITS = {
  /** FC01/02: 1..2000 bits (0x7D0). */
  readBits: 2000,
  /** FC03/04: 1..125 registers (0x7D). */
  readRegisters: 125,
  /** FC15: 1..1968 coils (0x7B0). */
  writeBits: 1968,
  /** FC16: 1..123 registers (0x7B). */
  writeRegisters: 123,
} as const

/** Whether a response PDU is an exception response (function code + 0x80, §7). */
export function isException(pdu: Uint8Array): boolean {
  return pdu.length === 2 && ((pdu[0] ?? 0) & 0x80) !== 0
}

/** Builds the exception response of `functionCode` (§7: function code | 0x80, then the code). */
export function exceptionPdu(functionCode: number, code: ExceptionCode): Uint8Array {
  return Uint8Array.of((functionCode | 0x80) & 0xff, code)
}

/** Whether a request PDU writes (FC05/06/15/16): the only requests a broadcast may carry (Modbus over Serial Line v1.02 §2.1). */
export function isWriteRequest(pdu: Uint8Array): boolean {
  const fc = pdu[0]
  return fc === FC.writeSingleCoil || fc === FC.writeSingleRegister || fc === FC.writeMultipleCoils || fc === FC.writeMultipleRegisters
}
