/**
 * Which model quantity feeds which point of a firmware profile. Pure.
 *
 * A profile names its points as its vendor likes; the models speak the canonical
 * quantities of `QUANTITIES_BY_KIND`. Each point gets one source, decided once:
 *
 * | source           | points                                                             | value                                        |
 * |------------------|--------------------------------------------------------------------|----------------------------------------------|
 * | quantity         | a name equal to a quantity of the kind, or an alias (`ALIASES`)    | the model's reading                          |
 * | battery-voltage  | `battery_v` (unit V)                                               | linear in battery_pct (`batteryCurveFor`)    |
 * | low-battery      | `battery_low` / `low_battery` flags                                | battery_pct below the profile's `lo` alarm   |
 * | status-word      | a 16-bit number sharing its register with `bit` points             | not written: its bits are the flags          |
 * | constant         | everything else, and every `readwrite` setting                     | `constantFor`, written once at start         |
 *
 * A point is bound to a quantity only when unit and type agree (a boolean quantity on
 * a `bool`/`bit` point, a number with the same unit on a numeric one); otherwise it
 * falls back to a constant, so a vendor's `level_m` in feet never gets metres.
 *
 * Nothing is clamped: `liveValues` encodes every value with the codec first and
 * reports the ones it refuses (out of range, sentinel, overflow) as problems instead
 * of serving something else. Counters are the one exception by design: an unsigned
 * counter register wraps like the firmware's (`impact_count` "wraps at 65535"), and a
 * tipping-bucket total counts whole tips (floor, not rounding).
 */
import { encodePoint, isIntegerType, toEngineering, toRawNumber, type Value } from '../../shared/codec/index.ts'
import { RAW_LIMITS, type ResolvedPoint, type ResolvedProfile } from '../../shared/profile/resolve.ts'
import { QUANTITIES_BY_KIND } from '../models/quantities.ts'

/** Where a point's value comes from. */
export type PointSource =
  | { readonly from: 'quantity'; readonly quantity: string; readonly counter: boolean }
  | { readonly from: 'battery-voltage'; readonly emptyV: number; readonly fullV: number }
  | { readonly from: 'low-battery'; readonly belowPct: number }
  | { readonly from: 'status-word' }
  | { readonly from: 'constant'; readonly value: Value }

export interface PointBinding {
  readonly point: ResolvedPoint
  readonly source: PointSource
}

export interface ProfileBinding {
  readonly profile: ResolvedProfile
  readonly points: readonly PointBinding[]
}

/** Unit and type of each canonical quantity (units spelled as the profiles spell them). */
export const QUANTITY_INFO: Readonly<Record<string, { readonly unit?: string; readonly boolean?: true; readonly counter?: true }>> = {
  level_m: { unit: 'm' },
  rain_rate_mm_h: { unit: 'mm/h' },
  rain_total_mm: { unit: 'mm', counter: true },
  battery_pct: { unit: '%' },
  temperature_c: { unit: 'degC' },
  pressure_bar: { unit: 'bar' },
  tilt_deg: { unit: 'deg' },
  cover_open: { boolean: true },
  displaced: { boolean: true },
  water_in_well: { boolean: true },
  impact_count: { counter: true },
  rssi_dbm: { unit: 'dBm' },
}

/** Vendor point names → canonical quantity (applied only when the quantity belongs to the profile's kind). */
export const ALIASES: Readonly<Record<string, string>> = {
  cover_displaced: 'displaced',
  /** Raw reed switch of the MC200 fw 2: true while the lid is away from its seat. */
  lid_switch: 'cover_open',
  water_probe: 'water_in_well',
  /** Tipping-bucket counters scaled to mm (the unit check keeps a raw tip count out). */
  rain_tips: 'rain_total_mm',
  rain_mm: 'rain_total_mm',
  /** Transient-capture extremes and averages: the model has one pressure, the current one. */
  pressure_min_bar: 'pressure_bar',
  pressure_max_bar: 'pressure_bar',
  pressure_avg_bar: 'pressure_bar',
}

