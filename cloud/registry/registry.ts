/**
 * The device registry: which gateways and devices exist, what they are and whether
 * they answer. Fed by births (inventory), states (gateway online/offline, the Last Will)
 * and device events (availability); read by ingest (a reading's kind) and the API.
 *
 * Kept in memory for lookups on the ingest path and written through to the state
 * database on every change of inventory or status. Last values change with every
 * reading; they are kept in memory and persisted by `flushLastValues()` (the service
 * calls it on a timer and on close), since they can always be read again from storage.
 */
import type { Birth, DeviceEvent, PointValue, State } from '../../shared/mqtt/messages.ts'
import type { SensorKind } from '../../shared/profile/schema.ts'
import type { Availability, RegistryDevice, RegistryGateway, RegistrySite, RegistryView } from '../model.ts'
import type { StateDb } from '../state/db.ts'

interface GatewayRow {
  site: string
  gateway: string
  state: 'online' | 'offline' | 'unknown'
  session: number
  agent: string | null
  born_at: number | null
  state_at: number | null
}

interface DeviceRow {
  gateway: string
  device: string
  site: string
  kind: SensorKind
  profile: string
  firmware: string
  bus: string
  unit: number | null
  lat: number | null
  lon: number | null
  asset: string | null
  availability: Availability
  last_error: string | null
  last_seen: number | null
  last_values: string | null
}

type GatewayEntry = Omit<RegistryGateway, 'devices'> & { devices: Map<string, RegistryDevice> }

/** What a change did, for the service's logs and the alarm engine later. */
export type RegistryChange =
  | { type: 'birth'; site: string; gateway: string; session: number; added: string[]; removed: string[] }
  | { type: 'state'; site: string; gateway: string; state: 'online' | 'offline'; session: number }
  | { type: 'stale-state'; site: string; gateway: string; session: number; current: number }
  | { type: 'availability'; gateway: string; device: string; availability: Availability; reason?: string }

const key = (gateway: string, device: string): string => `${gateway}\u0000${device}`

export class Registry implements RegistryView {
  readonly #db: StateDb
  readonly #gateways = new Map<string, GatewayEntry>()
  readonly #dirty = new Set<string>()
  readonly #waiters = new Map<string, Array<() => void>>()
  readonly #stmt

