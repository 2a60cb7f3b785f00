import { DataType, DataValue, StatusCodes, Variant, VariantArrayType, type StatusCode } from 'node-opcua'
import { describe, expect, it } from 'vitest'
import { mapDataValue, sampleTime, statusError } from './data-value.ts'
import type { OpcuaPointSpec } from './spec.ts'

const point: OpcuaPointSpec = { name: 'speed_rpm', nodeId: 'ns=1;s=Pump1.Speed', range: { min: 0, max: 3000 } }
const dv = (dataType: DataType, value: unknown, statusCode: StatusCode = StatusCodes.Good) => new DataValue({ value: new Variant({ dataType, arrayType: VariantArrayType.Scalar, value }), statusCode })

describe('mapDataValue', () => {
  it.each([
    ['Double', dv(DataType.Double, 1450.5), { ok: true, value: 1450.5 }],
    ['Int32', dv(DataType.Int32, -7), { ok: false, error: { code: 'out_of_range', raw: -7, detail: 'value -7 is below min 0' } }],
    ['UInt16 at max', dv(DataType.UInt16, 3000), { ok: true, value: 3000 }],
    ['Double above max', dv(DataType.Double, 3000.5), { ok: false, error: { code: 'out_of_range', raw: 3000.5, detail: 'value 3000.5 is above max 3000' } }],
    ['NaN', dv(DataType.Double, Number.NaN), { ok: false, error: { code: 'nan', raw: 'NaN' } }],
    ['Infinity', dv(DataType.Float, Number.POSITIVE_INFINITY), { ok: false, error: { code: 'nan', raw: 'Infinity' } }],
    ['Boolean', dv(DataType.Boolean, true), { ok: true, value: true }],
    ['String', dv(DataType.String, 'auto'), { ok: true, value: 'auto' }],
    ['UInt64', dv(DataType.UInt64, [0, 2500]), { ok: true, value: 2500 }],
    ['Int64 -1 (out of range)', dv(DataType.Int64, [0xffffffff, 0xffffffff]), { ok: false, error: { code: 'out_of_range', raw: -1, detail: 'value -1 is below min 0' } }],
  ])('%s', (_name, value, expected) => {
    expect(mapDataValue(point, value)).toEqual(expected)
  })

  it('never yields a number for a bad status, whatever the variant holds', () => {
    expect(mapDataValue(point, dv(DataType.Double, 12, StatusCodes.BadSensorFailure))).toEqual({
      ok: false,
      error: { code: 'decode', detail: 'OPC UA status BadSensorFailure (0x808c0000)' },
    })
    expect(mapDataValue(point, dv(DataType.Double, 12, StatusCodes.UncertainLastUsableValue))).toMatchObject({ ok: false, error: { code: 'decode' } })
  })

  it('rejects what the wire contract cannot carry as decode errors', () => {
    expect(mapDataValue(point, dv(DataType.String, 'x'.repeat(257)))).toMatchObject({ ok: false, error: { code: 'decode' } })
    expect(mapDataValue(point, dv(DataType.UInt64, [0x00200000, 1]))).toMatchObject({ ok: false, error: { code: 'decode', raw: '9007199254740993' } })
    expect(mapDataValue(point, dv(DataType.DateTime, new Date()))).toMatchObject({ ok: false, error: { code: 'decode' } })
    expect(mapDataValue(point, new DataValue({ value: new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: [1, 2] }) }))).toMatchObject({
      ok: false,
      error: { code: 'decode', detail: 'Array of Double is not supported' },
    })
    expect(mapDataValue(point, new DataValue({}))).toMatchObject({ ok: false, error: { code: 'decode' } })
  })
})

describe('statusError', () => {
  it.each([
    [StatusCodes.BadNodeIdUnknown, 'decode'],
    [StatusCodes.BadTypeMismatch, 'decode'],
    [StatusCodes.BadCommunicationError, 'transport'],
    [StatusCodes.BadNotConnected, 'transport'],
    [StatusCodes.BadSessionClosed, 'transport'],
    [StatusCodes.BadTimeout, 'timeout'],
    [StatusCodes.BadRequestTimeout, 'timeout'],
    [StatusCodes.BadOutOfRange, 'out_of_range'],
  ])('%s → %s', (status, code) => {
    expect(statusError(status)).toEqual({ code, detail: expect.stringContaining(status.name) })
  })
})

describe('sampleTime', () => {
  const src = new Date('2025-11-25T06:40:00Z')
  const srv = new Date('2025-11-25T06:40:01Z')
  it('prefers sourceTimestamp, then serverTimestamp, then the fallback', () => {
    expect(sampleTime(new DataValue({ sourceTimestamp: src, serverTimestamp: srv }), 7)).toBe(src.getTime())
    expect(sampleTime(new DataValue({ serverTimestamp: srv }), 7)).toBe(srv.getTime())
    expect(sampleTime(new DataValue({}), 7)).toBe(7)
    expect(sampleTime(new DataValue({ sourceTimestamp: src, serverTimestamp: srv }), 7, 'server')).toBe(srv.getTime())
  })
  it('treats the OPC UA minimum date (1601) as no time', () => {
    expect(sampleTime(new DataValue({ sourceTimestamp: new Date(Date.UTC(1601, 0, 1)) }), 7)).toBe(7)
  })
})
