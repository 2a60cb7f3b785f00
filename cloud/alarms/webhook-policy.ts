/**
 * Webhook delivery's pure parts: which targets hear a transition, what the request body
 * is, what an HTTP outcome means (deliver / retry / give up) and how long to wait.
 * No I/O, no clocks: `webhooks.ts` calls these.
 */
import { apply, type Action, type Alarm, type AlarmStatus } from './lifecycle.ts'
import { SEVERITIES, severityRank, type RuleSeverity, type Severity } from './rules.ts'
import type { StoredTransition } from './store.ts'

export type TransitionType = Action['type']
export const TRANSITION_TYPES: readonly TransitionType[] = ['raise', 'escalate', 'clear', 'ack', 'comment', 'shelve', 'unshelve', 'expire-shelve', 'release']

/** One receiver of alarm transitions. Its `name` keys its cursor: rename it and it starts over. */
export interface WebhookTarget {
  /** For logs, metrics and the cursor table (`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`). */
  name: string
  /** http(s) URL the events are POSTed to. User info becomes a Basic Authorization header. */
  url: string
  /** HMAC-SHA256 key of `x-muni-signature`; never logged. */
  secret: string
  /** Only alarms that have reached this severity (either spelling: `critical` or `CRITICAL`). */
  minSeverity?: Severity | RuleSeverity
  /** Only alarms of these sites. */
  sites?: readonly string[]
  /** Only these transition types (default: all announced ones). */
  events?: readonly TransitionType[]
}

export interface Backoff {
  initialMs: number
  maxMs: number
  factor: number
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 1000, maxMs: 5 * 60_000, factor: 2 }
/** The longest Retry-After honoured: a receiver cannot park the control room's alarms for a day. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000

/** The request body: the transition, self-contained, and the alarm as of it. */
export interface WebhookPayload {
  /** The transition's log id; also `x-muni-event-id`. Increasing per target. */
  id: number
  type: TransitionType
  /** When it happened (ms since the epoch; the edge sample time for raises and clears). */
  at: number
  actor: string
  alarmId: string
  key: string
  from: AlarmStatus | null
  to: AlarmStatus
  /** The action as logged (severity, message, value, comment, until, …). */
  action: Action
  /** The alarm right after this transition (not as of delivery); null when it cannot be rebuilt. */
  alarm: Alarm | null
  /** When the cloud logged it (ms). */
  recordedAt: number
}

/** Names must be unique and safe for metrics labels; URLs http(s); secrets long enough to be keys. */
export function validateTargets(targets: readonly WebhookTarget[]): string[] {
  const issues: string[] = []
  const names = new Set<string>()
  targets.forEach((t, i) => {
    const at = `webhooks[${i}]`
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(t.name)) issues.push(`${at}.name: must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
    else if (names.has(t.name)) issues.push(`${at}.name: duplicate webhook name ${t.name}`)
    names.add(t.name)
    let url: URL | undefined
    try {
      url = new URL(t.url)
    } catch {
      issues.push(`${at}.url: not a URL`)
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') issues.push(`${at}.url: must be http or https, got ${url.protocol}`)
    if (t.secret.length < 16) issues.push(`${at}.secret: must be at least 16 characters (use 32 random bytes)`)
    if (t.minSeverity !== undefined && !SEVERITIES.includes(t.minSeverity.toUpperCase() as Severity)) issues.push(`${at}.minSeverity: unknown severity ${t.minSeverity}`)
    for (const e of t.events ?? []) if (!TRANSITION_TYPES.includes(e)) issues.push(`${at}.events: unknown transition type ${e}`)
  })
  return issues
}

/**
 * The alarm as of transition `t`, folded from its alarm's history up to `t`, and the highest
 * severity it had on the way. The history of one alarm starts at its raise; an alarm
 * `key#n` with n > 1 follows a closed `key#(n-1)`, which the fold stands in for.
 */
export function alarmAsOf(history: readonly StoredTransition[], t: StoredTransition): { alarm: Alarm; peak: Severity } | undefined {
  const seq = Number(t.alarmId.slice(t.alarmId.lastIndexOf('#') + 1))
  let a: Alarm | undefined = seq > 1 ? ({ id: `${t.key}#${seq - 1}`, key: t.key, seq: seq - 1, status: 'CLEARED_ACK' } as Alarm) : undefined
  let peak: Severity | undefined
  for (const h of history) {
    if (h.id > t.id) break
    const r = apply(a, h.action)
    if (!r.alarm || !r.transition) return undefined
    a = r.alarm
    if (peak === undefined || severityRank(a.severity) > severityRank(peak)) peak = a.severity
  }
  return a && peak && a.id === t.alarmId ? { alarm: a, peak } : undefined
}

/**
 * Whether `target` hears `t`. Unannounced transitions (shelved, suppressed by maintenance,
 * grouped under a flood parent) never. `minSeverity` looks at the highest severity the alarm
 * has had so far, so a receiver told of a critical alarm also hears of its de-escalation and
 * clear. When the alarm is unknown, a filter that cannot be decided lets the event through:
 * an extra event is better than a lost alarm.
 */
export function targetHears(target: WebhookTarget, t: StoredTransition, alarm: Alarm | undefined, peak: Severity | undefined): boolean {
  if (!t.announce) return false
  if (target.events && !target.events.includes(t.action.type)) return false
  const a = t.action
  const site = alarm?.site ?? (a.type === 'raise' ? a.site : undefined)
  if (target.sites && site !== undefined && !target.sites.includes(site)) return false
  const severity = peak ?? alarm?.severity ?? (a.type === 'raise' || a.type === 'escalate' ? a.severity : undefined)
  if (target.minSeverity !== undefined && severity !== undefined && severityRank(severity) < severityRank(target.minSeverity.toUpperCase() as Severity)) return false
  return true
}

export function payloadOf(t: StoredTransition, alarm: Alarm | undefined): WebhookPayload {
  return {
    id: t.id,
    type: t.action.type,
    at: t.action.at,
    actor: t.action.actor,
    alarmId: t.alarmId,
    key: t.key,
    from: t.from ?? null,
    to: t.to,
    action: t.action,
    alarm: alarm ?? null,
    recordedAt: t.recordedAt,
  }
}

export type Outcome = 'delivered' | 'retry' | 'give-up'

/** 2xx delivered; 408, 429, 5xx and no response (`undefined`: network error, timeout) retried; anything else given up. */
export function outcomeOf(status: number | undefined): Outcome {
  if (status === undefined) return 'retry'
  if (status >= 200 && status < 300) return 'delivered'
  if (status === 408 || status === 429 || status >= 500) return 'retry'
  return 'give-up'
}

/**
 * The wait before attempt `attempt + 1` after `attempt` failures: the exponential step
 * `initialMs × factor^(attempt-1)` with "equal jitter" (between half and all of it), capped
 * at `maxMs`. With `factor` ≥ 2 the waits never shrink, whatever the jitter.
 */
export function backoffDelay(attempt: number, b: Backoff, random: number): number {
  const step = Math.min(2 * b.maxMs, b.initialMs * b.factor ** Math.max(0, attempt - 1))
  return Math.round(Math.min(b.maxMs, step / 2 + (random * step) / 2))
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; ms from `now`, undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS)
  const at = Date.parse(v)
  if (Number.isNaN(at)) return undefined
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS)
}

/** The URL for logs: no user info, no query (either may carry a token). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?[redacted]' : ''}`
  } catch {
    return '(invalid url)'
  }
}
