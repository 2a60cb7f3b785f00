/**
 * On/off delays for a condition with levels (ISA-18.2 §10.5 alarm on-delay and
 * off-delay; Kapacitor calls the same idea "the condition must hold for"). The input,
 * at each time, is the level the signal shows — or none — after hysteresis; the
 * output is what to announce:
 *
 * - raise when some level has held (any level, continuously) for `onDelayMs`;
 * - update to a more severe level once it has held `onDelayMs`, to a less severe one
 *   once it has held `offDelayMs` (escalation and de-escalation of the same alarm);
 * - clear once no level has held for `offDelayMs`.
 *
 * Pure and time-driven: callers pass sample times (ms); `tick` callers pass the held
 * level again with a later time.
 */
import { severityRank, type Severity } from './rules.ts'

export interface Target {
  level: string
  severity: Severity
}

export interface Condition {
  /** The level announced (raised), if any. */
  active?: Target
  /** The level the signal shows now, if any. */
  target?: Target
  /** Since when `target` has been the current level (or "none"). */
  levelSince: number
  /** Since when the signal has shown some level, continuously; undefined while normal. */
  abnormalSince?: number
}

export type Change = { type: 'raise' | 'update' | 'clear'; severity: Severity; level: string }

export const NORMAL: Condition = { levelSince: Number.NEGATIVE_INFINITY }

export function step(c: Condition, ts: number, target: Target | undefined, onDelayMs: number, offDelayMs: number): { condition: Condition; change?: Change } {
  // Normal and still normal, the common case: nothing changes, nothing to copy.
  if (target === undefined && c.target === undefined && c.active === undefined && c.abnormalSince === undefined) return { condition: c }
  const next: Condition = { ...c }
  if (target?.level !== c.target?.level) {
    next.levelSince = ts
    if (target) next.target = target
    else delete next.target
  }
  if (target && c.target === undefined) next.abnormalSince = ts
  if (!target) delete next.abnormalSince
  const held = ts - next.levelSince
  const a = next.active
  if (!a) {
    if (target && next.abnormalSince !== undefined && ts - next.abnormalSince >= onDelayMs) {
      next.active = target
      return { condition: next, change: { type: 'raise', severity: target.severity, level: target.level } }
    }
    return { condition: next }
  }
  if (!target) {
    if (held >= offDelayMs) {
      delete next.active
      return { condition: next, change: { type: 'clear', severity: a.severity, level: a.level } }
    }
    return { condition: next }
  }
  if (target.level === a.level) return { condition: next }
  const up = severityRank(target.severity) >= severityRank(a.severity)
  if (held >= (up ? onDelayMs : offDelayMs)) {
    next.active = target
    return { condition: next, change: { type: 'update', severity: target.severity, level: target.level } }
  }
  return { condition: next }
}
