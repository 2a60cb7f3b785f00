/**
 * The Modbus PDU core of the simulators: request PDU in, response PDU out, against
 * a data model. Pure: no sockets, no timers, no framing (MBAP and RTU wrap it).
 * Function codes, exception codes and limits live in shared/modbus/codes.ts.
 * Clause numbers refer to the Modbus Application Protocol Specification v1.1b3.
 */
import { EXCEPTION, exceptionPdu, FC, LIMITS, type ExceptionCode } from '../../shared/modbus/codes.ts'
import type { Table } from '../../shared/profile/schema.ts'


/** Outcome of a data-model access: the values, or the exception to answer. */
export type DataResult<T> = { ok: true; value: T } | { ok: false; exception: ExceptionCode }

/**
 * What the PDU core reads and writes. Bits are 0/1, registers 0..65535. The core
 * has already checked quantities and the 65536-address ceiling; the model answers
 * for its own map (02 for unmapped addresses, 04 when it fails).
 */
export interface DataModel {
  read(table: Table, address: number, count: number): DataResult<readonly number[]>
  write(table: 'coil' | 'holding', address: number, values: readonly number[]): DataResult<void>
}

const READ_TABLE: Readonly<Record<number, Table>> = {
  [FC.readCoils]: 'coil',
  [FC.readDiscreteInputs]: 'discrete',
  [FC.readHoldingRegisters]: 'holding',
  [FC.readInputRegisters]: 'input',
}

/**
 * Answers one request PDU. Never throws: a model that throws gives 04 (server
 * device failure). Checks follow the state diagrams of §6.1–§6.12, in their order:
 * function code supported (else 01), quantity and byte count valid (else 03),
 * address + quantity within 65536 (else 02), then the model's own answer.
 */
export function handlePdu(model: DataModel, pdu: Uint8Array): Uint8Array {
  const fc = pdu[0]
  if (fc === undefined) return exceptionPdu(0, EXCEPTION.illegalFunction)
  try {
    switch (fc) {
      case FC.readCoils:
      case FC.readDiscreteInputs:
      case FC.readHoldingRegisters:
      case FC.readInputRegisters:
        return read(model, fc, pdu)
      case FC.writeSingleCoil:
        return writeSingleCoil(model, pdu)
      case FC.writeSingleRegister:
        return writeSingleRegister(model, pdu)
      case FC.writeMultipleCoils:
        return writeMultipleCoils(model, pdu)
      case FC.writeMultipleRegisters:
        return writeMultipleRegisters(model, pdu)
      default:
        // §7 code 01: "The function code received in the query is not an allowable action for the server".
        return exceptionPdu(fc, EXCEPTION.illegalFunction)
    }
  } catch {
    return exceptionPdu(fc, EXCEPTION.serverDeviceFailure)
  }
}

const u16 = (pdu: Uint8Array, at: number): number => ((pdu[at] ?? 0) << 8) | (pdu[at + 1] ?? 0)

/** §6.1–§6.4: FC01/02 answer packed bits, FC03/04 big-endian registers. */
function read(model: DataModel, fc: number, pdu: Uint8Array): Uint8Array {
  if (pdu.length !== 5) return exceptionPdu(fc, EXCEPTION.illegalDataValue)
  const table = READ_TABLE[fc] as Table
  const bits = table === 'coil' || table === 'discrete'
  const address = u16(pdu, 1)
  const count = u16(pdu, 3)
  // §6.1/§6.2: 1 ≤ quantity ≤ 0x07D0; §6.3/§6.4: 1 ≤ quantity ≤ 0x007D; else exception 03.
  if (count < 1 || count > (bits ? LIMITS.readBits : LIMITS.readRegisters)) return exceptionPdu(fc, EXCEPTION.illegalDataValue)
  // Starting address + quantity must stay in the 65536-entry table; else exception 02.
  if (address + count > 0x10000) return exceptionPdu(fc, EXCEPTION.illegalDataAddress)
  const r = model.read(table, address, count)
  if (!r.ok) return exceptionPdu(fc, r.exception)
  if (r.value.length !== count) return exceptionPdu(fc, EXCEPTION.serverDeviceFailure)
  if (bits) {
    // §6.1: byte count N = ceil(quantity / 8); the first bit is the LSB of the first byte; pad with zeros.
    const n = Math.ceil(count / 8)
    const out = new Uint8Array(2 + n)
    out[0] = fc
    out[1] = n
    r.value.forEach((v, i) => {
      if (v) out[2 + (i >> 3)] = (out[2 + (i >> 3)] ?? 0) | (1 << (i & 7))
    })
    return out
  }
  // §6.3: byte count 2 × N, then each register high byte first.
  const out = new Uint8Array(2 + 2 * count)
  out[0] = fc
  out[1] = 2 * count
  r.value.forEach((w, i) => {
    out[2 + 2 * i] = (w >>> 8) & 0xff
    out[3 + 2 * i] = w & 0xff
  })
  return out
}

