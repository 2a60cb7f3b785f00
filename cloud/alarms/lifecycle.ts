/**
 * The alarm lifecycle as a pure reducer (ThingsBoard / ISA-18.2; CONVENTIONS.md § Alarms):
 *
 *   (none, or closed) ──raise──► ACTIVE_UNACK ──ack──► ACTIVE_ACK
 *                                 │    ▲   ▲                │
 *                            clear│    │   └─ escalate to ──┤clear
 *                                 │    │raise  worse        │
 *                                 ▼    │                    ▼
 *                           CLEARED_UNACK ──────ack──────► CLEARED_ACK (closed: the
 *                                                           next raise opens a new alarm)
 *
 * - At most one open (not CLEARED_ACK) alarm per key = (gateway, device, rule); a
 *   raise while one is open updates it in place, never opens a second.
 * - `escalate` changes severity (and message, value, ETA) in place. To a worse
 *   severity it also takes an ACTIVE_ACK alarm back to ACTIVE_UNACK (the operator
 *   acknowledged something less serious); to a milder one it keeps the ack.
 * - `shelve` (until a time) keeps tracking state but stops announcing; `unshelve` or
 *   `expire-shelve` (at or after `until`) announce it again.
 * - Maintenance: a raise flagged `maintenance` (the caller found the device or its site
 *   in maintenance: `inMaintenance`) opens the alarm suppressed — tracked, never
 *   announced; its escalations stay silent; when it clears it closes at once
 *   (CLEARED_ACK by `system`), as nobody was told of it. `release` (maintenance over,
 *   still open) makes it a normal, announced ACTIVE_UNACK alarm. Alarms raised before
 *   maintenance began are not touched. Flood children (`parent`) behave the same way.
 *
 * Every accepted action yields a transition carrying actor and time; folding the
 * transitions (`rebuild`) gives back the same alarms, so a store can keep an
 * append-only log and rebuild after a restart without duplicates.
 */
import type { PointValue } from '../../shared/mqtt/messages.ts'
import type { AlarmEvent } from './evaluate.ts'
import { severityRank, type Severity } from './rules.ts'

export const ALARM_STATUSES = ['ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED_UNACK', 'CLEARED_ACK'] as const
export type AlarmStatus = (typeof ALARM_STATUSES)[number]

/** The actor of engine-made transitions. */
export const SYSTEM = 'system'

export interface AlarmRef {
  site: string
  gateway: string
  device: string
  rule: string
}

export interface AlarmComment {
  by: string
  at: number
  text: string
}

export interface Alarm extends AlarmRef {
  /** `{key}#{seq}`: stable across rebuilds. */
  id: string
  key: string
  /** 1 for the first alarm of this key, 2 for the next after it closed, … */
  seq: number
  kind?: string
  status: AlarmStatus
  severity: Severity
  message: string
  value?: PointValue
  eta?: { at: number; inS: number; confidence: number }
  openedAt: number
  updatedAt: number
  clearedAt?: number
  ackedAt?: number
  ackedBy?: string
  comments: AlarmComment[]
  shelved?: { by: string; at: number; until: number }
  /** Raised during maintenance: tracked, not announced. */
  suppressed?: boolean
  /** Key of the parent alarm this one is grouped under (flood control). */
  parent?: string
}

interface Base {
  at: number
  actor: string
}
export type Action =
  | (Base &
      AlarmRef & {
        type: 'raise'
        kind?: string
        severity: Severity
        message: string
        value?: PointValue
        eta?: Alarm['eta']
        maintenance?: boolean
        parent?: string
      })
  | (Base & { type: 'escalate'; key: string; severity: Severity; message?: string; value?: PointValue; eta?: Alarm['eta'] })
  | (Base & { type: 'clear'; key: string; message?: string; value?: PointValue })
  | (Base & { type: 'ack'; key: string; comment?: string })
  | (Base & { type: 'comment'; key: string; text: string })
  | (Base & { type: 'shelve'; key: string; until: number; comment?: string })
  | (Base & { type: 'unshelve'; key: string })
  | (Base & { type: 'expire-shelve'; key: string })
  | (Base & { type: 'release'; key: string })

/** One entry of the append-only log. */
export interface Transition {
  alarmId: string
  key: string
  action: Action
  from?: AlarmStatus
  to: AlarmStatus
  /** Whether operators are told (SSE, webhooks): false while shelved, suppressed or grouped. */
  announce: boolean
}

export interface ApplyResult {
  alarm: Alarm | undefined
  transition?: Transition
  /** Why the action changed nothing. */
  rejected?: string
}

export function alarmKey(r: { gateway: string; device: string; rule: string }): string {
  return `${r.gateway}/${r.device}/${r.rule}`
}

