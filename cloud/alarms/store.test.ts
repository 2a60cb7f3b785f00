import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { StoredReading } from '../model.ts'
import { openStateDb, type StateDb } from '../state/db.ts'
import { evaluate } from './evaluate.ts'
import { applyAll, fromEvent, type Alarm, type Transition } from './lifecycle.ts'
import { AlarmStore, type DeviceRecord } from './store.ts'
import { LEVEL_ROAD, LEVEL_TREND, storm } from './test-support/fixtures.ts'

let dir: string
let db: StateDb

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-alarm-store-'))
  db = openStateDb(join(dir, 'state.db'))
})
afterEach(() => {
  if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Runs the storm through the pure cores: the transitions and the device's final state. */
function stormLog(): { transitions: Transition[]; alarms: Map<string, Alarm>; device: DeviceRecord } {
  const alarms = new Map<string, Alarm>()
  const transitions: Transition[] = []
  let state
  const { readings } = storm()
  for (const r of readings.slice(0, 90)) {
    const out = evaluate(state, r, [LEVEL_TREND, LEVEL_ROAD])
    state = out.state
    transitions.push(...applyAll(alarms, out.events.map((e) => fromEvent(e))))
  }
  const ref = { site: 'dongcheng', gateway: 'gw-up', device: 'wl-up-01', kind: 'water-level' as const }
  return { transitions, alarms, device: { ref, state: state as NonNullable<typeof state> } }
}

describe('AlarmStore', () => {
  it('load() after reopening gives the same alarms, device states (non-finite numbers included) and maintenance', () => {
    const { transitions, alarms, device } = stormLog()
    expect(transitions.length).toBeGreaterThan(2)
    const maintenance = { sites: { dongcheng: { from: 1, until: 2 } }, devices: {} }
    // A device that never left normal: its condition's levelSince is -Infinity, which plain JSON turns into null.
    const dry = storm('gw-up', 'wl-up-02').readings[0] as StoredReading
    const quiet: DeviceRecord = { ref: { ...device.ref, device: 'wl-up-02' }, state: evaluate(undefined, dry, [LEVEL_ROAD]).state }
    expect(JSON.stringify(quiet.state)).toContain('null')
    const stored = new AlarmStore(db).commit({ transitions, devices: [device, quiet], at: 42, maintenance })
    expect(stored.map((t) => t.id)).toEqual(transitions.map((_, i) => i + 1))
    db.close()
    db = openStateDb(join(dir, 'state.db'))
    const loaded = new AlarmStore(db).load()
    expect(loaded.alarms).toEqual(alarms)
    expect(loaded.devices.get('gw-up/wl-up-01')).toEqual(device)
    expect(loaded.devices.get('gw-up/wl-up-02')).toEqual(quiet)
    expect(loaded.maintenance).toEqual(maintenance)
    expect(loaded.transitions).toBe(transitions.length)
  })

  it('a commit is all or nothing', () => {
    const { transitions, device } = stormLog()
    const store = new AlarmStore(db)
    const broken = { ...(transitions[1] as Transition), to: null } as unknown as Transition
    expect(() => store.commit({ transitions: [transitions[0] as Transition, broken], devices: [device], at: 1 })).toThrow(/NOT NULL/)
    const loaded = store.load()
    expect(loaded.transitions).toBe(0)
    expect(loaded.devices.size).toBe(0)
  })

  it('pages the log by id and lists one alarm’s history', () => {
    const { transitions } = stormLog()
    const store = new AlarmStore(db)
    store.commit({ transitions, devices: [], at: 1 })
    const page = store.transitions(1, 2)
    expect(page.map((t) => t.id)).toEqual([2, 3])
    const id = (transitions[0] as Transition).alarmId
    expect(store.history(id).map((t) => t.alarmId)).toEqual(transitions.filter((t) => t.alarmId === id).map(() => id))
  })

  it('a log that does not replay is refused, not half-loaded', () => {
    const { transitions } = stormLog()
    const store = new AlarmStore(db)
    store.commit({ transitions: transitions.slice(1), devices: [], at: 1 })
    expect(() => store.load()).toThrow(/does not replay/)
  })
})
