/**
 * Per-point error codes: why a point has no value in a reading. They travel in the
 * `errors` half of a telemetry reading (Neuron's values/errors split), so "the sensor
 * failed" is never confused with "the value is normal".
 */
import Type, { type Static } from 'typebox'

export const POINT_ERROR_CODES = [
  /** The raw value is one the profile declares as "no measurement" (e.g. 0xFFFF). */
  'sentinel',
  /** A float decoded to NaN or ±Infinity. */
  'nan',
  /** The engineering value lies outside the profile's valid range. */
  'out_of_range',
  /** The registers could not be decoded as the point's type (e.g. non-ASCII string, short block). */
  'decode',
  /** The device answered with a Modbus exception; `exception` holds its code. */
  'exception',
  /** No answer within the timeout. */
  'timeout',
  /** The answer failed its CRC (RTU) or was malformed/truncated. */
  'crc',
  /** The connection to the bus or gateway failed. */
  'transport',
  /** The value has not changed for longer than the profile allows (a stuck sensor). */
  'stuck',
] as const
export type PointErrorCode = (typeof POINT_ERROR_CODES)[number]

export const PointErrorSchema = Type.Object(
  {
    code: Type.Enum(POINT_ERROR_CODES),
    exception: Type.Optional(Type.Integer({ minimum: 1, maximum: 255, description: 'Modbus exception code when code is exception' })),
    raw: Type.Optional(Type.Union([Type.Number(), Type.String()], { description: 'the raw value that was rejected, when there is one' })),
    detail: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
)
export type PointError = Static<typeof PointErrorSchema>
