/**
 * Drivers by scheme, as MQTT.js registers its protocols (`src/lib/connect/index.ts`):
 * the bus description's `type` picks the factory. A new medium (Modbus over UDP,
 * OPC UA) is one more entry, not a branch in the polling engine.
 *
 * The descriptions are plain objects; the gateway config's buses
 * (`edge/config/schema.ts` TcpBusSchema / RtuBusSchema) fit them as they are.
 */
import { ModbusRtuTransport } from './modbus-rtu.ts'
import { ModbusTcpTransport } from './modbus-tcp.ts'
import type { DriverStats } from './stats.ts'
import type { Transport } from './transport.ts'

/** Modbus TCP to a device, or to an RTU-to-TCP converter with many units behind one port. */
export interface TcpBusConfig {
  readonly type: 'tcp'
  readonly host: string
  readonly port: number
  /** Requests in flight (default 1). */
  readonly concurrency?: number
  readonly connectTimeoutMs?: number
  readonly reconnectMinMs?: number
  readonly maxQueue?: number
}

/** Modbus RTU on a serial port. */
export interface RtuBusConfig {
  readonly type: 'rtu'
  readonly path: string
  readonly baud: number
  readonly parity: 'none' | 'even' | 'odd'
  readonly dataBits?: 8
  readonly stopBits?: 1 | 2
  /** Silence before each request, ms (default t3.5). */
  readonly interFrameMs?: number
  readonly reopenMinMs?: number
  readonly maxQueue?: number
}

export type BusConfig = TcpBusConfig | RtuBusConfig

/** A transport that also reports its counters. */
export interface DriverTransport extends Transport {
  readonly stats: DriverStats
}

/** Builds a transport from its bus description; does not connect (`start()` does). */
export type DriverFactory<C extends BusConfig = BusConfig> = (config: C) => DriverTransport

/** Every scheme the edge speaks. */
export const drivers: { readonly [K in BusConfig['type']]: DriverFactory<Extract<BusConfig, { type: K }>> } = {
  tcp: (c) => new ModbusTcpTransport(c),
  rtu: (c) => new ModbusRtuTransport(c),
}

/** Bus types known to {@link createTransport}. */
export const SCHEMES = Object.keys(drivers) as readonly BusConfig['type'][]

/**
 * The transport for a bus description. Throws for an unknown `type` (a config the
 * loader should have refused), naming the known ones.
 */
export function createTransport(bus: BusConfig): DriverTransport {
  const type: string = bus.type
  if (!Object.hasOwn(drivers, type)) throw new Error(`no driver for bus type ${JSON.stringify(type)}; known: ${SCHEMES.join(', ')}`)
  const factory = drivers[type as BusConfig['type']] as DriverFactory
  return factory(bus)
}
