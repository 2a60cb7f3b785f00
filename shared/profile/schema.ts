/**
 * The firmware-profile format: one YAML file per device model and firmware version,
 * describing its Modbus register map and its quirks. A profile is data, never code
 * (EdgeX keeps `profiles/` apart from device instances for the same reason): the
 * port, unit id, poll interval and location of a device live in gateway config.
 *
 * This TypeBox schema is the single source of truth. `firmware-profiles/profile.schema.json`
 * is generated from it (`muni profiles schema`) and a test fails when the two drift.
 */
import Type, { type Static } from 'typebox'

/** Sensor kinds muni-iot knows. The kind decides the InfluxDB measurement and the default alarm rules. */
export const SENSOR_KINDS = ['manhole-cover', 'water-level', 'pipe-pressure'] as const
export type SensorKind = (typeof SENSOR_KINDS)[number]

/**
 * Modbus tables (Modbus Application Protocol v1.1b3 §4.3): coils (FC01/05/15),
 * discrete inputs (FC02), input registers (FC04), holding registers (FC03/06/16).
 */
export const TABLES = ['coil', 'discrete', 'input', 'holding'] as const
export type Table = (typeof TABLES)[number]

/**
 * Value types. `bool` is one coil or discrete input; `bit` is one bit of a 16-bit
 * register; `string` spans `registers` registers, two ASCII characters each.
 */
export const POINT_TYPES = ['bool', 'bit', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64', 'string'] as const
export type PointType = (typeof POINT_TYPES)[number]

/**
 * Byte order of a multi-register value, in Telegraf's names, A being the most
 * significant byte: ABCD big-endian, DCBA little-endian, BADC bytes swapped in
 * each word, CDAB words swapped (the most common on meters). For 64-bit values the
 * same four names extend by pattern (CDAB = GHEFCDAB); for 16-bit values and
 * strings only the byte swap within a word (BADC, DCBA) applies.
 */
export const WORD_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const
export type WordOrder = (typeof WORD_ORDERS)[number]

export const POLL_CLASSES = ['fast', 'slow'] as const
export type PollClass = (typeof POLL_CLASSES)[number]

export const ACCESS_MODES = ['read', 'readwrite'] as const
export type Access = (typeof ACCESS_MODES)[number]

export const ALARM_SEVERITIES = ['critical', 'major', 'minor', 'warning'] as const
export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number]

const Name = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$', description: 'snake_case identifier, unique in the profile' })
const Id = Type.String({
  pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*@[0-9A-Za-z][0-9A-Za-z._-]*$',
  description: 'vendor-model@firmware, lower-case; equals the file name without .yaml',
})

