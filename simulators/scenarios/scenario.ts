/**
 * A scenario is a YAML timeline a simulator plays against a district: an optional
 * rainfall series (recorded, and cited), and events at simulated times aimed at
 * one device or a selection of devices (by kind, site, gateway or id).
 *
 * Times are simulated seconds from the start of the scenario, written as seconds
 * (`90`) or as a clock (`"00:01:30"`, hours may exceed 24). The runner maps
 * simulated time to wall-clock time with whatever speed factor it likes.
 *
 * This TypeBox schema is the single source of truth for the file format;
 * `parse.ts` adds the checks a schema cannot express, with file:line:column.
 */
import { FAULT_KINDS } from '../device/faults.ts'
import { EXCEPTION_CODES } from '../../shared/modbus/codes.ts'
import Type, { type Static, type TSchema } from 'typebox'
import { ID_PATTERN } from '../../shared/mqtt/topics.ts'
import { SENSOR_KINDS, WORD_ORDERS, type SensorKind } from '../../shared/profile/schema.ts'

/** `H:MM:SS`, hours unbounded, optional fraction of a second. */
export const CLOCK_PATTERN = '^\\d+:[0-5]\\d:[0-5]\\d(?:\\.\\d+)?$'
/** ISO 8601 date-time with an explicit offset: `2013-07-07T23:00:00+08:00`. */
export const START_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(?::\\d{2})?(?:Z|[+-]\\d{2}:\\d{2})$'

const Id = Type.String({ pattern: ID_PATTERN, description: 'a district id (site, gateway or device)' })

/** A simulated time or duration: seconds, or a `H:MM:SS` clock. */
export const TimeSchema = Type.Unsafe<number | string>({
  // One schema with two types rather than a union, so a wrong clock is told about
  // the clock format and a negative number about the minimum.
  type: ['number', 'string'],
  minimum: 0,
  pattern: CLOCK_PATTERN,
  description: 'seconds (90) or a clock "H:MM:SS" ("00:01:30")',
})

/** Which devices an event is aimed at: every given field must match. */
export const SelectorSchema = Type.Object(
  {
    kind: Type.Optional(Type.Enum(SENSOR_KINDS)),
    site: Type.Optional(Id),
    gateway: Type.Optional(Id),
    device: Type.Optional(Id),
  },
  { additionalProperties: false, minProperties: 1 },
)

