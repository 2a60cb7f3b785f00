import { describe, expect, it } from 'vitest'
import type { StoredReading } from '../model.ts'
import { evaluate, tick, type AlarmEvent, type DeviceAlarmState } from './evaluate.ts'
import { EMPTY_FLOOD, parentKey, route, type FloodInput, type FloodState } from './flood.ts'
import { applyAll, fromEvent, type Action, type Alarm, type Transition } from './lifecycle.ts'
import type { Rule } from './rules.ts'

const T0 = Date.UTC(2024, 6, 8, 0, 0)
const rules: Rule[] = [
  { id: 'stale', kind: 'stale', expectedIntervalS: 60, factor: 3, severity: 'major' },
  { id: 'cover_open.state', kind: 'state', point: 'cover_open', states: [{ value: true, severity: 'critical' }] },
]
const DEVICES = Array.from({ length: 12 }, (_, i) => `mh-${String(i + 1).padStart(2, '0')}`)
const reading = (device: string, ts: number, cover_open = false): StoredReading => ({
  site: 'dongcheng',
  gateway: 'gw-gqm',
  device,
  kind: 'manhole-cover',
  ts,
  values: { cover_open },
  errors: {},
  historical: false,
  seq: 0,
})

/** A small harness: device states, flood state, alarms and the transition log. */
function harness(flood = true) {
  const states = new Map<string, DeviceAlarmState>()
  let fs: FloodState = EMPTY_FLOOD
  const alarms = new Map<string, Alarm>()
  const log: Transition[] = []
  const feed = (input: FloodInput): void => {
    let actions: Action[]
    if (flood) {
      const r = route(fs, input)
      fs = r.state
      actions = r.actions
    } else {
      actions = input.type === 'alarm' ? [fromEvent(input.event)] : []
    }
    log.push(...applyAll(alarms, actions))
  }
  const events = (es: AlarmEvent[]): void => es.forEach((event) => feed({ type: 'alarm', event }))
  return {
    alarms,
    log,
    feed,
    read(r: StoredReading) {
      const out = evaluate(states.get(r.device), r, rules)
      states.set(r.device, out.state)
      events(out.events)
    },
    tickAll(now: number) {
      for (const [d, s] of states) {
        const out = tick(s, now, rules)
        states.set(d, out.state)
        events(out.events)
      }
    },
    announced: () => log.filter((t) => t.announce && t.action.type === 'raise'),
  }
}

describe('flood control', () => {
  it('a gateway with 12 devices goes dark: exactly one announced alarm; it comes back: all clear', () => {
    const h = harness()
    for (const d of DEVICES) h.read(reading(d, T0))
    h.feed({ type: 'gateway-offline', site: 'dongcheng', gateway: 'gw-gqm', at: T0 + 30_000 })
    h.tickAll(T0 + 180_000)
    h.tickAll(T0 + 240_000)

    expect(h.announced().map((t) => t.key)).toEqual([parentKey('gw-gqm')])
    const children = [...h.alarms.values()].filter((a) => a.parent === parentKey('gw-gqm'))
    expect(children).toHaveLength(12)
    expect(children.every((a) => a.status === 'ACTIVE_UNACK' && a.rule === 'stale')).toBe(true)

    h.feed({ type: 'gateway-online', site: 'dongcheng', gateway: 'gw-gqm', at: T0 + 600_000 })
    expect(h.alarms.get(parentKey('gw-gqm'))?.status).toBe('CLEARED_UNACK') // the operator still acknowledges the outage
    expect([...h.alarms.values()].filter((a) => a.parent !== undefined).every((a) => a.status === 'CLEARED_ACK')).toBe(true)

    // The devices report again: the evaluator clears its stale conditions, the lifecycle has nothing left to do.
    const before = h.log.length
    for (const d of DEVICES) h.read(reading(d, T0 + 610_000))
    expect(h.log.length).toBe(before)
    expect(h.log.filter((t) => t.announce).map((t) => `${t.action.type} ${t.key}`)).toEqual([
      `raise ${parentKey('gw-gqm')}`,
      `clear ${parentKey('gw-gqm')}`,
    ])
  })

  it('without flood control the same outage announces 12 alarms', () => {
    const h = harness(false)
    for (const d of DEVICES) h.read(reading(d, T0))
    h.tickAll(T0 + 180_000)
    expect(h.announced()).toHaveLength(12)
  })

  it('other alarms during the outage still get through; a repeated Last Will changes nothing', () => {
    const h = harness()
    for (const d of DEVICES) h.read(reading(d, T0))
    h.feed({ type: 'gateway-offline', site: 'dongcheng', gateway: 'gw-gqm', at: T0 + 30_000 })
    h.feed({ type: 'gateway-offline', site: 'dongcheng', gateway: 'gw-gqm', at: T0 + 40_000 })
    h.read(reading('mh-03', T0 + 50_000, true)) // a late live reading sneaks in: the cover is open
    h.tickAll(T0 + 300_000)
    expect(h.announced().map((t) => t.key)).toEqual([parentKey('gw-gqm'), 'gw-gqm/mh-03/cover_open.state'])
  })

  it('route: an offline event for one gateway does not group another gateway’s stale alarms', () => {
    const s1 = route(EMPTY_FLOOD, { type: 'gateway-offline', site: 's', gateway: 'gw-a', at: 1 }).state
    const e: AlarmEvent = { type: 'raise', rule: 'stale', kind: 'stale', site: 's', gateway: 'gw-b', device: 'd', severity: 'MAJOR', ts: 2, message: 'm' }
    const { actions } = route(s1, { type: 'alarm', event: e })
    expect(actions).toEqual([fromEvent(e)])
  })
})
