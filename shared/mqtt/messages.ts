/**
 * Payload schemas of wire contract v1: one TypeBox schema per topic kind, its static
 * type, and a validator compiled once at module load. docs/wire-contract.md explains
 * the rules these shapes carry (seq/dedupe, historical, session/Last Will, values vs
 * errors, timestamps).
 *
 * Every object rejects unknown fields (`additionalProperties: false`): ingest reports
 * them, it never strips them silently. Rules that span fields (a point in values and
 * errors, payload gateway vs topic gateway, …) are checked in `validate.ts`.
 */
import Type, { type Static, type TSchema } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { PointErrorSchema } from '../quality.ts'
import { ProfileSchema, SENSOR_KINDS } from '../profile/schema.ts'
import { ID_PATTERN, type TopicKind } from './topics.ts'

/** Size and range limits. A message over a limit is a violation, so a gateway must split its batches. */
export const LIMITS = Object.freeze({
  /** Largest encoded payload, in bytes (many managed brokers cap messages at 128–256 KiB). */
  payloadBytes: 256 * 1024,
  /** Readings in one telemetry batch. */
  readingsPerBatch: 1000,
  /** Points in the `values` (and, separately, the `errors`) of one reading. */
  pointsPerReading: 256,
  /** Characters in a string point value. */
  stringValueLength: 256,
  /** Devices in one birth. */
  devicesPerBirth: 1000,
  /** Largest timestamp: the last millisecond a JavaScript Date can hold (ECMA-262 §21.4.1.22). */
  timestampMs: 8_640_000_000_000_000,
  /** Shortest and longest poll interval `set-interval` may ask for. */
  intervalMs: { min: 100, max: 86_400_000 },
  /** Shortest and longest command timeout. */
  timeoutMs: { min: 100, max: 600_000 },
})

/** Point names: snake_case, as in firmware profiles. */
export const POINT_NAME_PATTERN = '^[a-z][a-z0-9_]{0,62}$'

/** Firmware-profile ids (`vendor-model@firmware`), the same pattern the profile schema enforces. */
export const PROFILE_ID_PATTERN: string = (ProfileSchema.properties.id as { pattern?: string }).pattern ?? '^$'

/** How long a gateway gives a command that carries no `timeoutMs`. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000

const Id = (description: string) => Type.String({ pattern: ID_PATTERN, description })
const Timestamp = (description: string) =>
  Type.Integer({ minimum: 0, maximum: LIMITS.timestampMs, description: `${description}; ms since 1970-01-01T00:00:00Z` })
const Counter = (description: string) => Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description })
const Text = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, description })

/**
 * A point value: a finite number, a boolean or a short string. One JSON Schema with a
 * type list, not a union, so a wrong value gets one precise reason. TypeBox's number
 * check rejects NaN and ±Infinity (JSON cannot carry NaN; `1e999` parses to Infinity).
 */
export const PointValueSchema = Type.Unsafe<number | boolean | string>({
  type: ['number', 'boolean', 'string'],
  maxLength: LIMITS.stringValueLength,
  description: 'finite number, boolean or string',
})
/** A point value. */
export type PointValue = Static<typeof PointValueSchema>

/**
 * A map keyed by point name. Keys are checked with `propertyNames`, so a bad name is
 * reported at its own path with the pattern it must match.
 */
const PointMap = <T extends TSchema>(value: T, description: string) =>
  Type.Record(Type.String(), value, {
    propertyNames: { pattern: POINT_NAME_PATTERN },
    maxProperties: LIMITS.pointsPerReading,
    description,
  })

/**
 * One device's sample at one instant. A point is in `values` or in `errors`, never both
 * (Neuron's split: "the sensor failed" is never confused with "the value is normal").
 */
export const ReadingSchema = Type.Object(
  {
    device: Id('device id, unique within the gateway (see the birth)'),
    ts: Timestamp('sample time at the edge, not the send time'),
    values: PointMap(PointValueSchema, 'point name → value, for points read successfully'),
    errors: PointMap(PointErrorSchema, 'point name → why the point has no value'),
    historical: Type.Boolean({
      description: 'true for store-and-forward backlog: stored, never used as the live value (Sparkplug 3.0 "historical")',
    }),
  },
  { additionalProperties: false },
)
/** One device's sample at one instant. */
export type Reading = Static<typeof ReadingSchema>