/**
 * Battery voltage from charge, linear between an empty and a full voltage. The
 * chemistry is told by the point's range: up to 5 V one lithium cell (Li-SOCl₂,
 * 3.6 V nominal, flat; 3.0 V empty, 3.65 V full), above that a 12 V lead-acid battery
 * on a solar charger (11.0 V empty, 12.8 V full at rest).
 */
export const BATTERY_CURVES = {
  lithiumCell: { emptyV: 3.0, fullV: 3.65 },
  leadAcid12V: { emptyV: 11.0, fullV: 12.8 },
} as const

/** Charge below which a low-battery flag is set when the profile's battery_pct has no `lo` alarm. */
export const DEFAULT_LOW_BATTERY_PCT = 20

const LOW_BATTERY_NAMES = new Set(['battery_low', 'low_battery'])

export function batteryCurveFor(point: ResolvedPoint): { emptyV: number; fullV: number } {
  return (point.range?.max ?? Infinity) <= 5 ? BATTERY_CURVES.lithiumCell : BATTERY_CURVES.leadAcid12V
}

/** Volts at `pct` % charge on `curve`. */
export function batteryVolts(curve: { emptyV: number; fullV: number }, pct: number): number {
  return curve.emptyV + ((curve.fullV - curve.emptyV) * pct) / 100
}

/** Binds every point of `profile` (see the module comment). */
export function bindProfile(profile: ResolvedProfile): ProfileBinding {
  const quantities = new Set<string>(QUANTITIES_BY_KIND[profile.kind])
  const batteryPct = profile.points.find((p) => p.name === 'battery_pct')
  const belowPct = batteryPct?.alarm?.lo ?? batteryPct?.alarm?.lolo ?? DEFAULT_LOW_BATTERY_PCT
  const bitRegisters = new Set(profile.points.filter((p) => p.type === 'bit').map((p) => `${p.table}:${p.address}`))
  const points = profile.points.map((point): PointBinding => ({ point, source: sourceOf(profile, point, quantities, bitRegisters, belowPct) }))
  return Object.freeze({ profile, points: Object.freeze(points) })
}

function sourceOf(profile: ResolvedProfile, point: ResolvedPoint, quantities: ReadonlySet<string>, bitRegisters: ReadonlySet<string>, belowPct: number): PointSource {
  const numeric = point.type !== 'bool' && point.type !== 'bit' && point.type !== 'string'
  if (numeric && point.registers === 1 && bitRegisters.has(`${point.table}:${point.address}`)) return { from: 'status-word' }
  if (point.access === 'readwrite') return { from: 'constant', value: constantFor(profile, point) }
  const quantity = ALIASES[point.name] ?? point.name
  const info = QUANTITY_INFO[quantity]
  if (quantities.has(quantity) && info !== undefined) {
    const fits = info.boolean ? !numeric && point.type !== 'string' : numeric && (point.unit === undefined || point.unit === info.unit)
    if (fits) return { from: 'quantity', quantity, counter: info.counter === true }
  }
  if (point.name === 'battery_v' && numeric && point.unit === 'V' && quantities.has('battery_pct')) return { from: 'battery-voltage', ...batteryCurveFor(point) }
  if (LOW_BATTERY_NAMES.has(point.name) && !numeric && point.type !== 'string' && quantities.has('battery_pct')) return { from: 'low-battery', belowPct }
  return { from: 'constant', value: constantFor(profile, point) }
}

/**
 * A plausible value for a point no model feeds: false for flags (true when the
 * profile's alarm says false is the trouble), the model name for text, and for
 * numbers the middle of the point's normal band — its range narrowed by its alarm
 * levels, so a constant never raises an alarm (`peak_impact_g` 0..200 with hi 8
 * gives 4) — on the register's resolution.
 */
