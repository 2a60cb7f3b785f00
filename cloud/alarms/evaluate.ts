/**
 * Rule evaluation, pure: `evaluate(state, reading, rules)` on every stored reading and
 * `tick(state, now, rules)` on a timer, each returning the next state and the alarm
 * condition changes (raise / update / clear) to hand to the lifecycle (`lifecycle.ts`).
 * The state is one device's: the caller keeps a map of them, keyed by gateway/device,
 * and passes the device's effective rules (`resolveRules`).
 *
 * Time and order (documented in README.md, tested in evaluate.test.ts):
 * - Time is the edge sample time of readings (ms); `tick`'s `now` must be on the same
 *   clock (cloud time; ingest refuses readings too far in the future).
 * - A historical (store-and-forward) reading is stored elsewhere but ignored here: it
 *   neither raises nor clears, nor feeds a window, nor counts as "seen" for staleness.
 *   Raising on data from the past would announce a condition that may be long gone.
 * - A live reading whose ts is not newer than the newest live reading already evaluated
 *   for the device (ts ≤ lastTs: late, out of order, or redelivered) is ignored whole.
 *   So the outcome depends only on the order of sample times, never on arrival order
 *   of late data, and redelivery is idempotent.
 * - A point with an error (sentinel, nan, stuck, timeout, …) or a non-finite number
 *   never feeds a threshold, rate or trend rule: those rules keep their state and their
 *   delay timers pause; `quality` rules count the error instead.
 * - A point absent from a reading (report-by-exception: unchanged) holds its last value:
 *   delays keep running, as on `tick`.
 * - Every per-rule state is bounded: rate windows keep at most MAX_WINDOW_SAMPLES,
 *   trend windows MAX_TREND_SAMPLES.
 */
import type { PointValue } from '../../shared/mqtt/messages.ts'
import type { PointErrorCode } from '../../shared/quality.ts'
import type { StoredReading } from '../model.ts'
import { NORMAL, step, type Change, type Condition, type Target } from './condition.ts'
import { forecast, type Forecast, type Sample } from './forecast.ts'
import { kendallTau } from './theil-sen.ts'
import { duration, fmt, round2 } from './format.ts'
import {
  toSeverity,
  type LevelName,
  type QualityRule,
  type RateRule,
  type Rule,
  type RuleKind,
  type Severity,
  type StaleRule,
  type StateRule,
  type ThresholdRule,
  type TrendRule,
} from './rules.ts'

export { forecast, type Forecast, type Sample } from './forecast.ts'

/** Hard cap on the samples a rate window keeps. */
export const MAX_WINDOW_SAMPLES = 120
/**
 * Hard cap on the samples a trend window keeps: the window is decimated to at most this
 * many, evenly spread, so one fit costs n(n−1)/2 = 780 pairwise slopes whatever the
 * poll rate (rule-evaluation cost is budgeted per reading, issue 6 §9).
 */
export const MAX_TREND_SAMPLES = 40

/** An alarm condition change, as the lifecycle consumes it. */
export interface AlarmEvent {
  type: 'raise' | 'update' | 'clear'
  /** The rule id: the alarm type. */
  rule: string
  kind: RuleKind
  site: string
  gateway: string
  device: string
  point?: string
  severity: Severity
  /** Sample time of the reading, or `now` for time-driven changes. */
  ts: number
  value?: PointValue
  message: string
  /** Trend rules: when the level is expected to reach the threshold. */
  eta?: { at: number; inS: number; confidence: number }
}

export type RuleState =
  | { kind: 'threshold'; cond: Condition; bad: boolean }
  | { kind: 'rate'; cond: Condition; window: WindowSample[]; bad: boolean }
  /**
   * The window is `samples` then `last`: `samples` are the decimated ones, shared unchanged
   * between states while the newest reading only replaces `last` (most readings, as the window
   * keeps one sample per windowS/39). States written before `last` existed hold all in `samples`.
   */
  | { kind: 'trend'; samples: Sample[]; last?: Sample; active?: { etaAt: number; reached: boolean; severity: Severity } }
  | { kind: 'state'; cond: Condition }
  | { kind: 'stale'; active?: Severity }
  | { kind: 'quality'; count: number; since?: number; code?: PointErrorCode; active?: Severity }

