/**
 * Moved to shared/modbus/rtu-timing.ts: Modbus framing is protocol both sides speak.
 * This re-export keeps bench/ and simulators/test-support/ compiling until their
 * imports point at shared/modbus/ directly; delete it then.
 */
export * from '../../shared/modbus/rtu-timing.ts'
