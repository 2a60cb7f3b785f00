/**
 * The alarm engine: the I/O around the pure cores. It keeps, in memory, the evaluator
 * state of every device, the newest alarm per key, flood control and maintenance
 * windows, and makes each change durable (`store.ts`) before anyone hears of it:
 *
 *   readings ─► evaluate ─► events ─► route (flood) ─► fromEvent/apply ─► commit ─► onTransition
 *   registry changes (Last Will, availability) ─┘         operators (ack, shelve, …) ─┘
 *
 * Each call stages its changes on top of the current state, commits them in one SQLite
 * transaction (transitions + the evaluator states they came from + maintenance), and only
 * then installs them and calls `onTransition`, in log order. When the commit throws the
 * engine is unchanged, so feeding the same readings again evaluates them again.
 *
 * One engine instance must own each device: the evaluator's windows and delays are per
 * device and not shareable. Scale-out is a partition by gateway (README.md § Scale-out);
 * this class evaluates whatever it is given.
 */
import type { SensorKind } from '../../shared/profile/schema.ts'
import type { StoredReading } from '../model.ts'
import type { RegistryChange } from '../registry/registry.ts'
import type { StateDb } from '../state/db.ts'
import { evaluate, tick as tickDevice, type AlarmEvent, type DeviceAlarmState } from './evaluate.ts'
import { EMPTY_FLOOD, GATEWAY_DEVICE, GATEWAY_OFFLINE_RULE, route, type FloodInput, type FloodState } from './flood.ts'
import {
  actionKey,
  alarmKey,
  apply,
  expiredShelves,
  inMaintenance,
  isOpen,
  SYSTEM,
  type Action,
  type Alarm,
  type AlarmStatus,
  type Maintenance,
  type Transition,
} from './lifecycle.ts'
import { resolveRules, type DeviceRef, type Rule, type RuleSet, type Severity } from './rules.ts'
import { AlarmStore, deviceKey, type DeviceRecord, type StoredTransition } from './store.ts'

/** The alarm type of a device the registry reports unavailable (its gateway's device events). */
export const UNAVAILABLE_RULE = 'device.unavailable'

export interface AlarmEngineOptions {
  /** The database the alarm tables live in (the cloud's state database). */
  db: StateDb
  /** The rule set, or a loader called on `start()` and on `reloadRules()` without an argument. */
  rules: RuleSet | (() => RuleSet)
  /** Cloud clock, ms (operator actions, registry changes, the default `tick`). */
  now?: () => number
  /** Called after each transition is durable, in log order; `announce` says whether operators are told. */
  onTransition?: (t: StoredTransition, alarm: Alarm) => void
  log?: (line: string) => void
  /** What the registry knows of a device: its profile and asset pick its rules (`Registry.lookup` fits). */
  lookup?: (gateway: string, device: string) => { site?: string; kind?: SensorKind; profile?: string; asset?: string } | undefined
  /** How often `tick` writes evaluator states that changed without a transition (default 60 s). */
  stateFlushMs?: number
  /** Severity of device-unavailable alarms (default MAJOR). */
  unavailableSeverity?: Severity
}

export type MaintenanceScope = { site: string } | { gateway: string; device: string }

export interface AlarmFilter {
  state?: AlarmStatus | readonly AlarmStatus[]
  severity?: Severity | readonly Severity[]
  site?: string
  gateway?: string
  device?: string
  rule?: string
}

export type OperatorResult =
  | { ok: true; alarm: Alarm; transition: StoredTransition }
  | { ok: false; error: 'not_found' | 'rejected'; reason: string }

/** Changes staged on top of the engine's state until they are committed. */
interface Batch {
  devices: Map<string, DeviceRecord>
  /** Device states to write with the transitions (their evaluation changed something). */
  durable: Set<string>
  flood: FloodState
  alarms: Map<string, Alarm>
  transitions: Transition[]
  /** The alarm as of each transition, for `onTransition`. */
  after: Alarm[]
  maintenance?: Maintenance
  removed: Array<[string, string]>
  /** Device states replaced without being marked for writing. */
  quiet: Map<string, DeviceRecord>
}