/** §6.5: output value 0xFF00 (on) or 0x0000 (off), else exception 03; the response echoes the request. */
function writeSingleCoil(model: DataModel, pdu: Uint8Array): Uint8Array {
  const fc = FC.writeSingleCoil
  if (pdu.length !== 5) return exceptionPdu(fc, EXCEPTION.illegalDataValue)
  const value = u16(pdu, 3)
  if (value !== 0xff00 && value !== 0x0000) return exceptionPdu(fc, EXCEPTION.illegalDataValue)
  const r = model.write('coil', u16(pdu, 1), [value === 0xff00 ? 1 : 0])
  return r.ok ? pdu.slice() : exceptionPdu(fc, r.exception)
}

/** §6.6: any 16-bit value; the response echoes the request. */
function writeSingleRegister(model: DataModel, pdu: Uint8Array): Uint8Array {
  const fc = FC.writeSingleRegister
  if (pdu.length !== 5) return exceptionPdu(fc, EXCEPTION.illegalDataValue)
  const r = model.write('holding', u16(pdu, 1), [u16(pdu, 3)])
  return r.ok ? pdu.slice() : exceptionPdu(fc, r.exception)
}

/** §6.11: 1 ≤ quantity ≤ 0x07B0 and byte count = ceil(quantity / 8), else 03; the response echoes address and quantity. */
function writeMultipleCoils(model: DataModel, pdu: Uint8Array): Uint8Array {
  const fc = FC.writeMultipleCoils
  if (pdu.length < 6) return exceptionPdu(fc, EXCEPTION.illegalDataValue)
  const address = u16(pdu, 1)
  const count = u16(pdu, 3)
  const byteCount = pdu[5] ?? 0
  if (count < 1 || count > LIMITS.writeBits || byteCount !== Math.ceil(count / 8) || pdu.length !== 6 + byteCount) {
    return exceptionPdu(fc, EXCEPTION.illegalDataValue)
  }
  if (address + count > 0x10000) return exceptionPdu(fc, EXCEPTION.illegalDataAddress)
  const values = Array.from({ length: count }, (_, i) => ((pdu[6 + (i >> 3)] ?? 0) >> (i & 7)) & 1)
  const r = model.write('coil', address, values)
  return r.ok ? pdu.slice(0, 5) : exceptionPdu(fc, r.exception)
}

/** §6.12: 1 ≤ quantity ≤ 0x007B and byte count = 2 × quantity, else 03; the response echoes address and quantity. */
function writeMultipleRegisters(model: DataModel, pdu: Uint8Array): Uint8Array {
  const fc = FC.writeMultipleRegisters
  if (pdu.length < 6) return exceptionPdu(fc, EXCEPTION.illegalDataValue)
  const address = u16(pdu, 1)
  const count = u16(pdu, 3)
  const byteCount = pdu[5] ?? 0
  if (count < 1 || count > LIMITS.writeRegisters || byteCount !== 2 * count || pdu.length !== 6 + byteCount) {
    return exceptionPdu(fc, EXCEPTION.illegalDataValue)
  }
  if (address + count > 0x10000) return exceptionPdu(fc, EXCEPTION.illegalDataAddress)
  const values = Array.from({ length: count }, (_, i) => u16(pdu, 6 + 2 * i))
  const r = model.write('holding', address, values)
  return r.ok ? pdu.slice(0, 5) : exceptionPdu(fc, r.exception)
}