/**
 * `telemetry`: a batch of readings. `seq` is monotonic per gateway and survives restarts
 * (the edge persists it when it queues the batch); a redelivered batch carries the same
 * seq, and the cloud dedupes on (gateway, seq).
 */
export const TelemetryBatchSchema = Type.Object(
  {
    gateway: Id('the publishing gateway; must equal the topic gateway'),
    seq: Counter('batch sequence number: +1 per batch, per gateway, persisted across restarts; with no persisted value, start at the current ms'),
    sentAt: Timestamp('when the edge closed the batch; a resend repeats the same bytes, so sentAt does not change'),
    readings: Type.Array(ReadingSchema, { minItems: 1, maxItems: LIMITS.readingsPerBatch }),
  },
  { additionalProperties: false },
)
/** A telemetry batch. */
export type TelemetryBatch = Static<typeof TelemetryBatchSchema>

/** A WGS 84 position. */
export const LocationSchema = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90, description: 'latitude, degrees' }),
    lon: Type.Number({ minimum: -180, maximum: 180, description: 'longitude, degrees' }),
  },
  { additionalProperties: false },
)
/** A WGS 84 position. */
export type Location = Static<typeof LocationSchema>

/** One device in a birth: what it is, which profile decodes it, and where it sits. */
export const BirthDeviceSchema = Type.Object(
  {
    device: Id('device id, unique within the gateway'),
    profile: Type.String({ pattern: PROFILE_ID_PATTERN, description: 'firmware-profile id, e.g. acme-mc200@1.4; it declares the points' }),
    firmware: Text(64, 'firmware the device reports (or the profile declares, when the device cannot say)'),
    kind: Type.Enum(SENSOR_KINDS),
    bus: Text(128, 'the bus or connection the device is on, e.g. rs485-1 or tcp://10.0.0.5:502'),
    unit: Type.Optional(Type.Integer({ minimum: 0, maximum: 255, description: 'Modbus unit id' })),
    location: Type.Optional(LocationSchema),
    asset: Type.Optional(Text(64, 'municipal asset id (e.g. the manhole number in the GIS)')),
  },
  { additionalProperties: false },
)
/** One device in a birth. */
export type BirthDevice = Static<typeof BirthDeviceSchema>

/**
 * `birth` (retained): the gateway's inventory, published on every connect before the
 * `online` state. `session` is the connect counter (Sparkplug bdSeq): the state
 * messages of the same connection carry the same number.
 */
export const BirthSchema = Type.Object(
  {
    gateway: Id('must equal the topic gateway'),
    site: Id('must equal the topic site'),
    session: Counter('+1 on every connect, persisted across restarts'),
    ts: Timestamp('when this connection was made'),
    agent: Type.Object(
      {
        name: Text(64, 'edge agent name'),
        version: Text(64, 'edge agent version'),
      },
      { additionalProperties: false },
    ),
    devices: Type.Array(BirthDeviceSchema, { maxItems: LIMITS.devicesPerBirth }),
  },
  { additionalProperties: false },
)
/** A birth message. */
export type Birth = Static<typeof BirthSchema>

/** Values of `state`. */
export const GATEWAY_STATES = ['online', 'offline'] as const
/** `online` or `offline`. */
export type GatewayState = (typeof GATEWAY_STATES)[number]

/**
 * `state` (retained): `online` after the birth; `offline` as the MQTT Last Will, or
 * published on a clean shutdown. The cloud ignores a state whose `session` is older than
 * the newest birth's. The Last Will has no `ts`: it is written at connect time.
 */
export const StateSchema = Type.Object(
  {
    state: Type.Enum(GATEWAY_STATES),
    session: Counter('the session of the birth this state belongs to'),
    ts: Type.Optional(Timestamp('when the state was published; absent in the Last Will')),
  },
  { additionalProperties: false },
)
/** A state message. */
export type State = Static<typeof StateSchema>