/** Where a recorded series comes from. Scenarios that replay real data must say. */
export const SourceSchema = Type.Object(
  {
    title: Type.String({ minLength: 1 }),
    authors: Type.String({ minLength: 1, description: 'authors or agency' }),
    year: Type.Integer({ minimum: 1800, maximum: 2200 }),
    publisher: Type.Optional(Type.String()),
    identifier: Type.Optional(Type.String({ description: 'DOI or URL' })),
    station: Type.Optional(Type.String({ description: 'station or area the values belong to' })),
    extract: Type.Optional(Type.String({ description: 'which rows/columns were taken and how' })),
    notes: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
)

/** Rainfall as mean intensities over consecutive equal intervals. */
export const RainfallSchema = Type.Object(
  {
    interval: TimeSchema,
    unit: Type.Optional(Type.Literal('mm/h', { description: 'values are mean intensities over each interval' })),
    start: Type.Optional(TimeSchema),
    values: Type.Array(Type.Number({ minimum: 0, maximum: 500 }), { minItems: 1 }),
    select: Type.Optional(SelectorSchema),
  },
  { additionalProperties: false },
)

/**
 * Sensor faults a simulated device can be told to show (implemented in
 * `simulators/device/`). `none` clears every fault of the target.
 */
export const FAULT_MODES = FAULT_KINDS
export type FaultMode = (typeof FAULT_MODES)[number]

const common = {
  at: TimeSchema,
  device: Type.Optional(Id),
  select: Type.Optional(SelectorSchema),
  note: Type.Optional(Type.String()),
}

function eventSchema(action: Action, params?: TSchema, required = false) {
  return Type.Object(
    {
      ...common,
      action: Type.Literal(action),
      ...(params === undefined ? {} : { params: required ? params : Type.Optional(params) }),
    },
    { additionalProperties: false },
  )
}

export const BurstParamsSchema = Type.Object(
  {
    dropBar: Type.Number({ exclusiveMinimum: 0, maximum: 20, description: 'pressure drop, bar' }),
    fallS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'seconds to fall to the lower plateau (default 5)' })),
  },
  { additionalProperties: false },
)
export const ValveSlamParamsSchema = Type.Object(
  {
    surgeBar: Type.Number({ exclusiveMinimum: 0, maximum: 30, description: 'first surge crest above the pressure before, bar' }),
    periodS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'oscillation period 4L/a, s (default 4)' })),
    dampingS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'decay time constant, s (default 12)' })),
  },
  { additionalProperties: false },
)
export const RecoverParamsSchema = Type.Object(
  { rampS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'seconds to ramp back (default 60)' })) },
  { additionalProperties: false },
)
export const OpenCoverParamsSchema = Type.Object(
  {
    tiltDeg: Type.Optional(Type.Number({ minimum: 0, maximum: 90, description: 'tilt once open (default: drawn from 60–90°)' })),
    displaced: Type.Optional(Type.Boolean({ description: 'lifted out of its frame (theft)' })),
  },
  { additionalProperties: false },
)
export const ImpactParamsSchema = Type.Object(
  {
    spikeDeg: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 90, description: 'tilt spike, ° (default 4)' })),
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'number of impacts (default 1)' })),
    spacingS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'seconds between impacts when count > 1 (default 2)' })),
  },
  { additionalProperties: false },
)
export const FaultParamsSchema = Type.Object(
  {
    mode: Type.Enum(FAULT_MODES),
    code: Type.Optional(Type.Enum([...EXCEPTION_CODES] as [number, ...number[]], { description: 'Modbus exception code the simulated device answers (mode exception)' })),
    point: Type.Optional(Type.String({ minLength: 1, description: 'limit the fault to one profile point' })),
    probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of requests lost (mode dropout)' })),
    amplitude: Type.Optional(Type.Number({ minimum: 0, description: 'noise standard deviation in engineering units (mode noise)' })),
    value: Type.Optional(Type.Number({ description: 'stuck value, or raw sentinel to send (modes stuck, sentinel)' })),
    order: Type.Optional(Type.Enum(WORD_ORDERS, { description: 'word order the device wrongly uses (mode wrong-order)' })),
  },
  { additionalProperties: false },
)

/** One event; `action` decides which `params` apply (required for burst, valve-slam and fault). */
export const EventSchema = Type.Union([
  eventSchema('burst', BurstParamsSchema, true),
  eventSchema('valve-slam', ValveSlamParamsSchema, true),
  eventSchema('recover', RecoverParamsSchema),
  eventSchema('open-cover', OpenCoverParamsSchema),
  eventSchema('close-cover'),
  eventSchema('impact', ImpactParamsSchema),
  eventSchema('fault', FaultParamsSchema, true),
])

export const ScenarioSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', description: 'kebab-case, equals the file name' }),
    description: Type.String({ minLength: 1 }),
    source: Type.Optional(SourceSchema),
    start: Type.Optional(Type.String({ pattern: START_PATTERN, description: 'wall-clock time of t = 0, with offset' })),
    duration: TimeSchema,
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'seed for the models’ noise' })),
    rainfall: Type.Optional(RainfallSchema),
    events: Type.Optional(Type.Array(EventSchema)),
  },
  { additionalProperties: false, $id: 'https://muni-iot.dev/schemas/scenario.json', title: 'muni-iot simulation scenario' },
)

/** Actions, and the sensor kind each one applies to (`undefined`: any kind). */
export const ACTION_KINDS = {
  burst: 'pipe-pressure',
  'valve-slam': 'pipe-pressure',
  recover: 'pipe-pressure',
  'open-cover': 'manhole-cover',
  'close-cover': 'manhole-cover',
  impact: 'manhole-cover',
  fault: undefined,
} as const satisfies Record<string, SensorKind | undefined>
export type Action = keyof typeof ACTION_KINDS
export const ACTIONS = Object.keys(ACTION_KINDS) as Action[]

