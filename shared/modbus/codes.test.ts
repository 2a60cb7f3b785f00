import { describe, expect, it } from 'vitest'
import { EXCEPTION, EXCEPTION_CODES, EXCEPTION_NAMES, exceptionPdu, FC, isException, isWriteRequest, LIMITS } from './codes.ts'

const hex = (s: string): Uint8Array => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)))
const show = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(' ')

describe('Modbus codes (Modbus Application Protocol v1.1b3)', () => {
  it('has the function codes of §6 and the limits of §6.1–§6.12', () => {
    expect(Object.values(FC)).toEqual([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0f, 0x10])
    expect(LIMITS).toEqual({ readBits: 0x7d0, readRegisters: 0x7d, writeBits: 0x7b0, writeRegisters: 0x7b })
  })

  it('has the eight exception codes of §7, each with a name', () => {
    expect(EXCEPTION_CODES).toEqual([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x0b])
    for (const code of EXCEPTION_CODES) expect(EXCEPTION_NAMES[code]).toMatch(/^[a-z ]+$/)
    expect(EXCEPTION_NAMES[EXCEPTION.gatewayTargetFailedToRespond]).toBe('gateway target device failed to respond')
  })

  it.each([
    [0x03, EXCEPTION.illegalDataAddress, '83 02'],
    [0x10, EXCEPTION.serverDeviceBusy, '90 06'],
    [0x01, EXCEPTION.gatewayPathUnavailable, '81 0A'],
  ] as const)('exception response of FC %i code %i: %s', (fc, code, pdu) => {
    expect(show(exceptionPdu(fc, code))).toBe(pdu)
    expect(isException(exceptionPdu(fc, code))).toBe(true)
  })

  it.each(['03 02 00 01', '83', '03 02'])('%s is not an exception response', (pdu) => {
    expect(isException(hex(pdu))).toBe(false)
  })
})

describe('request classification', () => {
  it.each([
    ['01 00 00 00 01', false],
    ['03 00 00 00 01', false],
    ['05 00 00 FF 00', true],
    ['06 00 00 00 01', true],
    ['0F 00 00 00 01 01 01', true],
    ['10 00 00 00 01 02 00 01', true],
  ] as const)('%s is a write: %s', (req, write) => {
    expect(isWriteRequest(hex(req))).toBe(write)
  })
})