/**
 * Device events:
 * - `available`: the device answers again (or for the first time since the birth).
 * - `unavailable`: the device stopped answering; `error` holds the last failure.
 * - `profile_mismatch`: the device's identity or firmware does not match its profile;
 *   `reason` says what differs. Its readings are not to be trusted until fixed.
 */
export const DEVICE_EVENTS = ['available', 'unavailable', 'profile_mismatch'] as const
/** One of `DEVICE_EVENTS`. */
export type DeviceEventType = (typeof DEVICE_EVENTS)[number]

/**
 * `events`: one device availability event. `error` is only allowed on `unavailable`;
 * `reason` is required on `profile_mismatch`.
 */
export const DeviceEventSchema = Type.Object(
  {
    device: Id('the device the event is about'),
    ts: Timestamp('when the gateway noticed'),
    event: Type.Enum(DEVICE_EVENTS),
    reason: Type.Optional(Text(200, 'human-readable explanation')),
    error: Type.Optional(PointErrorSchema),
  },
  { additionalProperties: false },
)
/** A device event. */
export type DeviceEvent = Static<typeof DeviceEventSchema>

const commandBase = {
  id: Text(64, 'unique per request; a redelivered request carries the same id'),
  ts: Timestamp('when the request was made'),
  timeoutMs: Type.Optional(
    Type.Integer({
      minimum: LIMITS.timeoutMs.min,
      maximum: LIMITS.timeoutMs.max,
      description: `the requester waits this long (default ${DEFAULT_COMMAND_TIMEOUT_MS}); past ts + timeoutMs the gateway answers expired instead of acting`,
    }),
  ),
}

/** `write`: write one point of one device. */
export const WriteCommandSchema = Type.Object(
  { type: Type.Literal('write'), ...commandBase, device: Id('target device'), point: Type.String({ pattern: POINT_NAME_PATTERN }), value: PointValueSchema },
  { additionalProperties: false },
)
/** `read`: poll a device now, out of schedule. */
export const ReadCommandSchema = Type.Object(
  { type: Type.Literal('read'), ...commandBase, device: Id('target device') },
  { additionalProperties: false },
)
/** `rebirth`: publish the birth again (Sparkplug "Node Control/Rebirth"). */
export const RebirthCommandSchema = Type.Object({ type: Type.Literal('rebirth'), ...commandBase }, { additionalProperties: false })
/** `set-interval`: change a device's poll interval until the gateway restarts. */
export const SetIntervalCommandSchema = Type.Object(
  {
    type: Type.Literal('set-interval'),
    ...commandBase,
    device: Id('target device'),
    intervalMs: Type.Integer({ minimum: LIMITS.intervalMs.min, maximum: LIMITS.intervalMs.max }),
  },
  { additionalProperties: false },
)

/** Command types, the discriminator of `CommandRequest`. */
export const COMMAND_TYPES = ['write', 'read', 'rebirth', 'set-interval'] as const
/** One of `COMMAND_TYPES`. */
export type CommandType = (typeof COMMAND_TYPES)[number]

/** `command`: a request to a gateway, discriminated on `type`. */
export const CommandRequestSchema = Type.Union([WriteCommandSchema, ReadCommandSchema, RebirthCommandSchema, SetIntervalCommandSchema])
/** A command request. */
export type CommandRequest = Static<typeof CommandRequestSchema>
/** A `write` request. */
export type WriteCommand = Static<typeof WriteCommandSchema>
/** A `read` request. */
export type ReadCommand = Static<typeof ReadCommandSchema>
/** A `rebirth` request. */
export type RebirthCommand = Static<typeof RebirthCommandSchema>
/** A `set-interval` request. */
export type SetIntervalCommand = Static<typeof SetIntervalCommandSchema>

