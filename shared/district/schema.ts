/**
 * The district description: the sites, roadside gateways, their Modbus buses and
 * the devices on them, where each device stands and which firmware profile it
 * speaks. It is a contract: the demo configuration, the edge agents' gateway
 * configs and the simulators are all generated from one district file.
 *
 * Device *instances* live here (bus, unit id, poll interval, location); the
 * register map lives in the firmware profile the device names (STYLE.md).
 *
 * This TypeBox schema is the single source of truth for the shape; `parse.ts`
 * adds the cross-references (ids unique, references resolve, unit ids unique
 * per bus) with file:line:column positions.
 */
import Type, { type Static } from 'typebox'
import { ID_PATTERN } from '../mqtt/topics.ts'
import { ProfileSchema } from '../profile/schema.ts'

/** An id that can be used as an MQTT topic level (`shared/mqtt/topics.ts`). */
export const IdSchema = Type.String({
  pattern: ID_PATTERN,
  description: 'ASCII letter or digit, then up to 63 letters, digits, _ or - (usable as an MQTT topic level)',
})

/** A firmware profile id, `vendor-model@firmware` (the profile's `id:`). */
export const ProfileIdSchema = Type.String({
  pattern: (ProfileSchema.properties.id as unknown as { pattern: string }).pattern,
  description: 'firmware profile id: vendor-model@firmware, as in the profile file',
})

/** WGS 84 position in decimal degrees. */
export const LocationSchema = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90, description: 'latitude, decimal degrees (WGS 84)' }),
    lon: Type.Number({ minimum: -180, maximum: 180, description: 'longitude, decimal degrees (WGS 84)' }),
  },
  { additionalProperties: false },
)

/** Serial speeds RS-485 Modbus devices use. */
export const BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] as const
export const PARITIES = ['none', 'even', 'odd'] as const
export type Parity = (typeof PARITIES)[number]

/** Modbus TCP, to a device or to an RTU-to-TCP converter in the cabinet. */
export const TcpBusSchema = Type.Object(
  {
    id: IdSchema,
    type: Type.Literal('tcp'),
    host: Type.String({ minLength: 1, description: 'host name or IP address' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port (502 for Modbus TCP)' }),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

/** Modbus RTU on an RS-485 line of the gateway. */
export const RtuBusSchema = Type.Object(
  {
    id: IdSchema,
    type: Type.Literal('rtu'),
    path: Type.String({ minLength: 1, description: 'serial device, e.g. /dev/ttyUSB0' }),
    baud: Type.Union(
      BAUD_RATES.map((b) => Type.Literal(b)),
      { description: 'bits per second' },
    ),
    parity: Type.Enum(PARITIES),
    stopBits: Type.Union([Type.Literal(1), Type.Literal(2)]),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

export const BusSchema = Type.Union([TcpBusSchema, RtuBusSchema])

export const SiteSchema = Type.Object(
  { id: IdSchema, name: Type.String({ minLength: 1 }), description: Type.Optional(Type.String()) },
  { additionalProperties: false },
)

export const GatewaySchema = Type.Object(
  {
    id: IdSchema,
    site: IdSchema,
    name: Type.String({ minLength: 1 }),
    location: LocationSchema,
    buses: Type.Array(BusSchema, { minItems: 1 }),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

/**
 * Physical parameters of an underpass for the water-level simulator (names and
 * units as `simulators/models/water-level.ts`); every field optional, defaults there.
 */
export const UnderpassModelSchema = Type.Object(
  {
    catchmentAreaM2: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'area draining to the low point, m²' })),
    runoffCoefficient: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of rain that runs off' })),
    drainCapacityM3S: Type.Optional(Type.Number({ minimum: 0, description: 'pump/drain design capacity, m³/s' })),
    blockage: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of drain capacity lost' })),
    sumpAreaM2: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'plan area of the sump, m²' })),
    sumpDepthM: Type.Optional(Type.Number({ minimum: 0, description: 'sump floor below the road low point, m' })),
    roadWidthM: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'flooding carriageway width, m' })),
    rampGradient: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'ramp grade, m/m' })),
    gaugeZeroM: Type.Optional(Type.Number({ description: 'gauge zero relative to the road low point, m (0 = road gauge)' })),
  },
  { additionalProperties: false },
)