export interface DeviceAlarmState {
  site: string
  gateway: string
  device: string
  /** Sample time of the newest live reading evaluated. */
  lastTs?: number
  rules: Record<string, RuleState>
}

export interface EvalResult {
  state: DeviceAlarmState
  events: AlarmEvent[]
  /** Why the reading changed nothing, when it was ignored. */
  ignored?: 'historical' | 'out_of_order'
}

export function initialState(ref: { site: string; gateway: string; device: string }): DeviceAlarmState {
  return { site: ref.site, gateway: ref.gateway, device: ref.device, rules: {} }
}

/** What a reading says of one point. */
type Input = { kind: 'value'; v: PointValue } | { kind: 'error'; code: PointErrorCode } | { kind: 'absent' }

function inputOf(r: StoredReading, point: string): Input {
  const e = r.errors[point]
  if (e) return { kind: 'error', code: e.code }
  if (!Object.hasOwn(r.values, point)) return { kind: 'absent' }
  const v = r.values[point] as PointValue
  if (typeof v === 'number' && !Number.isFinite(v)) return { kind: 'error', code: 'nan' }
  return { kind: 'value', v }
}

/** Evaluates one stored reading against the device's rules. */
export function evaluate(state: DeviceAlarmState | undefined, reading: StoredReading, rules: readonly Rule[]): EvalResult {
  const prev = state ?? initialState(reading)
  if (reading.historical) return { state: prev, events: [], ignored: 'historical' }
  if (prev.lastTs !== undefined && reading.ts <= prev.lastTs) return { state: prev, events: [], ignored: 'out_of_order' }
  const ts = reading.ts
  const events: AlarmEvent[] = []
  // A rule state that did not change is kept (the same object), and so is the whole record
  // when none did: the engine keeps one state per device alive, and what a reading re-creates
  // survives the next young-generation GC and is copied by it (GC pauses were the tail of
  // publish → SSE latency, issue 6 §9).
  let changed = dropRemoved(prev, rules, ts, events)
  const states: Record<string, RuleState> = {}
  const emit = (rule: Rule, e: Omit<AlarmEvent, 'rule' | 'kind' | 'site' | 'gateway' | 'device' | 'ts'>): void => {
    events.push(event(prev, rule, ts, e))
  }
  for (const rule of rules) {
    const before = prev.rules[rule.id]
    const old = sameKind(before, rule, prev, ts, events)
    let s: RuleState
    switch (rule.kind) {
      case 'threshold':
        s = onThreshold(rule, old as Extract<RuleState, { kind: 'threshold' }> | undefined, inputOf(reading, rule.point), ts, emit)
        break
      case 'rate':
        s = onRate(rule, old as Extract<RuleState, { kind: 'rate' }> | undefined, inputOf(reading, rule.point), ts, emit)
        break
      case 'trend':
        s = onTrend(rule, old as Extract<RuleState, { kind: 'trend' }> | undefined, inputOf(reading, rule.point), ts, emit)
        break
      case 'state':
        s = onState(rule, old as Extract<RuleState, { kind: 'state' }> | undefined, inputOf(reading, rule.point), ts, emit)
        break
      case 'stale': {
        const st = old as Extract<RuleState, { kind: 'stale' }> | undefined
        if (st?.active) emit(rule, { type: 'clear', severity: st.active, message: 'readings again' })
        s = st !== undefined && st.active === undefined ? st : STALE_QUIET
        break
      }
      case 'quality':
        s = onQuality(rule, old as Extract<RuleState, { kind: 'quality' }> | undefined, inputOf(reading, rule.point), ts, emit)
        break
    }
    states[rule.id] = s
    if (s !== before) changed = true
  }
  return { state: { ...prev, lastTs: ts, rules: changed ? states : prev.rules }, events }
}

const STALE_QUIET: RuleState = Object.freeze({ kind: 'stale' })

/**
 * Time passes: on/off delays that ran out, quality errors that persisted `forS`,
 * and stale devices. `now` earlier than the newest reading changes nothing.
 */