  constructor(db: StateDb) {
    this.#db = db
    this.#stmt = {
      upsertGateway: db.prepare(
        `INSERT INTO gateways (site, gateway, state, session, agent, born_at, state_at) VALUES (@site, @gateway, @state, @session, @agent, @born_at, @state_at)
         ON CONFLICT (gateway) DO UPDATE SET site = excluded.site, state = excluded.state, session = excluded.session, agent = excluded.agent, born_at = excluded.born_at, state_at = excluded.state_at`,
      ),
      upsertDevice: db.prepare(
        `INSERT INTO devices (gateway, device, site, kind, profile, firmware, bus, unit, lat, lon, asset, availability, last_error, last_seen, last_values)
         VALUES (@gateway, @device, @site, @kind, @profile, @firmware, @bus, @unit, @lat, @lon, @asset, @availability, @last_error, @last_seen, @last_values)
         ON CONFLICT (gateway, device) DO UPDATE SET site = excluded.site, kind = excluded.kind, profile = excluded.profile, firmware = excluded.firmware,
           bus = excluded.bus, unit = excluded.unit, lat = excluded.lat, lon = excluded.lon, asset = excluded.asset, availability = excluded.availability,
           last_error = excluded.last_error, last_seen = excluded.last_seen, last_values = excluded.last_values`,
      ),
      deleteDevice: db.prepare('DELETE FROM devices WHERE gateway = ? AND device = ?'),
      lastValues: db.prepare('UPDATE devices SET last_seen = ?, last_values = ?, availability = ? WHERE gateway = ? AND device = ?'),
    }
    this.#load()
  }

  #load(): void {
    for (const g of this.#db.prepare('SELECT * FROM gateways').all() as GatewayRow[]) {
      this.#gateways.set(g.gateway, {
        site: g.site,
        gateway: g.gateway,
        state: g.state,
        session: g.session,
        ...(g.agent ? { agent: JSON.parse(g.agent) as { name: string; version: string } } : {}),
        ...(g.born_at !== null ? { bornAt: g.born_at } : {}),
        ...(g.state_at !== null ? { stateAt: g.state_at } : {}),
        devices: new Map(),
      })
    }
    for (const d of this.#db.prepare('SELECT * FROM devices').all() as DeviceRow[]) {
      const g = this.#gateways.get(d.gateway)
      if (g === undefined) continue
      g.devices.set(d.device, fromRow(d))
    }
  }

  // ---- writes (from ingest) -------------------------------------------------------------

  /** Applies a birth: the gateway's inventory replaces the previous one (devices no longer listed are removed). */
  applyBirth(birth: Birth): RegistryChange {
    const prev = this.#gateways.get(birth.gateway)
    const entry: GatewayEntry = {
      site: birth.site,
      gateway: birth.gateway,
      state: prev?.state ?? 'unknown',
      session: birth.session,
      agent: birth.agent,
      bornAt: birth.ts,
      ...(prev?.stateAt !== undefined ? { stateAt: prev.stateAt } : {}),
      devices: new Map(),
    }
    const added: string[] = []
    for (const d of birth.devices) {
      const old = prev?.devices.get(d.device)
      if (old === undefined) added.push(d.device)
      const dev: RegistryDevice = {
        site: birth.site,
        gateway: birth.gateway,
        device: d.device,
        kind: d.kind,
        profile: d.profile,
        firmware: d.firmware,
        bus: d.bus,
        ...(d.unit !== undefined ? { unit: d.unit } : {}),
        ...(d.location !== undefined ? { location: d.location } : {}),
        ...(d.asset !== undefined ? { asset: d.asset } : {}),
        availability: old?.availability ?? 'unknown',
        ...(old?.lastError !== undefined ? { lastError: old.lastError } : {}),
        ...(old?.lastSeen !== undefined ? { lastSeen: old.lastSeen } : {}),
        ...(old?.lastValues !== undefined ? { lastValues: old.lastValues } : {}),
      }
      entry.devices.set(d.device, dev)
    }
    const removed = prev ? [...prev.devices.keys()].filter((id) => !entry.devices.has(id)) : []
    this.#db.transaction(() => {
      this.#stmt.upsertGateway.run(gatewayRow(entry))
      for (const id of removed) this.#stmt.deleteDevice.run(birth.gateway, id)
      for (const d of entry.devices.values()) this.#stmt.upsertDevice.run(deviceRow(d))
    })()
    this.#gateways.set(birth.gateway, entry)
    for (const id of removed) this.#dirty.delete(key(birth.gateway, id))
    const waiting = this.#waiters.get(birth.gateway)
    this.#waiters.delete(birth.gateway)
    for (const w of waiting ?? []) w()
    return { type: 'birth', site: birth.site, gateway: birth.gateway, session: birth.session, added, removed }
  }

  /**
   * Applies a state message. A state of an older session than the newest birth's is
   * stale (a Last Will delivered after the gateway already reconnected) and ignored.
   */
  applyState(site: string, gateway: string, state: State, at: number): RegistryChange {
    let g = this.#gateways.get(gateway)
    if (g !== undefined && state.session < g.session) return { type: 'stale-state', site, gateway, session: state.session, current: g.session }
    if (g === undefined) {
      g = { site, gateway, state: 'unknown', session: state.session, devices: new Map() }
      this.#gateways.set(gateway, g)
    }
    g.state = state.state
    g.session = state.session
    g.stateAt = state.ts ?? at
    this.#stmt.upsertGateway.run(gatewayRow(g))
    return { type: 'state', site, gateway, state: state.state, session: state.session }
  }

  /** Applies a device event; undefined when the device is unknown. */
  applyEvent(gateway: string, event: DeviceEvent): RegistryChange | undefined {
    const d = this.#gateways.get(gateway)?.devices.get(event.device)
    if (d === undefined) return undefined
    if (event.event === 'available') {
      d.availability = 'available'
      delete d.lastError
    } else if (event.event === 'unavailable') {
      d.availability = 'unavailable'
      d.lastError = event.error ? `${event.error.code}${event.error.exception !== undefined ? ` ${event.error.exception}` : ''}${event.error.detail ? `: ${event.error.detail}` : ''}` : (event.reason ?? 'unavailable')
    } else {
      d.lastError = `profile mismatch: ${event.reason ?? ''}`.trim()
    }
    this.#stmt.upsertDevice.run(deviceRow(d))
    return { type: 'availability', gateway, device: event.device, availability: d.availability, ...(d.lastError ? { reason: d.lastError } : {}) }
  }

  /** Records a reading as the device's last values when it is the newest seen (in memory; see `flushLastValues`). */
  noteReading(gateway: string, device: string, ts: number, values: Record<string, PointValue>): void {
    const d = this.#gateways.get(gateway)?.devices.get(device)
    if (d === undefined || (d.lastSeen !== undefined && d.lastSeen > ts)) return
    d.lastSeen = ts
    if (d.lastValues === undefined) d.lastValues = { ...values }
    else Object.assign(d.lastValues, values)
    if (d.availability === 'unknown') d.availability = 'available'
    this.#dirty.add(key(gateway, device))
  }

  /** Writes the last values changed since the previous flush. */
  flushLastValues(): number {
    if (this.#dirty.size === 0) return 0
    const dirty = [...this.#dirty]
    this.#dirty.clear()
    this.#db.transaction(() => {
      for (const k of dirty) {
        const [gateway = '', device = ''] = k.split('\u0000')
        const d = this.#gateways.get(gateway)?.devices.get(device)
        if (d) this.#stmt.lastValues.run(d.lastSeen ?? null, JSON.stringify(d.lastValues ?? {}), d.availability, gateway, device)
      }
    })()
    return dirty.length
  }

  // ---- lookups (ingest) -----------------------------------------------------------------

  /** The device's kind and site, when the device is known. */
  lookup(gateway: string, device: string): RegistryDevice | undefined {
    return this.#gateways.get(gateway)?.devices.get(device)
  }

  /** True once a birth of this gateway has been applied. */
  knowsGateway(gateway: string): boolean {
    return this.#gateways.get(gateway)?.bornAt !== undefined
  }

  /**
   * Resolves true when a birth of `gateway` arrives within `ms` (at once when one is
   * known). A gateway publishes its birth before its telemetry, but the broker may hand
   * them to ingest out of order; this bridges that, and only that.
   */
  waitForBirth(gateway: string, ms: number): Promise<boolean> {
    if (this.knowsGateway(gateway)) return Promise.resolve(true)
    return new Promise((resolve) => {
      const list = this.#waiters.get(gateway) ?? []
      const timer = setTimeout(() => {
        const l = this.#waiters.get(gateway)
        if (l) l.splice(l.indexOf(done), 1)
        resolve(false)
      }, ms)
      const done = (): void => {
        clearTimeout(timer)
        resolve(true)
      }
      list.push(done)
      this.#waiters.set(gateway, list)
    })
  }

  // ---- RegistryView ---------------------------------------------------------------------

  sites(): RegistrySite[] {
    const by = new Map<string, RegistrySite>()
    for (const g of this.#gateways.values()) {
      const s = by.get(g.site) ?? { site: g.site, gateways: 0, devices: 0, online: 0 }
      s.gateways++
      s.devices += g.devices.size
      if (g.state === 'online') s.online++
      by.set(g.site, s)
    }
    return [...by.values()].sort((a, b) => a.site.localeCompare(b.site))
  }

  gateways(site?: string): RegistryGateway[] {
    return [...this.#gateways.values()]
      .filter((g) => site === undefined || g.site === site)
      .map(view)
      .sort((a, b) => a.gateway.localeCompare(b.gateway))
  }

  gateway(site: string, gateway: string): RegistryGateway | undefined {
    const g = this.#gateways.get(gateway)
    return g !== undefined && g.site === site ? view(g) : undefined
  }

  devices(filter: { site?: string; gateway?: string } = {}): RegistryDevice[] {
    const out: RegistryDevice[] = []
    for (const g of this.#gateways.values()) {
      if (filter.site !== undefined && g.site !== filter.site) continue
      if (filter.gateway !== undefined && g.gateway !== filter.gateway) continue
      for (const d of g.devices.values()) out.push({ ...d, ...(d.lastValues ? { lastValues: { ...d.lastValues } } : {}) })
    }
    return out.sort((a, b) => a.gateway.localeCompare(b.gateway) || a.device.localeCompare(b.device))
  }

  device(gateway: string, device: string): RegistryDevice | undefined {
    const d = this.#gateways.get(gateway)?.devices.get(device)
    return d === undefined ? undefined : { ...d, ...(d.lastValues ? { lastValues: { ...d.lastValues } } : {}) }
  }
}