export function actionKey(a: Action): string {
  return a.type === 'raise' ? alarmKey(a) : a.key
}

export function isOpen(a: Alarm | undefined): boolean {
  return a !== undefined && a.status !== 'CLEARED_ACK'
}

function isActive(a: Alarm): boolean {
  return a.status === 'ACTIVE_UNACK' || a.status === 'ACTIVE_ACK'
}

function visible(a: Alarm): boolean {
  return a.shelved === undefined && !a.suppressed && a.parent === undefined
}

/** Applies one action to the current alarm of its key (the newest, open or closed). */
export function apply(alarm: Alarm | undefined, action: Action): ApplyResult {
  const key = actionKey(action)
  if (alarm !== undefined && alarm.key !== key) return { alarm, rejected: 'action is for another key' }
  const done = (next: Alarm, announce = visible(next)): ApplyResult => ({
    alarm: next,
    transition: { alarmId: next.id, key, action, ...(alarm && alarm.id === next.id ? { from: alarm.status } : {}), to: next.status, announce },
  })
  const reject = (reason: string): ApplyResult => ({ alarm, rejected: reason })
  const { at, actor } = action
  switch (action.type) {
    case 'raise': {
      if (alarm === undefined || alarm.status === 'CLEARED_ACK') {
        const seq = (alarm?.seq ?? 0) + 1
        const next: Alarm = {
          id: `${key}#${seq}`,
          key,
          seq,
          site: action.site,
          gateway: action.gateway,
          device: action.device,
          rule: action.rule,
          ...(action.kind !== undefined ? { kind: action.kind } : {}),
          status: 'ACTIVE_UNACK',
          severity: action.severity,
          message: action.message,
          ...(action.value !== undefined ? { value: action.value } : {}),
          ...(action.eta !== undefined ? { eta: action.eta } : {}),
          openedAt: at,
          updatedAt: at,
          comments: [],
          ...(action.maintenance ? { suppressed: true } : {}),
          ...(action.parent !== undefined ? { parent: action.parent } : {}),
        }
        return done(next)
      }
      if (isActive(alarm) && alarm.severity === action.severity) return reject('already active')
      // Active with another severity: escalate in place. Cleared, not yet acknowledged: back to active.
      const worse = severityRank(action.severity) > severityRank(alarm.severity)
      const status: AlarmStatus = alarm.status === 'ACTIVE_ACK' && !worse ? 'ACTIVE_ACK' : 'ACTIVE_UNACK'
      const next: Alarm = { ...alarm, status, severity: action.severity, message: action.message, updatedAt: at, ...upd(action) }
      delete next.clearedAt
      if (status === 'ACTIVE_UNACK') {
        delete next.ackedAt
        delete next.ackedBy
      }
      return done(next)
    }
    case 'escalate': {
      if (!alarm || !isActive(alarm)) return reject('no active alarm')
      const worse = severityRank(action.severity) > severityRank(alarm.severity)
      const status: AlarmStatus = worse ? 'ACTIVE_UNACK' : alarm.status
      const next: Alarm = { ...alarm, status, severity: action.severity, updatedAt: at, ...upd(action) }
      if (action.message !== undefined) next.message = action.message
      if (worse) {
        delete next.ackedAt
        delete next.ackedBy
      }
      return done(next)
    }
    case 'clear': {
      if (!alarm || !isActive(alarm)) return reject('no active alarm')
      const silent = alarm.suppressed === true || alarm.parent !== undefined
      const closes = alarm.status === 'ACTIVE_ACK' || silent
      const next: Alarm = { ...alarm, status: closes ? 'CLEARED_ACK' : 'CLEARED_UNACK', clearedAt: at, updatedAt: at }
      if (action.message !== undefined) next.message = action.message
      if (action.value !== undefined) next.value = action.value
      if (silent && alarm.status === 'ACTIVE_UNACK') {
        next.ackedAt = at
        next.ackedBy = SYSTEM
      }
      return done(next)
    }
    case 'ack': {
      if (!alarm || (alarm.status !== 'ACTIVE_UNACK' && alarm.status !== 'CLEARED_UNACK')) return reject('nothing to acknowledge')
      const next: Alarm = {
        ...alarm,
        status: alarm.status === 'ACTIVE_UNACK' ? 'ACTIVE_ACK' : 'CLEARED_ACK',
        ackedAt: at,
        ackedBy: actor,
        updatedAt: at,
        comments: action.comment !== undefined ? [...alarm.comments, { by: actor, at, text: action.comment }] : alarm.comments,
      }
      return done(next)
    }
    case 'comment': {
      if (!alarm) return reject('no alarm')
      return done({ ...alarm, comments: [...alarm.comments, { by: actor, at, text: action.text }], updatedAt: at })
    }
    case 'shelve': {
      if (alarm === undefined || alarm.status === 'CLEARED_ACK') return reject('no open alarm')
      if (action.until <= at) return reject('until must be in the future')
      const next: Alarm = {
        ...alarm,
        shelved: { by: actor, at, until: action.until },
        updatedAt: at,
        comments: action.comment !== undefined ? [...alarm.comments, { by: actor, at, text: action.comment }] : alarm.comments,
      }
      return done(next, true)
    }
    case 'unshelve':
    case 'expire-shelve': {
      if (!alarm?.shelved) return reject('not shelved')
      if (action.type === 'expire-shelve' && at < alarm.shelved.until) return reject('shelf has not expired')
      const next: Alarm = { ...alarm, updatedAt: at }
      delete next.shelved
      return done(next, isOpen(next) && visible(next))
    }
    case 'release': {
      if (!alarm?.suppressed || !isOpen(alarm)) return reject('not suppressed')
      const next: Alarm = { ...alarm, updatedAt: at }
      delete next.suppressed
      return done(next)
    }
  }
}

