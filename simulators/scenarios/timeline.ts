/**
 * Reading a parsed scenario as time passes: which events fall due between two
 * simulated times, and how hard it rains at a time or over a step.
 *
 * Pure and stateless: a runner keeps its own clock and asks for the half-open
 * window [fromS, toS) of each step, so an event is delivered exactly once however
 * the steps are cut (an event at 0 falls in the first step).
 */
import type { District } from '../../shared/district/schema.ts'
import type { SensorKind } from '../../shared/profile/schema.ts'
import type { PlannedEvent, Scenario, Selector } from './scenario.ts'

/** What a selector looks at: a device's id, kind, site and gateway (from the district). */
export interface TargetDevice {
  id: string
  kind: SensorKind
  site: string
  gateway: string
}

/** Whether `select` picks `d`: every field given must match. */
export function selects(select: Selector, d: TargetDevice): boolean {
  return (
    (select.device === undefined || select.device === d.id) &&
    (select.kind === undefined || select.kind === d.kind) &&
    (select.site === undefined || select.site === d.site) &&
    (select.gateway === undefined || select.gateway === d.gateway)
  )
}

/** Index of the first event at or after `tS` (events are sorted by time). */
function firstAtOrAfter(events: readonly PlannedEvent[], tS: number): number {
  let lo = 0
  let hi = events.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((events[mid]?.atS ?? Infinity) < tS) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Events due in [fromS, toS), in time order (file order for equal times). */
export function eventsBetween(scenario: Scenario, fromS: number, toS: number): PlannedEvent[] {
  if (!(toS > fromS)) return []
  return scenario.events.slice(firstAtOrAfter(scenario.events, fromS), firstAtOrAfter(scenario.events, toS))
}

/** The events of [fromS, toS) aimed at one device. */
export function eventsFor(scenario: Scenario, device: TargetDevice, fromS = 0, toS = Infinity): PlannedEvent[] {
  return eventsBetween(scenario, fromS, toS).filter((e) => selects(e.select, device))
}

/** Whether the rainfall series applies to a device (all devices when no device is named). */
function rainsOn(scenario: Scenario, device?: TargetDevice): boolean {
  const r = scenario.rainfall
  return r !== undefined && (device === undefined || r.select === undefined || selects(r.select, device))
}

/** Rain intensity (mm/h) at `tS`: the value of the interval holding `tS`, 0 outside the series. */
export function rainfallRateAt(scenario: Scenario, tS: number, device?: TargetDevice): number {
  const r = scenario.rainfall
  if (r === undefined || !rainsOn(scenario, device) || tS < r.startS) return 0
  return r.values[Math.floor((tS - r.startS) / r.intervalS)] ?? 0
}

/** Rain depth (mm) that falls in [fromS, toS): the exact integral of the piecewise-constant series. */
export function rainfallDepthMm(scenario: Scenario, fromS: number, toS: number, device?: TargetDevice): number {
  const r = scenario.rainfall
  if (r === undefined || !rainsOn(scenario, device) || !(toS > fromS)) return 0
  const a = Math.max(fromS, r.startS)
  const b = Math.min(toS, r.startS + r.values.length * r.intervalS)
  if (!(b > a)) return 0
  let depth = 0
  for (let i = Math.floor((a - r.startS) / r.intervalS); i < r.values.length; i++) {
    const lo = Math.max(a, r.startS + i * r.intervalS)
    const hi = Math.min(b, r.startS + (i + 1) * r.intervalS)
    if (hi <= lo) break
    depth += ((r.values[i] ?? 0) * (hi - lo)) / 3600
  }
  return depth
}

/** Mean intensity (mm/h) over [fromS, toS): what a water-level model's `step` wants. */
export function meanRainfallRate(scenario: Scenario, fromS: number, toS: number, device?: TargetDevice): number {
  return toS > fromS ? (rainfallDepthMm(scenario, fromS, toS, device) * 3600) / (toS - fromS) : rainfallRateAt(scenario, fromS, device)
}

/** Simulated time at which the rainfall series ends (0 without one). */
export function rainfallEndS(scenario: Scenario): number {
  const r = scenario.rainfall
  return r === undefined ? 0 : r.startS + r.values.length * r.intervalS
}

/** The selector view of a district's devices (a device's site is its gateway's site). */
export function targetDevices(district: District): TargetDevice[] {
  const siteOf = new Map(district.gateways.map((g) => [g.id, g.site]))
  return district.devices.map((d) => ({ id: d.id, kind: d.kind, gateway: d.gateway, site: siteOf.get(d.gateway) ?? '' }))
}