export type Selector = Static<typeof SelectorSchema>
export type Source = Static<typeof SourceSchema>
export type BurstParams = Static<typeof BurstParamsSchema>
export type ValveSlamParams = Static<typeof ValveSlamParamsSchema>
export type RecoverParams = Static<typeof RecoverParamsSchema>
export type OpenCoverParams = Static<typeof OpenCoverParamsSchema>
export type ImpactParams = Static<typeof ImpactParamsSchema>
export type FaultParams = Static<typeof FaultParamsSchema>

/** The file as written (times still seconds or clocks). */
export interface ScenarioFile {
  name: string
  description: string
  source?: Source
  start?: string
  duration: number | string
  seed?: number
  rainfall?: { interval: number | string; unit?: 'mm/h'; start?: number | string; values: number[]; select?: Selector }
  events?: ScenarioFileEvent[]
}

export type ScenarioFileEvent = {
  at: number | string
  device?: string
  select?: Selector
  note?: string
} & ActionWithParams

/** An action and its parameters (defaults not yet applied). */
export type ActionWithParams =
  | { action: 'burst'; params: BurstParams }
  | { action: 'valve-slam'; params: ValveSlamParams }
  | { action: 'recover'; params?: RecoverParams }
  | { action: 'open-cover'; params?: OpenCoverParams }
  | { action: 'close-cover' }
  | { action: 'impact'; params?: ImpactParams }
  | { action: 'fault'; params: FaultParams }

/** An event of the normalized plan: time in seconds, target as a selector. */
export type PlannedEvent = {
  /** Simulated seconds from the start. */
  atS: number
  /** Position of the event in the file's `events` list (an expanded impact series shares it). */
  index: number
  /** Which devices; `{ device: id }` when the file named one device. */
  select: Selector
  note?: string
} & ActionWithParams

/** A parsed, checked scenario with every time in seconds and events sorted by time. */
export interface Scenario {
  name: string
  description: string
  source?: Source
  /** Wall-clock time of t = 0 as written, and its local time of day (seconds since midnight). */
  start?: { iso: string; timeOfDayS: number }
  durationS: number
  seed?: number
  rainfall?: { intervalS: number; startS: number; values: readonly number[]; select?: Selector }
  events: readonly PlannedEvent[]
}

/** Seconds of a time written as a number or a `H:MM:SS` clock. */
export function toSeconds(t: number | string): number {
  if (typeof t === 'number') return t
  const m = /^(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$/.exec(t)
  if (!m) throw new RangeError(`not a clock "H:MM:SS": ${t}`)
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])
}

/**
 * Seconds of a time typed on a command line, in the forms a scenario file accepts:
 * seconds (`2700`, `90.5`) or a `H:MM:SS` clock (`"0:45:00"`).
 * @throws RangeError naming both forms.
 */
export function timeFromText(text: string): number {
  const t = text.trim()
  if (/^\d+(?:\.\d+)?$/.test(t)) return Number(t)
  if (new RegExp(CLOCK_PATTERN).test(t)) return toSeconds(t)
  throw new RangeError(`"${text}" is neither seconds (2700) nor a clock "H:MM:SS" (0:45:00)`)
}

/** `5400` → `"1:30:00"`. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s - h * 3600 - m * 60
  const ss = Number.isInteger(sec) ? String(sec).padStart(2, '0') : sec.toFixed(3).padStart(6, '0')
  return `${h}:${String(m).padStart(2, '0')}:${ss}`
}

/** Local time of day (seconds since midnight) written in an ISO date-time with offset. */
export function localTimeOfDayS(iso: string): number {
  const m = /T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(iso)
  if (!m) throw new RangeError(`not an ISO date-time: ${iso}`)
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3] ?? 0)
}