export function constantFor(profile: Pick<ResolvedProfile, 'model'>, point: ResolvedPoint): Value {
  if (point.type === 'bool' || point.type === 'bit') return point.alarm?.state?.value === false
  if (point.type === 'string') return profile.model.replace(/[^\x20-\x7e]/g, '').slice(0, point.registers * 2)
  const a = point.alarm
  const lows = [point.range?.min, a?.lo ?? a?.lolo].filter((x): x is number => x !== undefined)
  const highs = [point.range?.max, a?.hi ?? a?.hihi].filter((x): x is number => x !== undefined)
  const lo = lows.length > 0 ? Math.max(...lows) : undefined
  const hi = highs.length > 0 ? Math.min(...highs) : undefined
  let v = 0
  if (lo !== undefined && hi !== undefined) v = lo <= hi ? (lo + hi) / 2 : ((point.range?.min ?? hi) + (point.range?.max ?? lo)) / 2
  else if (lo !== undefined) v = Math.max(0, lo)
  else if (hi !== undefined) v = Math.min(0, hi)
  return snap(point, v)
}

/** `v` on the point's register resolution (integer types only). */
function snap(point: ResolvedPoint, v: number): number {
  if (!isIntegerType(point.type)) return v
  return toEngineering(Math.round(toRawNumber(v, point.scale, point.offset)), point.scale, point.offset, true)
}

/** The values of constant points (settings included): written once, when the device is made. */
export function constantValues(binding: ProfileBinding): Record<string, Value> {
  const out: Record<string, Value> = {}
  for (const { point, source } of binding.points) if (source.from === 'constant') out[point.name] = source.value
  return out
}

/** A point whose value the codec refuses: a bug in the binding or the model, reported, never served. */
export interface BindingProblem {
  point: string
  value: Value
  reason: string
}

/**
 * The values of model-fed points for the model's current readings, each checked
 * with `encodePoint`. Refused values are left out of `values` and listed in `problems`.
 */
export function liveValues(binding: ProfileBinding, readings: Readonly<Record<string, number | boolean>>): { values: Record<string, Value>; problems: BindingProblem[] } {
  const values: Record<string, Value> = {}
  const problems: BindingProblem[] = []
  for (const { point, source } of binding.points) {
    const v = liveValue(point, source, readings)
    if (v === undefined) continue
    const r = encodePoint(point, v)
    if (r.ok) values[point.name] = v
    else problems.push({ point: point.name, value: v, reason: r.reason })
  }
  return { values, problems }
}

function liveValue(point: ResolvedPoint, source: PointSource, readings: Readonly<Record<string, number | boolean>>): Value | undefined {
  switch (source.from) {
    case 'quantity': {
      const v = readings[source.quantity]
      if (v === undefined || typeof v === 'boolean' || !source.counter) return v
      return counterValue(point, v)
    }
    case 'battery-voltage': {
      const pct = readings.battery_pct
      return typeof pct === 'number' ? batteryVolts(source, pct) : undefined
    }
    case 'low-battery': {
      const pct = readings.battery_pct
      return typeof pct === 'number' ? pct < source.belowPct : undefined
    }
    default:
      return undefined
  }
}

/** A counter as the firmware holds it: whole counts (floor), wrapping at the register's width when unsigned. */
function counterValue(point: ResolvedPoint, v: number): number {
  if (!isIntegerType(point.type)) return v
  // 1e-9 absorbs float error (0.6 / 0.2 = 2.9999999999999996 is three whole tips).
  let raw = Math.floor(toRawNumber(v, point.scale, point.offset) + 1e-9)
  const limits = RAW_LIMITS[point.type]
  if (limits && limits.min === 0) raw = ((raw % (limits.max + 1)) + limits.max + 1) % (limits.max + 1)
  return toEngineering(raw, point.scale, point.offset, true)
}
