/**
 * The trend rule's forecast: a Theil–Sen line over the window's samples, the time until
 * it reaches the threshold, and how much to trust it. Pure.
 */
import type { TrendRule } from './rules.ts'
import { theilSen } from './theil-sen.ts'

export interface Sample {
  t: number
  v: number
}

/** Forecast of one trend rule over its samples. */
export interface Forecast {
  /** Seconds until the fitted line reaches the threshold: 0 if it is there, Infinity if it moves away. */
  etaS: number
  toward: boolean
  /** min(robust R², Kendall's τ toward the threshold), 0–1. */
  confidence: number
  slopePerS: number
  levelNow: number
}

export function forecast(rule: TrendRule, samples: readonly Sample[]): Forecast | undefined {
  if (samples.length < (rule.minPoints ?? 6)) return undefined
  const t0 = (samples[samples.length - 1] as Sample).t
  const fit = theilSen(
    samples.map((s) => (s.t - t0) / 1000),
    samples.map((s) => s.v),
  )
  if (!fit) return undefined
  const sign = rule.direction === 'up' ? 1 : -1
  const levelNow = fit.intercept
  const toward = sign * fit.slope > 0
  const reached = sign * (levelNow - rule.threshold) >= 0
  const etaS = reached ? 0 : toward ? (rule.threshold - levelNow) / fit.slope : Number.POSITIVE_INFINITY
  // Confidence: the line must both fit (robust R²) and be monotone in its direction (Kendall's τ);
  // noise can pass one of the two by chance on a short window, rarely both.
  const confidence = Math.max(0, Math.min(fit.confidence, sign * fit.tau))
  return { etaS, toward, confidence, slopePerS: fit.slope, levelNow }
}
