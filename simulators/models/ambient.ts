/**
 * What every battery-powered roadside sensor shares: a clock of simulated seconds
 * mapped to local time of day, a diurnal temperature, and a battery that only drains.
 *
 * Models know only simulated seconds since their own start (t = 0). Speeding a run
 * up or slowing it down is the runner's business: it decides how many simulated
 * seconds pass per wall-clock second and calls `step(dtS)` accordingly.
 */

export const SECONDS_PER_DAY = 86_400

/** Local time of day (seconds since midnight, in [0, 86400)) at simulated time `tS`. */
export function timeOfDayS(startTimeOfDayS: number, tS: number): number {
  const t = (startTimeOfDayS + tS) % SECONDS_PER_DAY
  return t < 0 ? t + SECONDS_PER_DAY : t
}

/** A daily temperature cycle: a cosine peaking at `warmestHour` local time. */
export interface DiurnalTemperature {
  /** Daily mean, °C. */
  meanC: number
  /** Half the daily swing, °C (0 for water in a buried main, a few °C for air). */
  amplitudeC: number
  /** Local hour of the daily maximum (air: about 15). */
  warmestHour: number
}

/** Temperature (°C) at a local time of day. */
export function diurnalTemperatureC(p: DiurnalTemperature, timeOfDay: number): number {
  return p.meanC + p.amplitudeC * Math.cos((2 * Math.PI * (timeOfDay - p.warmestHour * 3600)) / SECONDS_PER_DAY)
}

/**
 * Battery charge after `dtS` seconds of drain at `pctPerDay`, minus `extraPct` for
 * one-off costs (a radio burst on an alarm). Never below 0, never above `pct`.
 */
export function drainBattery(pct: number, dtS: number, pctPerDay: number, extraPct = 0): number {
  const used = Math.max(0, pctPerDay) * (Math.max(0, dtS) / SECONDS_PER_DAY) + Math.max(0, extraPct)
  return Math.max(0, pct - used)
}
