import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import type { AlarmEvent } from './evaluate.ts'
import {
  alarmKey,
  apply,
  applyAll,
  expiredShelves,
  fromEvent,
  inMaintenance,
  isOpen,
  rebuild,
  type Action,
  type Alarm,
  type AlarmStatus,
  type Transition,
} from './lifecycle.ts'
import { SEVERITIES, type Severity } from './rules.ts'

const REF = { site: 'dongcheng', gateway: 'gw-1', device: 'wl-1', rule: 'level_m.threshold' }
const KEY = alarmKey(REF)

const raise = (at: number, severity: Severity = 'MAJOR', extra: Partial<Extract<Action, { type: 'raise' }>> = {}): Action => ({
  type: 'raise',
  at,
  actor: 'system',
  ...REF,
  severity,
  message: `level ${severity}`,
  ...extra,
})
const escalate = (at: number, severity: Severity): Action => ({ type: 'escalate', key: KEY, at, actor: 'system', severity })
const clear = (at: number): Action => ({ type: 'clear', key: KEY, at, actor: 'system' })
const ack = (at: number, actor = 'li.wei', comment?: string): Action => ({ type: 'ack', key: KEY, at, actor, ...(comment ? { comment } : {}) })
const shelve = (at: number, until: number): Action => ({ type: 'shelve', key: KEY, at, actor: 'li.wei', until })

/** Folds actions from nothing; returns the final alarm, every transition, and the rejections. */
function fold(actions: readonly Action[]): { alarm: Alarm | undefined; transitions: Transition[]; rejected: string[] } {
  let alarm: Alarm | undefined
  const transitions: Transition[] = []
  const rejected: string[] = []
  for (const a of actions) {
    const r = apply(alarm, a)
    alarm = r.alarm
    if (r.transition) transitions.push(r.transition)
    if (r.rejected) rejected.push(`${a.type}: ${r.rejected}`)
  }
  return { alarm, transitions, rejected }
}

