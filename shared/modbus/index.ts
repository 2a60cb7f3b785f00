/**
 * Modbus as both sides speak it: codes and limits, PDUs of the master, CRC, MBAP
 * (TCP) and RTU framing, RTU wire timing. Pure TypeScript: no I/O. The edge's
 * drivers and the simulators' servers put these on a wire.
 */
export { EXCEPTION, EXCEPTION_CODES, EXCEPTION_NAMES, FC, LIMITS, exceptionPdu, isException, isWriteRequest, type ExceptionCode, type FunctionCode } from './codes.ts'
export { READ_FUNCTION, decodeResponse, encodeRead, encodeWrite, type ResponseOutcome } from './client-pdu.ts'
export { crc16, hasValidCrc, withCrc } from './crc.ts'
export { MAX_PDU_BYTES, MBAP_HEADER_BYTES, encodeMbap, splitMbap, type MbapFrame, type MbapSplit } from './mbap.ts'
export { MAX_RTU_FRAME_BYTES, RtuFrameReader, candidateLengths, encodeRtu, responseLength, type RtuFrame } from './rtu-frame.ts'
export { RtuResponseReader, type RtuResponseEvent } from './rtu-response.ts'
export { BITS_PER_CHAR, charTimeMs, frameTimeMs, interFrameGapMs, readRegistersFrameBytes, transactionTimeMs, wireLimitPerSecond } from './rtu-timing.ts'
