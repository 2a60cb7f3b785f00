/**
 * What a run serves: the devices (id, profile, model parameters, where they stand)
 * and the buses that carry them, from a district or from one profile on the command
 * line. Pure: the runner does the I/O.
 */
import type { District } from '../../shared/district/schema.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { SensorKind } from '../../shared/profile/schema.ts'

/** One simulated device. */
export interface SimDeviceSpec {
  readonly id: string
  readonly kind: SensorKind
  readonly profile: ResolvedProfile
  readonly gateway: string
  readonly site: string
  readonly bus: string
  readonly unit: number
  /** The district's model parameters (kind-specific, see `shared/district/schema.ts`). */
  readonly model?: Readonly<Record<string, unknown>>
}

export type Parity = 'none' | 'even' | 'odd'

export type BusTransport =
  | { readonly type: 'tcp'; readonly host: string; readonly port: number }
  | {
      readonly type: 'rtu'
      readonly path: string
      readonly baud: number
      readonly parity: Parity
      readonly stopBits: 1 | 2
      /**
       * `path`: serve on `path` itself (a serial adapter, or a pty end the user made).
       * `auto`: serve on `path` when it is a serial device on this machine that no other
       * bus of the plan names, else on a socat pty pair (the district's path is where the
       * field device sits, usually not on this machine).
       */
      readonly serve: 'path' | 'auto'
    }

/** One Modbus bus and the devices on it, by unit id. */
export interface BusSpec {
  readonly gateway: string
  readonly id: string
  readonly transport: BusTransport
  readonly devices: readonly string[]
}

export interface SimPlan {
  readonly devices: readonly SimDeviceSpec[]
  readonly buses: readonly BusSpec[]
}

/**
 * The plan of a district: every device, every bus that carries at least one. Expects
 * a district parsed with the profile library, so every profile exists; a missing one
 * throws (a caller bug).
 */
export function planDistrict(district: District, profiles: ReadonlyMap<string, ResolvedProfile>): SimPlan {
  const siteOf = new Map(district.gateways.map((g) => [g.id, g.site]))
  const devices = district.devices.map((d): SimDeviceSpec => {
    const profile = profiles.get(d.profile)
    if (!profile) throw new Error(`device ${d.id}: unknown profile ${d.profile}`)
    return {
      id: d.id,
      kind: d.kind,
      profile,
      gateway: d.gateway,
      site: siteOf.get(d.gateway) ?? '',
      bus: d.bus,
      unit: d.unit,
      ...(d.model === undefined ? {} : { model: d.model as Readonly<Record<string, unknown>> }),
    }
  })
  const buses: BusSpec[] = []
  for (const g of district.gateways) {
    for (const b of g.buses) {
      const on = devices.filter((d) => d.gateway === g.id && d.bus === b.id).map((d) => d.id)
      if (on.length === 0) continue
      const transport: BusTransport =
        b.type === 'tcp'
          ? { type: 'tcp', host: b.host, port: b.port }
          : { type: 'rtu', path: b.path, baud: b.baud, parity: b.parity, stopBits: b.stopBits, serve: 'auto' }
      buses.push({ gateway: g.id, id: b.id, transport, devices: on })
    }
  }
  return { devices, buses }
}

/** Gateway, site and bus ids of a single-profile run (`muni sim --profile`). */
export const SINGLE = Object.freeze({ gateway: 'sim', site: 'sim' })

/** Device id of unit `n` in a single-profile run. */
export const unitDeviceId = (unit: number): string => `unit-${unit}`

/** One profile behind several unit ids on one bus: an RTU-to-TCP gateway, or several slaves on one line. */
export function planProfile(profile: ResolvedProfile, units: readonly number[], transport: BusTransport): SimPlan {
  const bus = transport.type
  const devices = units.map((unit): SimDeviceSpec => ({ id: unitDeviceId(unit), kind: profile.kind, profile, gateway: SINGLE.gateway, site: SINGLE.site, bus, unit }))
  return { devices, buses: [{ gateway: SINGLE.gateway, id: bus, transport, devices: devices.map((d) => d.id) }] }
}

/** Where the TCP buses of a district listen on this machine. */
export interface TcpListen {
  /** Address every TCP bus listens on (the district's hosts are the converters' addresses in the field). */
  readonly host: string
  /** Added to the district's port (502 → 5502 with 5000), so no root is needed. */
  readonly portOffset: number
  /** Let the OS pick every port (tests); the endpoints say which. */
  readonly freePorts: boolean
}

/**
 * The plan with its TCP buses moved to `listen`. Two buses that would share a port
 * on the one listening host (the sample district has two converters on port 502)
 * take the next free ones, in district order, so the result is the same every run.
 */
export function relocateTcp(plan: SimPlan, listen: TcpListen): SimPlan {
  const taken = new Set<number>()
  const buses = plan.buses.map((b): BusSpec => {
    if (b.transport.type !== 'tcp') return b
    let port = 0
    if (!listen.freePorts) {
      port = b.transport.port + listen.portOffset
      while (taken.has(port)) port++
      if (port > 65535) throw new RangeError(`bus ${b.gateway}/${b.id}: port ${b.transport.port} + offset ${listen.portOffset} is above 65535`)
      taken.add(port)
    }
    return { ...b, transport: { type: 'tcp', host: listen.host, port } }
  })
  return { ...plan, buses }
}