function upd(a: { value?: PointValue; eta?: Alarm['eta'] }): Partial<Alarm> {
  return { ...(a.value !== undefined ? { value: a.value } : {}), ...(a.eta !== undefined ? { eta: a.eta } : {}) }
}

/** Applies actions in order to a map of the newest alarm per key; returns the transitions accepted. */
export function applyAll(alarms: Map<string, Alarm>, actions: readonly Action[]): Transition[] {
  const out: Transition[] = []
  for (const a of actions) {
    const k = actionKey(a)
    const r = apply(alarms.get(k), a)
    if (r.transition && r.alarm) {
      alarms.set(k, r.alarm)
      out.push(r.transition)
    }
  }
  return out
}

/**
 * Rebuilds the newest alarm per key from a transition log, as after a restart.
 * Throws when the log does not replay to the alarm ids it recorded (a corrupt log).
 */
export function rebuild(transitions: readonly Transition[]): Map<string, Alarm> {
  const alarms = new Map<string, Alarm>()
  transitions.forEach((t, i) => {
    const r = apply(alarms.get(t.key), t.action)
    if (!r.alarm || !r.transition || r.alarm.id !== t.alarmId || r.alarm.status !== t.to) {
      throw new Error(`transition ${i} (${t.action.type} ${t.alarmId}) does not replay: ${r.rejected ?? `got ${r.alarm?.id} ${r.alarm?.status}`}`)
    }
    alarms.set(t.key, r.alarm)
  })
  return alarms
}

/** The lifecycle action for a condition change from the evaluator. */
export function fromEvent(e: AlarmEvent, opts: { maintenance?: boolean; parent?: string } = {}): Action {
  const key = alarmKey({ gateway: e.gateway, device: e.device, rule: e.rule })
  const v = e.value !== undefined ? { value: e.value } : {}
  switch (e.type) {
    case 'raise':
      return {
        type: 'raise',
        at: e.ts,
        actor: SYSTEM,
        site: e.site,
        gateway: e.gateway,
        device: e.device,
        rule: e.rule,
        kind: e.kind,
        severity: e.severity,
        message: e.message,
        ...v,
        ...(e.eta ? { eta: e.eta } : {}),
        ...(opts.maintenance ? { maintenance: true } : {}),
        ...(opts.parent !== undefined ? { parent: opts.parent } : {}),
      }
    case 'update':
      return { type: 'escalate', at: e.ts, actor: SYSTEM, key, severity: e.severity, message: e.message, ...v, ...(e.eta ? { eta: e.eta } : {}) }
    case 'clear':
      return { type: 'clear', at: e.ts, actor: SYSTEM, key, message: e.message, ...v }
  }
}

/** `expire-shelve` actions for every shelf that has run out at `now`. */
export function expiredShelves(alarms: Iterable<Alarm>, now: number): Action[] {
  const out: Action[] = []
  for (const a of alarms) if (a.shelved && a.shelved.until <= now) out.push({ type: 'expire-shelve', key: a.key, at: now, actor: SYSTEM })
  return out
}

/** Maintenance windows per site and per device (`gateway/device`); `until` absent = until ended. */
export interface Maintenance {
  sites: Record<string, { from: number; until?: number }>
  devices: Record<string, { from: number; until?: number }>
}

export function inMaintenance(m: Maintenance, d: { site: string; gateway: string; device: string }, at: number): boolean {
  const within = (w: { from: number; until?: number } | undefined): boolean => w !== undefined && at >= w.from && (w.until === undefined || at < w.until)
  return within(m.sites[d.site]) || within(m.devices[`${d.gateway}/${d.device}`])
}