export function tick(state: DeviceAlarmState, now: number, rules: readonly Rule[]): EvalResult {
  const events: AlarmEvent[] = []
  // As in `evaluate`: unchanged rule states are kept, and the whole state when nothing changed.
  let changed = dropRemoved(state, rules, now, events)
  const states: Record<string, RuleState> = {}
  const emit = (rule: Rule, e: Omit<AlarmEvent, 'rule' | 'kind' | 'site' | 'gateway' | 'device' | 'ts'>): void => {
    events.push(event(state, rule, now, e))
  }
  for (const rule of rules) {
    const before = state.rules[rule.id]
    const old = sameKind(before, rule, state, now, events)
    if (!old) {
      if (before !== undefined) changed = true
      continue
    }
    let s: RuleState = old
    if ((old.kind === 'threshold' || old.kind === 'rate') && !old.bad && (rule.kind === 'threshold' || rule.kind === 'rate')) {
      const { on, off } = delays(rule)
      const r = step(old.cond, now, old.cond.target, on, off)
      if (r.change) emit(rule, { ...changeText(rule, r.change, undefined), ...pointOf(rule) })
      if (r.condition !== old.cond) s = { ...old, cond: r.condition }
    } else if (old.kind === 'state' && rule.kind === 'state') {
      const r = step(old.cond, now, old.cond.target, (rule.onDelayS ?? 0) * 1000, (rule.offDelayS ?? 0) * 1000)
      if (r.change) emit(rule, { ...changeText(rule, r.change, undefined), ...pointOf(rule) })
      if (r.condition !== old.cond) s = { ...old, cond: r.condition }
    } else if (old.kind === 'quality' && rule.kind === 'quality') {
      if (!old.active && old.since !== undefined && rule.forS !== undefined && now - old.since >= rule.forS * 1000) {
        emit(rule, { type: 'raise', severity: qualitySeverity(rule), message: qualityText(rule, old.code, old.count, now - old.since), point: rule.point })
        s = { ...old, active: qualitySeverity(rule) }
      }
    } else if (old.kind === 'stale' && rule.kind === 'stale') {
      const limit = rule.expectedIntervalS * (rule.factor ?? 3) * 1000
      if (!old.active && state.lastTs !== undefined && now - state.lastTs >= limit) {
        emit(rule, {
          type: 'raise',
          severity: staleSeverity(rule),
          message: `no reading for ${duration((now - state.lastTs) / 1000)} (expected every ${duration(rule.expectedIntervalS)})`,
        })
        s = { kind: 'stale', active: staleSeverity(rule) }
      }
    }
    states[rule.id] = s
    if (s !== before) changed = true
  }
  return { state: changed ? { ...state, rules: states } : state, events }
}

type Emit = (rule: Rule, e: Omit<AlarmEvent, 'rule' | 'kind' | 'site' | 'gateway' | 'device' | 'ts'>) => void

function event(ref: DeviceAlarmState, rule: Pick<Rule, 'id' | 'kind'>, ts: number, e: Omit<AlarmEvent, 'rule' | 'kind' | 'site' | 'gateway' | 'device' | 'ts'>): AlarmEvent {
  return { ...e, type: e.type, rule: rule.id, kind: rule.kind, site: ref.site, gateway: ref.gateway, device: ref.device, ts }
}

function pointOf(rule: Rule): { point?: string } {
  return 'point' in rule ? { point: rule.point } : {}
}

/**
 * Rules gone from the list (a reload): their open conditions clear, their state is dropped.
 * Pushes the clears onto `out`; true when the state holds any such rule. The common case
 * (every kept rule still listed) is two counts and no allocation, and no cache keyed by
 * the rule list (the WeakMap this replaces held one entry per device).
 */
function dropRemoved(state: DeviceAlarmState, rules: readonly Rule[], ts: number, out: AlarmEvent[]): boolean {
  let kept = 0
  for (const id in state.rules) kept++
  if (kept === 0) return false
  let listed = 0
  for (const r of rules) if (Object.hasOwn(state.rules, r.id)) listed++
  if (listed === kept) return false
  const ids = new Set(rules.map((r) => r.id))
  let removed = false
  for (const id in state.rules) {
    if (ids.has(id)) continue
    removed = true
    const s = state.rules[id] as RuleState
    const sev = activeSeverity(s)
    if (sev) out.push(event(state, { id, kind: s.kind }, ts, { type: 'clear', severity: sev, message: 'rule removed' }))
  }
  return removed
}