describe('lifecycle', () => {
  it.each<{ name: string; actions: Action[]; path: string[]; rejected?: string[] }>([
    {
      name: 'raise → ack → clear: closed',
      actions: [raise(1), ack(2), clear(3)],
      path: ['raise ∅→ACTIVE_UNACK #1', 'ack ACTIVE_UNACK→ACTIVE_ACK #1', 'clear ACTIVE_ACK→CLEARED_ACK #1'],
    },
    {
      name: 'raise → clear → ack: closed the other way round',
      actions: [raise(1), clear(2), ack(3)],
      path: ['raise ∅→ACTIVE_UNACK #1', 'clear ACTIVE_UNACK→CLEARED_UNACK #1', 'ack CLEARED_UNACK→CLEARED_ACK #1'],
    },
    {
      name: 'a second raise while active is one alarm (escalated in place), never two',
      actions: [raise(1, 'MAJOR'), raise(2, 'MAJOR'), raise(3, 'CRITICAL')],
      path: ['raise ∅→ACTIVE_UNACK #1', 'raise ACTIVE_UNACK→ACTIVE_UNACK #1'],
      rejected: ['raise: already active'],
    },
    {
      name: 'returns to alarm before ack: the same alarm becomes active again',
      actions: [raise(1), clear(2), raise(3)],
      path: ['raise ∅→ACTIVE_UNACK #1', 'clear ACTIVE_UNACK→CLEARED_UNACK #1', 'raise CLEARED_UNACK→ACTIVE_UNACK #1'],
    },
    {
      name: 'after CLEARED_ACK the next raise opens a new alarm',
      actions: [raise(1), ack(2), clear(3), raise(4)],
      path: ['raise ∅→ACTIVE_UNACK #1', 'ack ACTIVE_UNACK→ACTIVE_ACK #1', 'clear ACTIVE_ACK→CLEARED_ACK #1', 'raise ∅→ACTIVE_UNACK #2'],
    },
    {
      name: 'escalation to a worse severity takes back the ack; de-escalation keeps it',
      actions: [raise(1, 'MAJOR'), ack(2), escalate(3, 'CRITICAL'), ack(4), escalate(5, 'MAJOR')],
      path: [
        'raise ∅→ACTIVE_UNACK #1',
        'ack ACTIVE_UNACK→ACTIVE_ACK #1',
        'escalate ACTIVE_ACK→ACTIVE_UNACK #1',
        'ack ACTIVE_UNACK→ACTIVE_ACK #1',
        'escalate ACTIVE_ACK→ACTIVE_ACK #1',
      ],
    },
    {
      name: 'nothing to do: clear, ack, escalate without an alarm; double ack',
      actions: [clear(1), ack(1), escalate(1, 'MAJOR'), raise(2), ack(3), ack(4)],
      path: ['raise ∅→ACTIVE_UNACK #1', 'ack ACTIVE_UNACK→ACTIVE_ACK #1'],
      rejected: ['clear: no active alarm', 'ack: nothing to acknowledge', 'escalate: no active alarm', 'ack: nothing to acknowledge'],
    },
  ])('$name', ({ actions, path, rejected = [] }) => {
    const r = fold(actions)
    expect(r.transitions.map((t) => `${t.action.type} ${t.from ?? '∅'}→${t.to} #${t.alarmId.split('#')[1]}`)).toEqual(path)
    expect(r.rejected).toEqual(rejected)
  })

  it('ack and comment record user, time and text', () => {
    const { alarm } = fold([raise(1), ack(2, 'li.wei', 'crew on the way'), { type: 'comment', key: KEY, at: 3, actor: 'zhang.min', text: 'pumps started' }])
    expect(alarm).toMatchObject({ status: 'ACTIVE_ACK', ackedBy: 'li.wei', ackedAt: 2, comments: [{ by: 'li.wei', at: 2, text: 'crew on the way' }, { by: 'zhang.min', at: 3, text: 'pumps started' }] })
  })

  it('shelving: tracked but not announced until unshelved or expired', () => {
    const r = fold([raise(1), shelve(2, 100), escalate(3, 'CRITICAL'), { type: 'expire-shelve', key: KEY, at: 50, actor: 'system' }, { type: 'expire-shelve', key: KEY, at: 100, actor: 'system' }, clear(101)])
    expect(r.transitions.map((t) => `${t.action.type}:${t.announce}`)).toEqual(['raise:true', 'shelve:true', 'escalate:false', 'expire-shelve:true', 'clear:true'])
    expect(r.rejected).toEqual(['expire-shelve: shelf has not expired'])
    expect(r.alarm).toMatchObject({ status: 'CLEARED_UNACK', severity: 'CRITICAL' })
    expect(r.alarm?.shelved).toBeUndefined()
  })

  it('expiredShelves finds the shelves that ran out', () => {
    const { alarm } = fold([raise(1), shelve(2, 100)])
    expect(expiredShelves([alarm as Alarm], 99)).toEqual([])
    expect(expiredShelves([alarm as Alarm], 100)).toEqual([{ type: 'expire-shelve', key: KEY, at: 100, actor: 'system' }])
  })

  it('maintenance: the alarm is tracked silently, closes itself on clear, and is announced on release while still active', () => {
    const quiet = fold([raise(1, 'MAJOR', { maintenance: true }), escalate(2, 'CRITICAL'), clear(3)])
    expect(quiet.transitions.map((t) => `${t.action.type}:${t.announce}:${t.to}`)).toEqual(['raise:false:ACTIVE_UNACK', 'escalate:false:ACTIVE_UNACK', 'clear:false:CLEARED_ACK'])
    expect(quiet.alarm).toMatchObject({ ackedBy: 'system' })
    const released = fold([raise(1, 'MAJOR', { maintenance: true }), { type: 'release', key: KEY, at: 5, actor: 'system' }, clear(6)])
    expect(released.transitions.map((t) => `${t.action.type}:${t.announce}:${t.to}`)).toEqual(['raise:false:ACTIVE_UNACK', 'release:true:ACTIVE_UNACK', 'clear:true:CLEARED_UNACK'])
  })

  it('inMaintenance: per site or per device, within its window', () => {
    const m = { sites: { dongcheng: { from: 10, until: 20 } }, devices: { 'gw-1/wl-2': { from: 30 } } }
    expect([5, 10, 19, 20].map((t) => inMaintenance(m, REF, t))).toEqual([false, true, true, false])
    expect(inMaintenance(m, { ...REF, site: 'xicheng', device: 'wl-2' }, 1e12)).toBe(true)
    expect(inMaintenance(m, { ...REF, site: 'xicheng' }, 15)).toBe(false)
  })

  it('fromEvent maps evaluator events to actions', () => {
    const e: AlarmEvent = { type: 'update', rule: REF.rule, kind: 'trend', site: REF.site, gateway: REF.gateway, device: REF.device, severity: 'WARNING', ts: 7, message: 'm', eta: { at: 9, inS: 2, confidence: 0.9 } }
    expect(fromEvent(e)).toEqual({ type: 'escalate', at: 7, actor: 'system', key: KEY, severity: 'WARNING', message: 'm', eta: { at: 9, inS: 2, confidence: 0.9 } })
    expect(fromEvent({ ...e, type: 'raise' }, { maintenance: true })).toMatchObject({ type: 'raise', maintenance: true, kind: 'trend' })
  })
})

