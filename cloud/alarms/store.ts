/**
 * The alarm engine's durable state, in SQLite tables of a database the caller opens
 * (the cloud's state database, `cloud/state/db.ts`: WAL, synchronous = NORMAL, so a
 * commit survives the process being killed):
 *
 * - `alarm_transitions`: the append-only log of every lifecycle transition, with actor
 *   and time (`lifecycle.ts`). It is the source of truth: `load()` folds it with
 *   `rebuild()` into the newest alarm per key, so after a restart there is exactly the
 *   same set of alarms — never a duplicate, as a raise for an open key is an in-place
 *   update in the reducer.
 * - `alarm_device_state`: the evaluator's state per device (`DeviceAlarmState`: open
 *   conditions, delays, rate and trend windows). `commit()` writes the states of the
 *   devices whose evaluation changed something in the same transaction as the
 *   transitions, so the evaluator's idea of "this condition is active" always agrees
 *   with the log; other states (a window that grew by one sample) are written by
 *   `saveStates()` on a timer and on close. Losing those to a kill -9 costs a few
 *   samples of window, never a duplicate alarm or a stuck one.
 * - `alarm_meta`: maintenance windows (one JSON row).
 *
 * Not here yet: compaction. The log grows with every transition and `load()` replays
 * it whole; a snapshot of closed alarms (and pruning of their transitions) is the
 * next step when it gets long.
 */
import type { StateDb } from '../state/db.ts'
import type { DeviceAlarmState } from './evaluate.ts'
import type { DeviceRef } from './rules.ts'
import { rebuild, type Action, type Alarm, type AlarmStatus, type Maintenance, type Transition } from './lifecycle.ts'

/** A transition as logged: its row id (increasing) and when it was written (cloud clock). */
export interface StoredTransition extends Transition {
  id: number
  recordedAt: number
}

/** One device as the evaluator knows it: what it is (for its rules) and its evaluation state. */
export interface DeviceRecord {
  ref: DeviceRef
  state: DeviceAlarmState
}