/** Parameters of a water main for the pressure simulator (`simulators/models/pipe-pressure.ts`). */
export const PipeModelSchema = Type.Object(
  {
    nightPressureBar: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'pressure at the lowest demand, bar' })),
    peakPressureBar: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'pressure at the highest demand, bar' })),
    demandPattern: Type.Optional(
      Type.Array(Type.Number({ exclusiveMinimum: 0 }), { minItems: 24, maxItems: 24, description: '24 hourly demand multipliers, hour 0 first' }),
    ),
  },
  { additionalProperties: false },
)

/** Parameters of a manhole well for the cover simulator (`simulators/models/manhole-cover.ts`). */
export const CoverModelSchema = Type.Object(
  {
    wellDepthM: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'cover to invert, m' })),
    sensorDepthM: Type.Optional(Type.Number({ minimum: 0, description: 'immersion probe below the cover, m' })),
    rssiMeanDbm: Type.Optional(Type.Number({ minimum: -140, maximum: -20, description: 'mean received signal strength, dBm' })),
    linkedLevel: Type.Optional(
      Type.String({ pattern: ID_PATTERN, description: 'id of the water-level device whose water also fills this well' }),
    ),
    roadOffsetM: Type.Optional(Type.Number({ description: "height of this cover above the linked gauge's road low point, m" })),
  },
  { additionalProperties: false },
)

const deviceFields = {
  id: IdSchema,
  gateway: IdSchema,
  bus: IdSchema,
  unit: Type.Integer({ minimum: 1, maximum: 247, description: 'Modbus unit id (1–247, Modbus over Serial Line v1.02 §2.2)' }),
  profile: ProfileIdSchema,
  location: LocationSchema,
  asset: Type.String({ minLength: 1, description: "the city's asset number, e.g. MH-0412" }),
  street: Type.String({ minLength: 1, description: 'street the device is on' }),
  name: Type.Optional(Type.String()),
  pollIntervalMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000, description: 'poll interval, ms (default: the profile’s)' })),
  description: Type.Optional(Type.String()),
}

export const WaterLevelDeviceSchema = Type.Object(
  { ...deviceFields, kind: Type.Literal('water-level'), model: Type.Optional(UnderpassModelSchema) },
  { additionalProperties: false },
)
export const PipePressureDeviceSchema = Type.Object(
  { ...deviceFields, kind: Type.Literal('pipe-pressure'), model: Type.Optional(PipeModelSchema) },
  { additionalProperties: false },
)
export const ManholeCoverDeviceSchema = Type.Object(
  { ...deviceFields, kind: Type.Literal('manhole-cover'), model: Type.Optional(CoverModelSchema) },
  { additionalProperties: false },
)

/** A device; `kind` decides which `model` parameters apply. */
export const DeviceSchema = Type.Union([WaterLevelDeviceSchema, PipePressureDeviceSchema, ManholeCoverDeviceSchema])

export const DistrictSchema = Type.Object(
  {
    district: Type.Object(
      { id: IdSchema, name: Type.String({ minLength: 1 }), city: Type.Optional(Type.String()), description: Type.Optional(Type.String()) },
      { additionalProperties: false },
    ),
    sites: Type.Array(SiteSchema, { minItems: 1 }),
    gateways: Type.Array(GatewaySchema, { minItems: 1 }),
    devices: Type.Array(DeviceSchema),
  },
  { additionalProperties: false, $id: 'https://muni-iot.dev/schemas/district.json', title: 'muni-iot district description' },
)

export type District = Static<typeof DistrictSchema>
export type Site = Static<typeof SiteSchema>
export type Gateway = Static<typeof GatewaySchema>
export type Bus = Static<typeof BusSchema>
export type TcpBus = Static<typeof TcpBusSchema>
export type RtuBus = Static<typeof RtuBusSchema>
export type Device = Static<typeof DeviceSchema>
export type WaterLevelDevice = Static<typeof WaterLevelDeviceSchema>
export type PipePressureDevice = Static<typeof PipePressureDeviceSchema>
export type ManholeCoverDevice = Static<typeof ManholeCoverDeviceSchema>
export type Location = Static<typeof LocationSchema>
export type UnderpassModelParams = Static<typeof UnderpassModelSchema>
export type PipeModelParams = Static<typeof PipeModelSchema>
export type CoverModelParams = Static<typeof CoverModelSchema>