function view(g: GatewayEntry): RegistryGateway {
  const { devices, ...rest } = g
  return { ...rest, devices: devices.size }
}

function gatewayRow(g: Omit<RegistryGateway, 'devices'>): GatewayRow {
  return {
    site: g.site,
    gateway: g.gateway,
    state: g.state,
    session: g.session,
    agent: g.agent ? JSON.stringify(g.agent) : null,
    born_at: g.bornAt ?? null,
    state_at: g.stateAt ?? null,
  }
}

function deviceRow(d: RegistryDevice): DeviceRow {
  return {
    gateway: d.gateway,
    device: d.device,
    site: d.site,
    kind: d.kind,
    profile: d.profile,
    firmware: d.firmware,
    bus: d.bus,
    unit: d.unit ?? null,
    lat: d.location?.lat ?? null,
    lon: d.location?.lon ?? null,
    asset: d.asset ?? null,
    availability: d.availability,
    last_error: d.lastError ?? null,
    last_seen: d.lastSeen ?? null,
    last_values: d.lastValues ? JSON.stringify(d.lastValues) : null,
  }
}

function fromRow(r: DeviceRow): RegistryDevice {
  return {
    site: r.site,
    gateway: r.gateway,
    device: r.device,
    kind: r.kind,
    profile: r.profile,
    firmware: r.firmware,
    bus: r.bus,
    ...(r.unit !== null ? { unit: r.unit } : {}),
    ...(r.lat !== null && r.lon !== null ? { location: { lat: r.lat, lon: r.lon } } : {}),
    ...(r.asset !== null ? { asset: r.asset } : {}),
    availability: r.availability,
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    ...(r.last_seen !== null ? { lastSeen: r.last_seen } : {}),
    ...(r.last_values !== null ? { lastValues: JSON.parse(r.last_values) as Record<string, PointValue> } : {}),
  }
}