export interface LoadedAlarms {
  /** The newest alarm per key. */
  alarms: Map<string, Alarm>
  /** Evaluator state per device, keyed `gateway/device`. */
  devices: Map<string, DeviceRecord>
  maintenance: Maintenance
  /** Transitions replayed. */
  transitions: number
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS alarm_transitions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alarm_id TEXT NOT NULL,
  key TEXT NOT NULL,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL,
  from_status TEXT,
  to_status TEXT NOT NULL,
  announce INTEGER NOT NULL,
  action TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alarm_transitions_alarm ON alarm_transitions (alarm_id, id);
CREATE TABLE IF NOT EXISTS alarm_device_state (
  gateway TEXT NOT NULL,
  device TEXT NOT NULL,
  ref TEXT NOT NULL,
  state TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (gateway, device)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alarm_meta (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
`

interface TransitionRow {
  id: number
  alarm_id: string
  key: string
  from_status: AlarmStatus | null
  to_status: AlarmStatus
  announce: number
  action: string
  recorded_at: number
}

/** `gateway/device`: the key of a device's evaluator state. */
export function deviceKey(gateway: string, device: string): string {
  return `${gateway}/${device}`
}

// Conditions start at levelSince = -Infinity, which JSON would turn into null.
const NON_FINITE = '\u0000num:'
function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? `${NON_FINITE}${String(v)}` : v
}
function reviver(_k: string, v: unknown): unknown {
  return typeof v === 'string' && v.startsWith(NON_FINITE) ? Number(v.slice(NON_FINITE.length)) : v
}

export class AlarmStore {
  readonly #db: StateDb
  readonly #stmt

  /** Creates the tables when missing and prepares statements; reads nothing. */
  constructor(db: StateDb) {
    this.#db = db
    db.exec(SCHEMA)
    this.#stmt = {
      append: db.prepare(
        `INSERT INTO alarm_transitions (alarm_id, key, type, actor, at, from_status, to_status, announce, action, recorded_at)
         VALUES (@alarm_id, @key, @type, @actor, @at, @from_status, @to_status, @announce, @action, @recorded_at)`,
      ),
      all: db.prepare('SELECT id, alarm_id, key, from_status, to_status, announce, action, recorded_at FROM alarm_transitions ORDER BY id'),
      after: db.prepare('SELECT id, alarm_id, key, from_status, to_status, announce, action, recorded_at FROM alarm_transitions WHERE id > ? ORDER BY id LIMIT ?'),
      ofAlarm: db.prepare('SELECT id, alarm_id, key, from_status, to_status, announce, action, recorded_at FROM alarm_transitions WHERE alarm_id = ? ORDER BY id'),
      saveState: db.prepare(
        `INSERT INTO alarm_device_state (gateway, device, ref, state, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (gateway, device) DO UPDATE SET ref = excluded.ref, state = excluded.state, updated_at = excluded.updated_at`,
      ),
      deleteState: db.prepare('DELETE FROM alarm_device_state WHERE gateway = ? AND device = ?'),
      states: db.prepare('SELECT ref, state FROM alarm_device_state'),
      setMeta: db.prepare('INSERT INTO alarm_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'),
      getMeta: db.prepare('SELECT value FROM alarm_meta WHERE name = ?'),
    }
  }

  /** Rebuilds the current alarms from the log, and reads evaluator states and maintenance. */
  load(): LoadedAlarms {
    const rows = this.#stmt.all.all() as TransitionRow[]
    const alarms = rebuild(rows.map(fromRow))
    const devices = new Map<string, DeviceRecord>()
    for (const r of this.#stmt.states.all() as Array<{ ref: string; state: string }>) {
      const ref = JSON.parse(r.ref) as DeviceRef
      devices.set(deviceKey(ref.gateway, ref.device), { ref, state: JSON.parse(r.state, reviver) as DeviceAlarmState })
    }
    const m = this.#stmt.getMeta.get('maintenance') as { value: string } | undefined
    const maintenance: Maintenance = m ? (JSON.parse(m.value) as Maintenance) : { sites: {}, devices: {} }
    return { alarms, devices, maintenance, transitions: rows.length }
  }

  /**
   * Appends transitions and writes the evaluator states (and maintenance, when given)
   * they belong to, in one transaction: all of it is durable, or none.
   */
  commit(c: {
    transitions: readonly Transition[]
    devices: Iterable<DeviceRecord>
    at: number
    maintenance?: Maintenance
    /** Devices whose state is dropped (gone from their gateway's birth), as `[gateway, device]`. */
    removed?: ReadonlyArray<readonly [string, string]>
  }): StoredTransition[] {
    const { transitions, devices, at, maintenance } = c
    return this.#db.transaction((): StoredTransition[] => {
      const out: StoredTransition[] = []
      for (const t of transitions) {
        const r = this.#stmt.append.run({
          alarm_id: t.alarmId,
          key: t.key,
          type: t.action.type,
          actor: t.action.actor,
          at: t.action.at,
          from_status: t.from ?? null,
          to_status: t.to,
          announce: t.announce ? 1 : 0,
          action: JSON.stringify(t.action, replacer),
          recorded_at: at,
        })
        out.push({ ...t, id: Number(r.lastInsertRowid), recordedAt: at })
      }
      this.#saveStates(devices, at)
      for (const [g, d] of c.removed ?? []) this.#stmt.deleteState.run(g, d)
      if (maintenance) this.#stmt.setMeta.run('maintenance', JSON.stringify(maintenance))
      return out
    })()
  }

  /** Writes evaluator states (the periodic flush and the flush on close). */
  saveStates(devices: Iterable<DeviceRecord>, at: number): void {
    this.#db.transaction(() => this.#saveStates(devices, at))()
  }

  #saveStates(devices: Iterable<DeviceRecord>, at: number): void {
    for (const d of devices) this.#stmt.saveState.run(d.ref.gateway, d.ref.device, JSON.stringify(d.ref), JSON.stringify(d.state, replacer), at)
  }

  /** Transitions with id > `afterId`, oldest first (an SSE stream resumes from Last-Event-ID with this). */
  transitions(afterId = 0, limit = 1000): StoredTransition[] {
    return (this.#stmt.after.all(afterId, limit) as TransitionRow[]).map(fromRow)
  }

  /** Every transition of one alarm (`key#seq`), oldest first. */
  history(alarmId: string): StoredTransition[] {
    return (this.#stmt.ofAlarm.all(alarmId) as TransitionRow[]).map(fromRow)
  }
}

function fromRow(r: TransitionRow): StoredTransition {
  return {
    id: r.id,
    alarmId: r.alarm_id,
    key: r.key,
    action: JSON.parse(r.action, reviver) as Action,
    ...(r.from_status !== null ? { from: r.from_status } : {}),
    to: r.to_status,
    announce: r.announce === 1,
    recordedAt: r.recorded_at,
  }
}