describe('append-only log', () => {
  const keys = [
    { site: 's', gateway: 'g1', device: 'd1', rule: 'r1' },
    { site: 's', gateway: 'g1', device: 'd1', rule: 'r2' },
    { site: 's', gateway: 'g2', device: 'd1', rule: 'r1' },
  ]
  const severity = fc.constantFrom(...SEVERITIES)
  const action = fc
    .record({
      k: fc.integer({ min: 0, max: keys.length - 1 }),
      dt: fc.integer({ min: 0, max: 100 }),
      op: fc.constantFrom('raise', 'raise-m', 'escalate', 'clear', 'ack', 'comment', 'shelve', 'unshelve', 'expire-shelve', 'release'),
      severity,
      span: fc.integer({ min: 1, max: 300 }),
      actor: fc.constantFrom('system', 'li.wei', 'zhang.min'),
    })
  const actionsOf = (xs: Array<{ k: number; dt: number; op: string; severity: Severity; span: number; actor: string }>): Action[] => {
    let at = 1_700_000_000_000
    return xs.map((x) => {
      at += x.dt
      const ref = keys[x.k] as (typeof keys)[number]
      const key = alarmKey(ref)
      const base = { at, actor: x.actor }
      switch (x.op) {
        case 'raise':
        case 'raise-m':
          return { type: 'raise', ...base, ...ref, severity: x.severity, message: 'm', ...(x.op === 'raise-m' ? { maintenance: true } : {}) }
        case 'escalate':
          return { type: 'escalate', ...base, key, severity: x.severity }
        case 'comment':
          return { type: 'comment', ...base, key, text: 'note' }
        case 'shelve':
          return { type: 'shelve', ...base, key, until: at + x.span }
        default:
          return { type: x.op as 'clear' | 'ack' | 'unshelve' | 'expire-shelve' | 'release', ...base, key }
      }
    })
  }

  it('property: rebuilding from the transitions gives the same alarms; never two open alarms per key', () => {
    fc.assert(
      fc.property(fc.array(action, { maxLength: 80 }), (xs) => {
        const actions = actionsOf(xs)
        const live = new Map<string, Alarm>()
        const everyAlarm = new Map<string, Alarm>()
        const log: Transition[] = []
        for (const a of actions) {
          const t = applyAll(live, [a])
          log.push(...t)
          for (const tr of t) {
            const alarm = live.get(tr.key) as Alarm
            everyAlarm.set(alarm.id, alarm)
            // A transition opening an alarm only happens when the key had none open.
            if (tr.from === undefined) {
              const open = [...everyAlarm.values()].filter((x) => x.key === tr.key && isOpen(x))
              expect(open.map((x) => x.id)).toEqual([alarm.id])
            }
          }
          const openPerKey = new Map<string, number>()
          for (const x of everyAlarm.values()) if (isOpen(x)) openPerKey.set(x.key, (openPerKey.get(x.key) ?? 0) + 1)
          for (const n of openPerKey.values()) expect(n).toBe(1)
        }
        // A restart: the log is serialised, read back and folded.
        const restored = rebuild(JSON.parse(JSON.stringify(log)) as Transition[])
        expect(restored).toEqual(live)
      }),
      { numRuns: 300 },
    )
  })

  it('a log that does not replay is refused', () => {
    const { transitions } = fold([raise(1), ack(2)])
    expect(() => rebuild([transitions[1] as Transition])).toThrow(/does not replay/)
  })

  it('status set is the ThingsBoard one', () => {
    const seen = new Set<AlarmStatus>()
    for (const t of fold([raise(1), ack(2), clear(3), raise(4), clear(5)]).transitions) seen.add(t.to)
    expect([...seen].sort()).toEqual(['ACTIVE_ACK', 'ACTIVE_UNACK', 'CLEARED_ACK', 'CLEARED_UNACK'])
  })
})