/** The previous state when it belongs to a rule of the same kind; a changed kind clears and restarts. */
function sameKind(s: RuleState | undefined, rule: Rule, ref: DeviceAlarmState, ts: number, events: AlarmEvent[]): RuleState | undefined {
  if (!s || s.kind === rule.kind) return s
  const sev = activeSeverity(s)
  if (sev) events.push(event(ref, { id: rule.id, kind: s.kind }, ts, { type: 'clear', severity: sev, message: 'rule changed' }))
  return undefined
}

function activeSeverity(s: RuleState): Severity | undefined {
  switch (s.kind) {
    case 'threshold':
    case 'rate':
    case 'state':
      return s.cond.active?.severity
    case 'trend':
      return s.active?.severity
    case 'stale':
    case 'quality':
      return s.active
  }
}

function delays(rule: ThresholdRule | RateRule): { on: number; off: number } {
  return { on: (rule.kind === 'threshold' ? (rule.onDelayS ?? 0) : 0) * 1000, off: (rule.offDelayS ?? 0) * 1000 }
}

// ---- threshold ---------------------------------------------------------------

const DEFAULT_LEVEL_SEVERITY: Record<LevelName, Severity> = { hihi: 'CRITICAL', hi: 'MAJOR', lo: 'MAJOR', lolo: 'CRITICAL' }
const HIGH: Record<LevelName, boolean> = { hihi: true, hi: true, lo: false, lolo: false }
/** Checked in this order: the outer level of each side first. */
const BY_SEVERITY: readonly LevelName[] = ['hihi', 'hi', 'lolo', 'lo']

/**
 * The level a value shows, with hysteresis: a level is entered at its value and left
 * only past its clear level (value ∓ deadband unless given). Being in HIHI counts as
 * being in HI for HI's hysteresis (and LOLO for LO), so HIHI → HI de-escalates.
 */
export function thresholdLevel(rule: ThresholdRule, v: number, prev: string | undefined): Target | undefined {
  const db = rule.deadband ?? 0
  for (const l of BY_SEVERITY) {
    const level = rule.levels[l]
    if (!level) continue
    const high = HIGH[l]
    const clear = level.clear ?? (high ? level.value - db : level.value + db)
    const inside = prev === l || (l === 'hi' && prev === 'hihi') || (l === 'lo' && prev === 'lolo')
    const holds = high ? v >= level.value || (inside && v >= clear) : v <= level.value || (inside && v <= clear)
    if (holds) return { level: l, severity: level.severity ? toSeverity(level.severity) : DEFAULT_LEVEL_SEVERITY[l] }
  }
  return undefined
}

function onThreshold(rule: ThresholdRule, old: Extract<RuleState, { kind: 'threshold' }> | undefined, input: Input, ts: number, emit: Emit): RuleState {
  const s = old ?? { kind: 'threshold', cond: NORMAL, bad: false }
  if (input.kind === 'error') return s.bad ? s : { ...s, bad: true }
  if (input.kind === 'value' && typeof input.v !== 'number') return s
  if (input.kind === 'absent' && s.bad) return s
  const { on, off } = delays(rule)
  const target = input.kind === 'value' ? thresholdLevel(rule, input.v as number, s.cond.target?.level) : s.cond.target
  const r = step(s.cond, ts, target, on, off)
  if (r.change) emit(rule, { ...changeText(rule, r.change, input.kind === 'value' ? (input.v as number) : undefined), point: rule.point, ...(input.kind === 'value' ? { value: input.v } : {}) })
  return r.condition === s.cond && !s.bad ? s : { kind: 'threshold', cond: r.condition, bad: false }
}

// ---- rate of change ------------------------------------------------------------

/** A rate window's sample; `until` is when the next reading superseded it (absent on the newest). */
export type WindowSample = Sample & { until?: number }