/**
 * Why a command failed:
 * - `unknown_device`: no device with that id on this gateway.
 * - `unknown_point`: the device's profile has no such point.
 * - `not_writable`: the point is read-only (profile `access: read`).
 * - `out_of_range`: the value or interval is outside what the profile or gateway allows.
 * - `invalid`: the request is malformed (it failed `decode`); `id` is echoed when readable.
 * - `timeout`: the device did not answer in time.
 * - `expired`: `ts + timeoutMs` had passed when the gateway got the request; it did nothing.
 * - `busy`: the gateway's command queue is full; retry later.
 * - `device_error`: the device refused (e.g. a Modbus exception); `cause` says how.
 */
export const COMMAND_ERROR_CODES = [
  'unknown_device',
  'unknown_point',
  'not_writable',
  'out_of_range',
  'invalid',
  'timeout',
  'expired',
  'busy',
  'device_error',
] as const
/** One of `COMMAND_ERROR_CODES`. */
export type CommandErrorCode = (typeof COMMAND_ERROR_CODES)[number]

/** The error of a failed command. */
export const CommandErrorSchema = Type.Object(
  {
    code: Type.Enum(COMMAND_ERROR_CODES),
    message: Text(500, 'for people; never parsed'),
    cause: Type.Optional(PointErrorSchema),
  },
  { additionalProperties: false },
)
/** The error of a failed command. */
export type CommandError = Static<typeof CommandErrorSchema>

const responseBase = {
  id: Text(64, 'the id of the request answered'),
  ts: Timestamp('when the gateway answered'),
}

/** A successful answer. `result` is the fresh reading for `read`, the read-back reading for `write`. */
export const CommandSuccessSchema = Type.Object(
  { ...responseBase, ok: Type.Literal(true), result: Type.Optional(ReadingSchema) },
  { additionalProperties: false },
)
/** A failed answer. */
export const CommandFailureSchema = Type.Object(
  { ...responseBase, ok: Type.Literal(false), error: CommandErrorSchema },
  { additionalProperties: false },
)
/** `command/response`: the gateway's answer to one request, discriminated on `ok`. */
export const CommandResponseSchema = Type.Union([CommandSuccessSchema, CommandFailureSchema])
/** A command response. */
export type CommandResponse = Static<typeof CommandResponseSchema>

/** The payload type of each topic kind: zigbee2mqtt-style topic → payload map. */
export interface MessageByKind {
  telemetry: TelemetryBatch
  state: State
  birth: Birth
  events: DeviceEvent
  command: CommandRequest
  'command/response': CommandResponse
}

/** The payload schema of each topic kind. */
export const MESSAGE_SCHEMAS: Readonly<Record<TopicKind, TSchema>> = Object.freeze({
  telemetry: TelemetryBatchSchema,
  state: StateSchema,
  birth: BirthSchema,
  events: DeviceEventSchema,
  command: CommandRequestSchema,
  'command/response': CommandResponseSchema,
})

/** Validators compiled once: one per kind, and one per variant of the two unions. */
export const validators = Object.freeze({
  telemetry: Compile(TelemetryBatchSchema) as Validator,
  state: Compile(StateSchema) as Validator,
  birth: Compile(BirthSchema) as Validator,
  events: Compile(DeviceEventSchema) as Validator,
  command: Compile(CommandRequestSchema) as Validator,
  'command/response': Compile(CommandResponseSchema) as Validator,
  /** Per `type`: the union's own errors are one per branch; checking the chosen branch is exact. */
  commandVariants: new Map<unknown, Validator>([
    ['write', Compile(WriteCommandSchema)],
    ['read', Compile(ReadCommandSchema)],
    ['rebirth', Compile(RebirthCommandSchema)],
    ['set-interval', Compile(SetIntervalCommandSchema)],
  ]),
  /** The fields every command has, other fields allowed: checked when `type` is missing or unknown. */
  commandBase: Compile(Type.Object(commandBase)) as Validator,
  /** Per `ok`. */
  responseVariants: new Map<unknown, Validator>([
    [true, Compile(CommandSuccessSchema)],
    [false, Compile(CommandFailureSchema)],
  ]),
  /** The fields every response has, other fields allowed. */
  responseBase: Compile(Type.Object(responseBase)) as Validator,
})
