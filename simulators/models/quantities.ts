/**
 * Canonical quantity names each model produces. A simulated device maps the point
 * names of its firmware profile to these (a profile may call the level `water_level`
 * or `lvl_cm`; the model always says `level_m`). Units are in the names.
 */
import type { SensorKind } from '../../shared/profile/schema.ts'

/** Water level in an underpass or drained catchment, with its rain gauge. */
export const WATER_LEVEL_QUANTITIES = ['level_m', 'rain_rate_mm_h', 'rain_total_mm', 'battery_pct', 'temperature_c'] as const
export type WaterLevelQuantity = (typeof WATER_LEVEL_QUANTITIES)[number]

/** Pressure in a water main. */
export const PIPE_PRESSURE_QUANTITIES = ['pressure_bar', 'temperature_c', 'battery_pct'] as const
export type PipePressureQuantity = (typeof PIPE_PRESSURE_QUANTITIES)[number]

/** A manhole cover's tilt/impact/immersion sensor. */
export const MANHOLE_COVER_QUANTITIES = [
  'tilt_deg',
  'cover_open',
  'displaced',
  'impact_count',
  'water_in_well',
  'battery_pct',
  'rssi_dbm',
  'temperature_c',
] as const
export type ManholeCoverQuantity = (typeof MANHOLE_COVER_QUANTITIES)[number]

/** Every model's quantities, by sensor kind. */
export const QUANTITIES_BY_KIND = {
  'water-level': WATER_LEVEL_QUANTITIES,
  'pipe-pressure': PIPE_PRESSURE_QUANTITIES,
  'manhole-cover': MANHOLE_COVER_QUANTITIES,
} as const satisfies Record<SensorKind, readonly string[]>

/** The quantity names of one kind. */
export type QuantityOf<K extends SensorKind> = (typeof QUANTITIES_BY_KIND)[K][number]

/** A model's current readings: numbers, except the boolean flags of a cover. */
export type Readings<Q extends string> = { readonly [P in Q]: number | boolean }
