/**
 * The gateway config mapped onto what the parts take, one field to one field: the
 * polling engine's buses and devices, the drivers' bus descriptions, the OPC UA
 * drivers' device specs, and the birth's device inventory. Pure apart from the transports it is handed.
 */
import type { BirthDevice } from '../../shared/mqtt/index.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { BusConfig, DeviceConfig, GatewayConfig, ModbusBusConfig, OpcuaBusConfig } from '../config/resolve.ts'
import type { BusConfig as DriverBusConfig } from '../drivers/registry.ts'
import type { Transport } from '../drivers/transport.ts'
import type { OpcuaDeviceSpec } from '../opcua/spec.ts'
import type { EngineDescription, EngineDevice } from '../polling/engine.ts'

/** The devices the agent polls: enabled, with a profile in the library. */
export function polledDevices(config: GatewayConfig, profiles: ReadonlyMap<string, ResolvedProfile>): { device: DeviceConfig; profile: ResolvedProfile }[] {
  const out: { device: DeviceConfig; profile: ResolvedProfile }[] = []
  for (const device of config.devices) {
    const profile = profiles.get(device.profile)
    if (device.enabled && profile) out.push({ device, profile })
  }
  return out
}

/** What the driver registry takes for a Modbus config bus. */
export function driverBus(bus: ModbusBusConfig): DriverBusConfig {
  if (bus.type === 'tcp') return { type: 'tcp', host: bus.host, port: bus.port, concurrency: bus.concurrency }
  return { type: 'rtu', path: bus.path, baud: bus.baud, parity: bus.parity, dataBits: bus.dataBits, stopBits: bus.stopBits, interFrameMs: bus.interFrameMs }
}

/** Where a bus goes, for people: `tcp://host:port`, the serial path, or the OPC UA endpoint. */
export function busTarget(bus: BusConfig): string {
  if (bus.type === 'opcua') return bus.endpoint
  return bus.type === 'tcp' ? `tcp://${bus.host}:${bus.port}` : `${bus.path} ${bus.baud} ${bus.parity}`
}

/** The Modbus buses (OPC UA buses are read per device, `opcuaDevices`). */
export function modbusBuses(config: GatewayConfig): ModbusBusConfig[] {
  return config.buses.filter((b): b is ModbusBusConfig => b.type !== 'opcua')
}

/** Each polled device on an OPC UA bus, with its bus, as the OPC UA driver takes it: a point per mapped node. */
export function opcuaDevices(config: GatewayConfig, profiles: ReadonlyMap<string, ResolvedProfile>): { bus: OpcuaBusConfig; spec: OpcuaDeviceSpec }[] {
  const buses = new Map(config.buses.flatMap((b) => (b.type === 'opcua' ? [[b.id, b] as const] : [])))
  return polledDevices(config, profiles).flatMap(({ device, profile }) => {
    const bus = buses.get(device.bus)
    if (bus === undefined) return []
    const points = profile.points.flatMap((p) => {
      const nodeId = device.nodes[p.name]
      return nodeId === undefined ? [] : [{ name: p.name, nodeId, ...(p.unit !== undefined && { unit: p.unit }), ...(p.range !== undefined && { range: { ...p.range } }) }]
    })
    return [{ bus, spec: { id: device.id, endpoint: bus.endpoint, points, mode: bus.mode, intervalMs: bus.samplingMs } }]
  })
}

/** The polling engine's description; `transports` has one per config bus. */
export function engineDescription(
  config: GatewayConfig,
  profiles: ReadonlyMap<string, ResolvedProfile>,
  transports: ReadonlyMap<string, Transport>,
): EngineDescription {
  const busById = new Map(config.buses.map((b) => [b.id, b]))
  const buses = modbusBuses(config).flatMap((b) => {
    const transport = transports.get(b.id)
    // An RTU line serves one request at a time (Modbus over Serial Line v1.02 §2.1).
    return transport ? [{ id: b.id, transport, concurrency: b.type === 'tcp' ? b.concurrency : 1 }] : []
  })
  const devices: EngineDevice[] = []
  // Devices in bus order: a device's place on its bus sets its staggered start.
  for (const b of modbusBuses(config)) {
    for (const { device, profile } of polledDevices(config, profiles)) {
      if (device.bus !== b.id || device.unit === undefined || !transports.has(b.id)) continue
      devices.push({
        id: device.id,
        bus: device.bus,
        unit: device.unit,
        profile,
        pollMs: { fast: device.poll.fast, slow: device.poll.slow },
        timeoutMs: busById.get(device.bus)?.timeoutMs ?? config.defaults.timeoutMs,
        backoff: { initialMs: config.defaults.backoff.initialMs, maxMs: config.defaults.backoff.maxMs },
        // `retries` retries after the first failed attempt: retries + 1 failed sweeps in a row.
        failuresToUnavailable: config.defaults.retries + 1,
        deadbands: device.deadband,
        ...(device.heartbeatS !== undefined && { heartbeatS: device.heartbeatS }),
      })
    }
  }
  return { buses, devices }
}

/** The birth's device list (docs/wire-contract.md "birth"). */
export function birthDevices(config: GatewayConfig, profiles: ReadonlyMap<string, ResolvedProfile>): BirthDevice[] {
  return polledDevices(config, profiles).map(({ device, profile }) => ({
    device: device.id,
    profile: profile.id,
    firmware: profile.firmware,
    kind: profile.kind,
    bus: device.bus,
    ...(device.unit !== undefined && { unit: device.unit }),
    ...(device.location !== undefined && { location: { lat: device.location.lat, lon: device.location.lon } }),
    ...(device.asset !== undefined && { asset: device.asset }),
  }))
}