/**
 * Keeps a monotonic window: for a drop, the samples that can still be the window's
 * maximum (each larger than every later one); for a rise, its minimum. The front is
 * then the extreme, and the change is measured from it to the newest value.
 *
 * Report-by-exception: a value holds until the next reading, so the value held at the
 * window's start belongs to the window too (a burst after a quiet spell is measured from
 * the pressure the main held, not from nothing). That value is the newest sample before
 * the start; when the deque still has it, it is the deque's newest entry before the
 * start and was not yet superseded at the start (`until` > start), and it stays, moved
 * to the start. When the deque dropped it, a later sample in the window dominated it,
 * so it cannot be the extreme; the deque's older entries were superseded before the
 * start and leave. So the front is exactly the extreme of the values held in the window.
 */
export function pushWindow(window: readonly WindowSample[], s: Sample, windowMs: number, direction: 'up' | 'down'): WindowSample[] {
  const start = s.t - windowMs
  const out: WindowSample[] = []
  let held: WindowSample | undefined
  const n = window.length
  for (let i = 0; i < n; i++) {
    // The newest entry is always the previous reading: the new one supersedes it now.
    const x = i === n - 1 ? { ...(window[i] as WindowSample), until: s.t } : (window[i] as WindowSample)
    if (x.t >= start) out.push(x)
    else held = x // samples are in time order: the last one before the start is the one held there
  }
  if (held !== undefined && (held.until ?? Number.POSITIVE_INFINITY) > start) out.unshift({ t: start, v: held.v, ...(held.until !== undefined && { until: held.until }) })
  while (out.length > 0) {
    const last = out[out.length - 1] as WindowSample
    if (direction === 'down' ? last.v <= s.v : last.v >= s.v) out.pop()
    else break
  }
  out.push({ t: s.t, v: s.v })
  // Bound: drop the oldest (the window then covers only the newest samples).
  while (out.length > MAX_WINDOW_SAMPLES) out.shift()
  return out
}

function onRate(rule: RateRule, old: Extract<RuleState, { kind: 'rate' }> | undefined, input: Input, ts: number, emit: Emit): RuleState {
  const s = old ?? { kind: 'rate', cond: NORMAL, window: [], bad: false }
  if (input.kind === 'error') return s.bad ? s : { ...s, bad: true }
  if (input.kind === 'value' && typeof input.v !== 'number') return s
  if (input.kind === 'absent') {
    if (s.bad) return s
    const r = step(s.cond, ts, s.cond.target, 0, (rule.offDelayS ?? 0) * 1000)
    if (r.change) emit(rule, { ...changeText(rule, r.change, undefined), point: rule.point })
    return r.condition === s.cond ? s : { ...s, cond: r.condition }
  }
  const v = input.v as number
  const window = pushWindow(s.window, { t: ts, v }, rule.windowS * 1000, rule.direction)
  const front = window[0] as Sample
  const change = rule.direction === 'down' ? front.v - v : v - front.v
  const limit = s.cond.target ? (rule.clearChange ?? rule.change / 2) : rule.change
  const target = change >= limit ? { level: rule.direction, severity: toSeverity(rule.severity) } : undefined
  const r = step(s.cond, ts, target, 0, (rule.offDelayS ?? 0) * 1000)
  if (r.change) {
    const u = rule.unit ? ` ${rule.unit}` : ''
    const message =
      r.change.type === 'clear'
        ? `${rule.point} steady again (${fmt(v)}${u})`
        : `${rule.point} ${rule.direction === 'down' ? 'fell' : 'rose'} ${fmt(change)}${u} in ${duration((ts - front.t) / 1000)} (limit ${fmt(rule.change)}${u} in ${duration(rule.windowS)})`
    emit(rule, { type: r.change.type, severity: r.change.severity, message, point: rule.point, value: v })
  }
  return { kind: 'rate', cond: r.condition, window, bad: false }
}

// ---- predictive trend --------------------------------------------------------------