export class AlarmEngine {
  readonly #o: AlarmEngineOptions
  readonly #now: () => number
  readonly #log: (line: string) => void
  #store: AlarmStore | undefined
  #rules: RuleSet | undefined
  readonly #resolved = new Map<string, Rule[]>()
  #alarms = new Map<string, Alarm>()
  #devices = new Map<string, DeviceRecord>()
  readonly #dirty = new Set<string>()
  #flood: FloodState = EMPTY_FLOOD
  #maintenance: Maintenance = { sites: {}, devices: {} }
  #lastFlush = Number.NEGATIVE_INFINITY
  /** A sliced flush round (`tick` with `maxDevices`): the devices dirty when it began, the next position, and the slice size. */
  #flushRound: string[] = []
  #flushPos = 0
  #flushStep = 0
  /** `tick`'s round robin over the devices: a snapshot of their keys and the next position. */
  #tickKeys: string[] = []
  #tickPos = 0

  constructor(options: AlarmEngineOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    this.#log = options.log ?? (() => {})
  }

  /** Creates the tables when missing, loads the rules and rebuilds state from the log. */
  start(): void {
    if (this.#store) return
    const store = new AlarmStore(this.#o.db)
    const loaded = store.load()
    this.#rules = typeof this.#o.rules === 'function' ? this.#o.rules() : this.#o.rules
    this.#alarms = loaded.alarms
    this.#devices = loaded.devices
    this.#maintenance = loaded.maintenance
    this.#flood = floodFrom(loaded.alarms)
    this.#store = store
    this.#lastFlush = this.#now()
    const open = [...loaded.alarms.values()].filter(isOpen).length
    this.#log(`alarms: ${loaded.transitions} transition(s) replayed, ${open} open alarm(s), ${loaded.devices.size} device state(s)`)
  }

  /** Writes the evaluator states not yet written. The engine can be started again. */
  stop(): void {
    if (!this.#store) return
    this.#flushStates(this.#now())
    this.#store = undefined
  }

  // ---- inputs ----------------------------------------------------------------------

  /** Evaluates readings already durably stored, in the order given. */
  onReadings(readings: readonly StoredReading[]): StoredTransition[] {
    const b = this.#batch()
    for (const r of readings) {
      const k = deviceKey(r.gateway, r.device)
      const prev = b.devices.get(k) ?? this.#devices.get(k)
      const ref = this.#refOf(r, prev?.ref)
      const out = evaluate(prev?.state, r, this.#rulesOf(k, ref))
      if (out.ignored) continue
      this.#stageDevice(b, k, ref, out.state, out.events)
    }
    return this.#commit(b)
  }

  /** Gateway Last Will / birth state → flood control; device availability → its own alarm. */
  onRegistryChange(change: RegistryChange): StoredTransition[] {
    const b = this.#batch()
    const at = this.#now()
    switch (change.type) {
      case 'state':
        this.#route(b, { type: change.state === 'offline' ? 'gateway-offline' : 'gateway-online', site: change.site, gateway: change.gateway, at })
        break
      case 'availability': {
        const key = alarmKey({ gateway: change.gateway, device: change.device, rule: UNAVAILABLE_RULE })
        if (change.availability === 'unavailable') {
          const ref = this.#devices.get(deviceKey(change.gateway, change.device))?.ref
          const site = ref?.site ?? this.#o.lookup?.(change.gateway, change.device)?.site ?? ''
          const d = { site, gateway: change.gateway, device: change.device }
          this.#apply(b, {
            type: 'raise',
            at,
            actor: SYSTEM,
            ...d,
            rule: UNAVAILABLE_RULE,
            kind: 'availability',
            severity: this.#o.unavailableSeverity ?? 'MAJOR',
            message: `device unavailable${change.reason ? `: ${change.reason}` : ''}`,
            ...(inMaintenance(this.#maintenance, d, at) ? { maintenance: true } : {}),
          })
        } else if (change.availability === 'available') {
          this.#apply(b, { type: 'clear', key, at, actor: SYSTEM, message: 'device available again' })
        }
        break
      }
      case 'birth':
        // Devices gone from the inventory: their open alarms clear, their state is dropped.
        for (const device of change.removed) {
          for (const a of this.#alarms.values()) {
            if (a.gateway === change.gateway && a.device === device) this.#apply(b, { type: 'clear', key: a.key, at, actor: SYSTEM, message: 'device removed from the gateway' })
          }
          const k = deviceKey(change.gateway, device)
          if (this.#devices.has(k)) b.removed.push([change.gateway, device])
        }
        break
      case 'stale-state':
        break
    }
    return this.#commit(b)
  }

  /**
   * Time passes: delays, stale data, persisting bad quality, shelving expiry, maintenance ends.
   * `maxDevices` ticks only that many devices, continuing where the previous call stopped
   * (round robin), so a caller can spread one pass over all devices across several short
   * calls instead of blocking the event loop for one long one.
   */
  tick(now: number = this.#now(), opts: { maxDevices?: number } = {}): StoredTransition[] {
    const b = this.#batch()
    const limit = opts.maxDevices ?? Number.POSITIVE_INFINITY
    // A call never wraps around: each device is ticked at most once per call.
    if (limit === Number.POSITIVE_INFINITY || this.#tickPos >= this.#tickKeys.length) {
      this.#tickKeys = [...this.#devices.keys()]
      this.#tickPos = 0
    }
    const end = Math.min(this.#tickKeys.length, this.#tickPos + limit)
    while (this.#tickPos < end) {
      const k = this.#tickKeys[this.#tickPos++] as string
      const d = this.#devices.get(k)
      if (d === undefined) continue
      const out = tickDevice(d.state, now, this.#rulesOf(k, d.ref))
      // A tick without events changes nothing worth writing (delays run on sample times already kept).
      if (out.events.length > 0) this.#stageDevice(b, k, d.ref, out.state, out.events)
      else if (out.state !== d.state) b.quiet.set(k, { ref: d.ref, state: out.state })
    }
    for (const a of expiredShelves(this.#alarms.values(), now)) this.#apply(b, a)
    const m = pruneMaintenance(this.#maintenance, now)
    if (m !== this.#maintenance) this.#release(b, m, now)
    const out = this.#commit(b)
    if (opts.maxDevices === undefined) {
      if (now - this.#lastFlush >= (this.#o.stateFlushMs ?? 60_000)) this.#flushStates(now)
    } else {
      this.#flushSlice(now)
    }
    return out
  }

  // ---- operators -------------------------------------------------------------------

  /** Acknowledges the alarm (by key, or by id when it is the key's current alarm). */
  ack(ref: string, user: string, comment?: string): OperatorResult {
    return this.#operator(ref, (key, at) => ({ type: 'ack', key, at, actor: user, ...(comment !== undefined ? { comment } : {}) }))
  }

  comment(ref: string, user: string, text: string): OperatorResult {
    return this.#operator(ref, (key, at) => ({ type: 'comment', key, at, actor: user, text }))
  }

  shelve(ref: string, user: string, untilMs: number, comment?: string): OperatorResult {
    return this.#operator(ref, (key, at) => ({ type: 'shelve', key, at, actor: user, until: untilMs, ...(comment !== undefined ? { comment } : {}) }))
  }

  unshelve(ref: string, user: string): OperatorResult {
    return this.#operator(ref, (key, at) => ({ type: 'unshelve', key, at, actor: user }))
  }

  /**
   * Starts (`on`) or ends a maintenance window for a site or a device. Alarms raised while
   * it lasts are tracked, not announced; when it ends, those still active are released
   * (announced as new). `until` ends it by itself at that time (on `tick`).
   */
  setMaintenance(scope: MaintenanceScope, on: boolean, opts: { until?: number } = {}): StoredTransition[] {
    const b = this.#batch()
    const at = this.#now()
    const m: Maintenance = { sites: { ...this.#maintenance.sites }, devices: { ...this.#maintenance.devices } }
    const [table, k] = 'site' in scope ? [m.sites, scope.site] : [m.devices, deviceKey(scope.gateway, scope.device)]
    if (on) table[k] = { from: at, ...(opts.until !== undefined ? { until: opts.until } : {}) }
    else delete table[k]
    this.#release(b, m, at)
    return this.#commit(b)
  }

  // ---- queries and rules -----------------------------------------------------------

  /** The newest alarm of every key that matches, most recently updated first. */
  list(f: AlarmFilter = {}): Alarm[] {
    const states = f.state === undefined ? undefined : new Set(typeof f.state === 'string' ? [f.state] : f.state)
    const sevs = f.severity === undefined ? undefined : new Set(typeof f.severity === 'string' ? [f.severity] : f.severity)
    const out: Alarm[] = []
    for (const a of this.#alarms.values()) {
      if (states && !states.has(a.status)) continue
      if (sevs && !sevs.has(a.severity)) continue
      if ((f.site !== undefined && a.site !== f.site) || (f.gateway !== undefined && a.gateway !== f.gateway)) continue
      if ((f.device !== undefined && a.device !== f.device) || (f.rule !== undefined && a.rule !== f.rule)) continue
      out.push(a)
    }
    return out.sort((x, y) => y.updatedAt - x.updatedAt || (x.id < y.id ? -1 : 1))
  }

  /** The alarm with this id (`key#seq`) when it is its key's newest; older ones live in `history`. */
  get(id: string): Alarm | undefined {
    const a = this.#alarms.get(keyOf(id))
    return a?.id === id ? a : undefined
  }

  /** How many devices the engine keeps evaluator state for. */
  get deviceCount(): number {
    return this.#devices.size
  }

  /** Every logged transition of one alarm id, oldest first. */
  history(id: string): StoredTransition[] {
    return this.#started().history(id)
  }

  /**
   * Logged transitions with id > `afterId`, oldest first, at most `limit`: where an SSE stream
   * resumes from its Last-Event-ID and a webhook target from its cursor. Includes transitions
   * that were not announced (`announce: false`); readers that only tell operators skip them.
   */
  transitions(afterId = 0, limit = 1000): StoredTransition[] {
    return this.#started().transitions(afterId, limit)
  }

  /** Swaps the rule set (or calls the loader again). Removed rules clear their open alarms on the device's next reading or tick. */
  reloadRules(set?: RuleSet): void {
    const loader = this.#o.rules
    this.#rules = set ?? (typeof loader === 'function' ? loader() : loader)
    this.#resolved.clear()
  }

  /** The maintenance windows as kept (a copy): sites by id, devices by `gateway/device`. Ended ones stay until the next `tick`. */
  maintenance(): Maintenance {
    return { sites: { ...this.#maintenance.sites }, devices: { ...this.#maintenance.devices } }
  }

  // ---- internals -------------------------------------------------------------------

  #started(): AlarmStore {
    if (!this.#store) throw new Error('alarm engine not started')
    return this.#store
  }

  #batch(): Batch {
    this.#started()
    return { devices: new Map(), durable: new Set(), flood: this.#flood, alarms: new Map(), transitions: [], after: [], removed: [], quiet: new Map() }
  }

  #refOf(r: StoredReading, prev: DeviceRef | undefined): DeviceRef {
    if (prev && prev.site === r.site && prev.kind === r.kind) return prev
    const known = this.#o.lookup?.(r.gateway, r.device)
    const ref: DeviceRef = {
      site: r.site,
      gateway: r.gateway,
      device: r.device,
      kind: r.kind,
      ...(known?.profile !== undefined ? { profile: known.profile } : {}),
      ...(known?.asset !== undefined ? { asset: known.asset } : {}),
    }
    this.#resolved.delete(deviceKey(r.gateway, r.device))
    return ref
  }

  #rulesOf(k: string, ref: DeviceRef): Rule[] {
    let rules = this.#resolved.get(k)
    if (!rules) {
      rules = resolveRules(this.#rules as RuleSet, ref)
      this.#resolved.set(k, rules)
    }
    return rules
  }

  #stageDevice(b: Batch, k: string, ref: DeviceRef, state: DeviceAlarmState, events: readonly AlarmEvent[]): void {
    b.devices.set(k, { ref, state })
    if (events.length > 0) b.durable.add(k)
    for (const event of events) this.#route(b, { type: 'alarm', event, ...(inMaintenance(this.#maintenance, event, event.ts) ? { maintenance: true } : {}) })
  }

  #route(b: Batch, input: FloodInput): void {
    const r = route(b.flood, input)
    b.flood = r.state
    for (const a of r.actions) this.#apply(b, a)
  }

  #apply(b: Batch, action: Action): Transition | undefined {
    const k = actionKey(action)
    const r = apply(b.alarms.get(k) ?? this.#alarms.get(k), action)
    if (!r.transition || !r.alarm) return undefined
    b.alarms.set(k, r.alarm)
    b.transitions.push(r.transition)
    b.after.push(r.alarm)
    return r.transition
  }

  /** Installs maintenance `m` in the batch and releases suppressed alarms no longer covered. */
  #release(b: Batch, m: Maintenance, at: number): void {
    b.maintenance = m
    for (const a of this.#alarms.values()) {
      if (a.suppressed && isOpen(a) && !inMaintenance(m, a, at)) this.#apply(b, { type: 'release', key: a.key, at, actor: SYSTEM })
    }
  }

  #operator(ref: string, make: (key: string, at: number) => Action): OperatorResult {
    const b = this.#batch()
    const key = keyOf(ref)
    const current = this.#alarms.get(key)
    if (!current || (ref !== key && current.id !== ref)) return { ok: false, error: 'not_found', reason: `no current alarm ${ref}` }
    const action = make(key, this.#now())
    const r = apply(current, action)
    if (!r.transition || !r.alarm) return { ok: false, error: 'rejected', reason: r.rejected ?? 'rejected' }
    this.#apply(b, action)
    const [t] = this.#commit(b)
    return { ok: true, alarm: this.#alarms.get(key) as Alarm, transition: t as StoredTransition }
  }

  #commit(b: Batch): StoredTransition[] {
    const store = this.#started()
    const at = this.#now()
    let stored: StoredTransition[] = []
    if (b.transitions.length > 0 || b.durable.size > 0 || b.maintenance || b.removed.length > 0) {
      stored = store.commit({
        transitions: b.transitions,
        devices: [...b.durable].map((k) => b.devices.get(k) as DeviceRecord),
        at,
        ...(b.maintenance ? { maintenance: b.maintenance } : {}),
        removed: b.removed,
      })
    }
    // Durable: install.
    for (const [k, a] of b.alarms) this.#alarms.set(k, a)
    for (const [k, d] of b.devices) {
      this.#devices.set(k, d)
      if (b.durable.has(k)) this.#dirty.delete(k)
      else this.#dirty.add(k)
    }
    for (const [k, d] of b.quiet) if (!b.devices.has(k)) this.#devices.set(k, d)
    for (const [g, d] of b.removed) {
      const k = deviceKey(g, d)
      this.#devices.delete(k)
      this.#dirty.delete(k)
      this.#resolved.delete(k)
    }
    this.#flood = b.flood
    if (b.maintenance) this.#maintenance = b.maintenance
    stored.forEach((t, i) => {
      try {
        this.#o.onTransition?.(t, b.after[i] as Alarm)
      } catch (e) {
        this.#log(`alarms: onTransition failed for ${t.alarmId}: ${e instanceof Error ? e.message : String(e)}`)
      }
    })
    return stored
  }

  /**
   * One slice of the periodic state flush. A round begins every `stateFlushMs` with the
   * devices dirty then and writes 1/FLUSH_ROUND_CALLS of them per call (at least
   * FLUSH_MIN_SLICE), so no call blocks the event loop for long: writing 800 states in one
   * transaction took 40–90 ms, one of the tails of publish → SSE latency (issue 6 §9).
   * A device written since (its transition committed it) or gone is skipped.
   */
  #flushSlice(at: number): void {
    if (this.#flushPos >= this.#flushRound.length) {
      if (at - this.#lastFlush < (this.#o.stateFlushMs ?? 60_000)) return
      this.#lastFlush = at
      this.#flushRound = [...this.#dirty]
      this.#flushPos = 0
      this.#flushStep = Math.max(FLUSH_MIN_SLICE, Math.ceil(this.#flushRound.length / FLUSH_ROUND_CALLS))
      if (this.#flushRound.length === 0) return
    }
    const end = Math.min(this.#flushRound.length, this.#flushPos + this.#flushStep)
    const batch: DeviceRecord[] = []
    while (this.#flushPos < end) {
      const k = this.#flushRound[this.#flushPos++] as string
      const d = this.#devices.get(k)
      if (d === undefined || !this.#dirty.has(k)) continue
      batch.push(d)
      this.#dirty.delete(k)
    }
    if (batch.length > 0) this.#started().saveStates(batch, at)
    if (this.#flushPos >= this.#flushRound.length) this.#flushRound = []
  }

  #flushStates(at: number): void {
    const store = this.#started()
    if (this.#dirty.size > 0) {
      store.saveStates(
        [...this.#dirty].flatMap((k) => this.#devices.get(k) ?? []),
        at,
      )
      this.#dirty.clear()
    }
    this.#lastFlush = at
  }
}

/** A sliced flush round is spread over this many `tick` calls (≈30 s at 10 calls a second)… */
const FLUSH_ROUND_CALLS = 300
/** …writing at least this many states per call (≈1 ms). */
const FLUSH_MIN_SLICE = 20

/** The key of an alarm id (`key#seq`) or of a key. */
function keyOf(ref: string): string {
  const i = ref.lastIndexOf('#')
  return i < 0 ? ref : ref.slice(0, i)
}

/** Flood control's state, from the rebuilt alarms: active gateway-offline parents and their open children. */
function floodFrom(alarms: Map<string, Alarm>): FloodState {
  const offline: FloodState['offline'] = {}
  for (const a of alarms.values()) {
    if (a.device !== GATEWAY_DEVICE || a.rule !== GATEWAY_OFFLINE_RULE) continue
    if (a.status !== 'ACTIVE_UNACK' && a.status !== 'ACTIVE_ACK') continue
    const children = [...alarms.values()].filter((c) => c.parent === a.key && isOpen(c)).map((c) => c.key)
    offline[a.gateway] = { site: a.site, since: a.openedAt, parent: a.key, children }
  }
  return { offline }
}

/** Drops windows that ended by `now`; the same object when none did. */
function pruneMaintenance(m: Maintenance, now: number): Maintenance {
  const ended = (w: { until?: number }): boolean => w.until !== undefined && w.until <= now
  if (!Object.values(m.sites).some(ended) && !Object.values(m.devices).some(ended)) return m
  const keep = (t: Maintenance['sites']): Maintenance['sites'] => Object.fromEntries(Object.entries(t).filter(([, w]) => !ended(w)))
  return { sites: keep(m.sites), devices: keep(m.devices) }
}