export const AlarmHintsSchema = Type.Object(
  {
    hihi: Type.Optional(Type.Number({ description: 'high-high level (critical)' })),
    hi: Type.Optional(Type.Number({ description: 'high level (major)' })),
    lo: Type.Optional(Type.Number({ description: 'low level (major)' })),
    lolo: Type.Optional(Type.Number({ description: 'low-low level (critical)' })),
    deadband: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'hysteresis: the alarm clears this far back inside its level' })),
    rateOfChange: Type.Optional(
      Type.Object(
        {
          delta: Type.Number({ description: 'change in engineering units (negative for a drop)' }),
          windowS: Type.Number({ exclusiveMinimum: 0, description: 'within this many seconds' }),
          severity: Type.Optional(Type.Enum(ALARM_SEVERITIES)),
        },
        { additionalProperties: false },
      ),
    ),
    state: Type.Optional(
      Type.Object(
        {
          value: Type.Union([Type.Boolean(), Type.Number()], { description: 'the value that means trouble (e.g. true for cover open)' }),
          severity: Type.Enum(ALARM_SEVERITIES),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'defaults for the alarm rules of this point; sites may override them' },
)

/**
 * Stuck-sensor detection. A working analogue sensor has noise: its raw registers are
 * never bit-identical for long. When they stay identical for more than `afterS` seconds
 * of the edge's sample time, the edge sends the point error `stuck` instead of the value,
 * until the registers change. `except` lists engineering values a healthy sensor may hold
 * indefinitely (0 m over a dry road: the gauge clamps to 0), which are never stuck.
 */
export const StuckSchema = Type.Object(
  {
    afterS: Type.Number({ exclusiveMinimum: 0, description: 'seconds the raw registers may stay identical before the point is stuck' }),
    except: Type.Optional(
      Type.Array(Type.Number(), { minItems: 1, description: 'engineering values a healthy sensor may hold for any time (e.g. 0 over a dry road); never stuck' }),
    ),
  },
  { additionalProperties: false, description: 'stuck-sensor detection: raw registers unchanged longer than afterS → point error stuck' },
)

export const PointSchema = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String()),
    unit: Type.Optional(Type.String({ description: 'engineering unit after scaling, e.g. m, bar, degC, %' })),
    table: Type.Enum(TABLES),
    address: Type.Integer({ minimum: 0, description: 'register/bit address in the profile\'s addressBase' }),
    type: Type.Enum(POINT_TYPES),
    bit: Type.Optional(Type.Integer({ minimum: 0, maximum: 15, description: 'bit number (0 = least significant) for type bit' })),
    registers: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 125, description: 'register count; required for string, checked against the type otherwise' }),
    ),
    order: Type.Optional(Type.Enum(WORD_ORDERS)),
    scale: Type.Optional(Type.Number({ description: 'engineering value = raw × scale + offset (default 1)' })),
    offset: Type.Optional(Type.Number({ description: 'default 0' })),
    access: Type.Optional(Type.Enum(ACCESS_MODES)),
    range: Type.Optional(
      Type.Object(
        { min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) },
        { additionalProperties: false, description: 'valid engineering range; a value outside it is an out_of_range error, not a number' },
      ),
    ),
    sentinels: Type.Optional(
      Type.Array(Type.Number(), { description: 'raw values the device sends for "no measurement" (e.g. 65535, -32768)' }),
    ),
    poll: Type.Optional(Type.Enum(POLL_CLASSES)),
    deadband: Type.Optional(Type.Number({ minimum: 0, description: 'report-by-exception: smallest change worth publishing' })),
    stuck: Type.Optional(StuckSchema),
    alarm: Type.Optional(AlarmHintsSchema),
  },
  { additionalProperties: false },
)

export const QuirksSchema = Type.Object(
  {
    maxRegistersPerRequest: Type.Optional(Type.Integer({ minimum: 1, maximum: 125, description: 'Modbus allows 125 (§6.3); many devices fewer' })),
    maxBitsPerRequest: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000 })),
    oneRequestPerField: Type.Optional(Type.Boolean({ description: 'never merge points into one read (Telegraf one_request_per_field)' })),
    pauseBetweenRequestsMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60000 })),
    turnaroundMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000, description: 'time the device takes to answer' })),
    forbiddenRanges: Type.Optional(
      Type.Array(
        Type.Object(
          { table: Type.Enum(TABLES), start: Type.Integer({ minimum: 0 }), end: Type.Integer({ minimum: 0 }) },
          { additionalProperties: false, description: 'addresses (inclusive, in addressBase) a merged read must not cover' },
        ),
      ),
    ),
  },
  { additionalProperties: false },
)

export const ProfileSchema = Type.Object(
  {
    id: Id,
    kind: Type.Enum(SENSOR_KINDS),
    vendor: Type.String({ minLength: 1 }),
    model: Type.String({ minLength: 1 }),
    firmware: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    protocol: Type.Literal('modbus'),
    addressBase: Type.Optional(
      Type.Union([Type.Literal(0), Type.Literal(1)], {
        description: '0 (default): protocol addresses as sent on the wire. 1: 1-based register numbers, optionally with the Modicon table prefix (40001 or 400001 = holding register 0)',
      }),
    ),
    defaults: Type.Optional(
      Type.Object(
        { order: Type.Optional(Type.Enum(WORD_ORDERS)), poll: Type.Optional(Type.Enum(POLL_CLASSES)) },
        { additionalProperties: false },
      ),
    ),
    quirks: Type.Optional(QuirksSchema),
    heartbeatS: Type.Optional(Type.Integer({ minimum: 1, description: 'report-by-exception: publish at least this often' })),
    points: Type.Array(PointSchema, { minItems: 1 }),
  },
  { additionalProperties: false, $id: 'https://muni-iot.dev/schemas/firmware-profile.json', title: 'muni-iot firmware profile' },
)

export type Profile = Static<typeof ProfileSchema>
export type Point = Static<typeof PointSchema>
export type Quirks = Static<typeof QuirksSchema>
export type AlarmHints = Static<typeof AlarmHintsSchema>
export type Stuck = Static<typeof StuckSchema>