function onTrend(rule: TrendRule, old: Extract<RuleState, { kind: 'trend' }> | undefined, input: Input, ts: number, emit: Emit): RuleState {
  const s = old ?? { kind: 'trend', samples: [] }
  if (input.kind !== 'value' || typeof input.v !== 'number') return s
  const windowMs = rule.windowS * 1000
  const spacing = windowMs / (MAX_TREND_SAMPLES - 1)
  const start = ts - windowMs
  // The window before this reading, `kept` then `prev`, without what fell out of it. Samples
  // are in time order, so `kept` is copied only when its oldest leaves.
  let kept = s.samples
  if (kept.length > 0 && (kept[0] as Sample).t < start) kept = kept.filter((x) => x.t >= start)
  const prev = s.last !== undefined && s.last.t >= start ? s.last : undefined
  // Decimate: a sample closer than `spacing` to the one before the newest replaces the newest.
  // With `prev`, that one is kept's last and only `prev` is replaced: kept stays shared.
  const beforeNewest = prev !== undefined ? kept[kept.length - 1] : kept[kept.length - 2]
  const replace = beforeNewest !== undefined && ts - beforeNewest.t < spacing
  if (prev !== undefined) {
    if (!replace) kept = [...kept, prev]
  } else if (replace) {
    kept = kept.slice(0, -1)
  }
  if (kept.length > MAX_TREND_SAMPLES - 1) kept = kept.slice(kept.length - (MAX_TREND_SAMPLES - 1))
  const last: Sample = { t: ts, v: input.v }
  const samples = [...kept, last]
  const next: Extract<RuleState, { kind: 'trend' }> = { kind: 'trend', samples: kept, last, ...(s.active ? { active: s.active } : {}) }
  // Not raised yet: a raise needs confidence ≥ minConfidence, and confidence ≤ Kendall's τ toward
  // the threshold, so a window whose τ falls short cannot raise — skip the fit (most windows are noise).
  const minTau = rule.minConfidence ?? 0.8
  if (!s.active && minTau > 0 && samples.length >= (rule.minPoints ?? 6) && (rule.direction === 'up' ? 1 : -1) * kendallTau(samples) < minTau) return next
  const f = forecast(rule, samples)
  if (!f) return next
  const severity = toSeverity(rule.severity ?? 'warning')
  const minConfidence = rule.minConfidence ?? 0.8
  const etaAt = ts + Math.round(f.etaS * 1000)
  const eta = { at: etaAt, inS: Math.round(f.etaS), confidence: round2(f.confidence) }
  const text = (): string => trendText(rule, f)
  if (!s.active) {
    if (f.toward && f.confidence >= minConfidence && f.etaS <= rule.horizonS) {
      emit(rule, { type: 'raise', severity, message: text(), point: rule.point, value: input.v, eta })
      next.active = { etaAt, reached: f.etaS === 0, severity }
    }
    return next
  }
  if (!f.toward || f.etaS > (rule.clearHorizonS ?? 2 * rule.horizonS)) {
    emit(rule, { type: 'clear', severity: s.active.severity, message: `${rule.point} forecast receded (${fmt(f.levelNow)}${rule.unit ? ` ${rule.unit}` : ''}, ${f.toward ? `ETA ${duration(f.etaS)}` : 'moving away'})`, point: rule.point, value: input.v })
    delete next.active
    return next
  }
  // Update when the ETA moved by more than the tolerance, or the level has just reached the threshold.
  const reached = f.etaS === 0
  const tolerance = Math.max((rule.etaToleranceS ?? 60) * 1000, 0.2 * f.etaS * 1000)
  const moved = reached ? !s.active.reached : s.active.reached || Math.abs(etaAt - s.active.etaAt) > tolerance
  if (f.confidence >= minConfidence && moved) {
    emit(rule, { type: 'update', severity, message: text(), point: rule.point, value: input.v, eta })
    next.active = { etaAt, reached, severity }
  }
  return next
}

function trendText(rule: TrendRule, f: Forecast): string {
  const u = rule.unit ? ` ${rule.unit}` : ''
  const conf = `confidence ${round2(f.confidence).toFixed(2)}`
  return f.etaS === 0
    ? `${rule.point} has reached ${fmt(rule.threshold)}${u} (${conf})`
    : `${rule.point} will reach ${fmt(rule.threshold)}${u} in ${duration(f.etaS)} (${conf})`
}

