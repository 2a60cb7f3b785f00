/**
 * What a Modbus server (TCP or RTU) talks to behind one unit id: something that
 * answers a request PDU, possibly badly. The servers own framing and timing; the
 * unit decides what it says, and whether it says anything at all.
 */
import { EXCEPTION, exceptionPdu } from '../../shared/modbus/codes.ts'
import { handlePdu, type DataModel } from './pdu.ts'

/**
 * A unit's answer to one request.
 * - `response`: send this PDU normally.
 * - `silent`: send nothing; the client times out.
 * - `bad-crc`: send this PDU with a corrupted check field (RTU; see each server).
 * - `truncated`: send only part of the frame carrying this PDU.
 */
export type Reply =
  | { readonly kind: 'response'; readonly pdu: Uint8Array }
  | { readonly kind: 'silent' }
  | { readonly kind: 'bad-crc'; readonly pdu: Uint8Array }
  | { readonly kind: 'truncated'; readonly pdu: Uint8Array }

/** One addressable unit (a device, or a device behind a gateway). */
export interface ModbusUnit {
  /** Answers one request PDU (function code first). Must not throw. */
  respond(pdu: Uint8Array): Reply
  /** Time the unit takes between the end of a request and the start of its answer (RTU servers wait this long). */
  readonly turnaroundMs: number
}

/** Unit id → unit. A server keeps the map it was given, so units can be added or removed while it runs. */
export type UnitMap = ReadonlyMap<number, ModbusUnit>

/**
 * Asks `unit` for its reply; a unit that throws (a bug in a custom unit) gets
 * exception 04, server device failure, so the server keeps running.
 */
export function safeRespond(unit: ModbusUnit, pdu: Uint8Array): { reply: Reply; threw: boolean } {
  try {
    return { reply: unit.respond(pdu), threw: false }
  } catch {
    return { reply: { kind: 'response', pdu: exceptionPdu(pdu[0] ?? 0, EXCEPTION.serverDeviceFailure) }, threw: true }
  }
}

/** A well-behaved unit over a bare data model: every request answered by the PDU core. */
export function modelUnit(model: DataModel, turnaroundMs = 0): ModbusUnit {
  return { turnaroundMs, respond: (pdu) => ({ kind: 'response', pdu: handlePdu(model, pdu) }) }
}