// ---- state -------------------------------------------------------------------------

function onState(rule: StateRule, old: Extract<RuleState, { kind: 'state' }> | undefined, input: Input, ts: number, emit: Emit): RuleState {
  const s = old ?? { kind: 'state', cond: NORMAL }
  if (input.kind === 'error') return s
  const target: Target | undefined =
    input.kind === 'absent'
      ? s.cond.target
      : (() => {
          const m = rule.states.find((x) => x.value === input.v)
          return m ? { level: String(m.value), severity: toSeverity(m.severity) } : undefined
        })()
  const r = step(s.cond, ts, target, (rule.onDelayS ?? 0) * 1000, (rule.offDelayS ?? 0) * 1000)
  if (r.change) emit(rule, { ...changeText(rule, r.change, undefined), point: rule.point, ...(input.kind === 'value' ? { value: input.v } : {}) })
  return r.condition === s.cond ? s : { kind: 'state', cond: r.condition }
}

// ---- quality -----------------------------------------------------------------------

function onQuality(rule: QualityRule, old: Extract<RuleState, { kind: 'quality' }> | undefined, input: Input, ts: number, emit: Emit): RuleState {
  const s: Extract<RuleState, { kind: 'quality' }> = old ?? { kind: 'quality', count: 0 }
  if (input.kind === 'absent') return s
  const counts = input.kind === 'error' && (rule.codes === undefined || rule.codes.includes(input.code))
  if (!counts) {
    if (s.active) emit(rule, { type: 'clear', severity: s.active, message: `${rule.point} reads again`, point: rule.point, ...(input.kind === 'value' ? { value: input.v } : {}) })
    return s.count === 0 && s.active === undefined && s.since === undefined ? s : { kind: 'quality', count: 0 }
  }
  const since = s.since ?? ts
  const next: Extract<RuleState, { kind: 'quality' }> = { kind: 'quality', count: s.count + 1, since, code: input.code, ...(s.active ? { active: s.active } : {}) }
  const byCount = rule.forReadings ?? (rule.forS === undefined ? 3 : undefined)
  const due = (byCount !== undefined && next.count >= byCount) || (rule.forS !== undefined && ts - since >= rule.forS * 1000)
  if (!s.active && due) {
    emit(rule, { type: 'raise', severity: qualitySeverity(rule), message: qualityText(rule, input.code, next.count, ts - since), point: rule.point })
    next.active = qualitySeverity(rule)
  }
  return next
}

function qualityText(rule: QualityRule, code: PointErrorCode | undefined, count: number, ms: number): string {
  return `${rule.point} has had error ${code ?? '?'} for ${count} reading${count === 1 ? '' : 's'} (${duration(ms / 1000)})`
}

function qualitySeverity(rule: QualityRule): Severity {
  return toSeverity(rule.severity ?? 'minor')
}

function staleSeverity(rule: StaleRule): Severity {
  return toSeverity(rule.severity ?? 'major')
}

// ---- messages ----------------------------------------------------------------------

function changeText(rule: Rule, c: Change, v: number | undefined): { type: Change['type']; severity: Severity; message: string } {
  const u = 'unit' in rule && rule.unit ? ` ${rule.unit}` : ''
  const point = 'point' in rule ? rule.point : rule.id
  const now = v !== undefined ? `${fmt(v)}${u}` : 'held value'
  let message: string
  if (rule.kind === 'threshold') {
    const level = rule.levels[c.level as LevelName]
    message =
      c.type === 'clear'
        ? `${point} back to normal (${now})`
        : `${point} ${now} ${HIGH[c.level as LevelName] ? '≥' : '≤'} ${c.level.toUpperCase()} ${level ? fmt(level.value) : '?'}${u}`
  } else if (rule.kind === 'state') {
    message = c.type === 'clear' ? `${point} back to normal` : `${point} is ${c.level}`
  } else {
    message = c.type === 'clear' ? `${point} back to normal` : `${point} ${c.level}`
  }
  return { type: c.type, severity: c.severity, message }
}
