/**
 * Puts the simulated devices of one bus on a wire:
 * - a TCP bus: one `ModbusTcpServer` holding every unit id of the bus, like the
 *   RS-485-to-TCP converter in a cabinet;
 * - an RTU bus: one `ModbusRtuServer` on a serial line. When the bus's path is not a
 *   serial device of this machine (the district's /dev/ttyUSB0 is the gateway's), a
 *   socat pty pair stands in for the cable: the server takes one end, clients the
 *   other, and the endpoint names the clients' end.
 */
import { statSync } from 'node:fs'
import { openPtyPair, type PtyPair } from '../modbus/pty-pair.ts'
import { ModbusRtuServer } from '../modbus/rtu-server.ts'
import { ModbusTcpServer } from '../modbus/tcp-server.ts'
import type { ModbusUnit } from '../modbus/unit.ts'
import type { BusSpec, Parity } from './plan.ts'

/** Where clients reach a bus. */
export type BusAddress =
  | { readonly transport: 'tcp'; readonly host: string; readonly port: number }
  | { readonly transport: 'rtu'; readonly path: string; readonly baud: number; readonly parity: Parity; readonly stopBits: 1 | 2 }

export interface RunningBus {
  readonly spec: BusSpec
  readonly address: BusAddress
  /** Stops the server and removes the pty pair, if any. Safe to call twice. */
  stop(): Promise<void>
}

export interface BusOptions {
  /** Pace RTU answers to wire time (default true). */
  readonly timing?: boolean
  /** How many buses of the run name each serial path (a path two buses name is never served directly). */
  readonly pathUsers?: ReadonlyMap<string, number>
}

/** Whether `path` is a character device (a serial adapter or a pty). */
export function isSerialDevice(path: string): boolean {
  try {
    return statSync(path).isCharacterDevice()
  } catch {
    return false
  }
}

/** Starts the server of one bus. On failure nothing is left running. */
export async function startBus(spec: BusSpec, units: ReadonlyMap<number, ModbusUnit>, opts: BusOptions = {}): Promise<RunningBus> {
  const t = spec.transport
  if (t.type === 'tcp') {
    const server = new ModbusTcpServer({ units, host: t.host, port: t.port })
    try {
      await server.start()
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EACCES' ? 'permission denied (ports below 1024 need root)' : e.code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : e.message
      throw new Error(`bus ${spec.gateway}/${spec.id}: cannot listen on ${t.host}:${t.port}: ${why}`)
    }
    return { spec, address: { transport: 'tcp', host: t.host, port: server.port }, stop: () => server.stop() }
  }
  const direct = t.serve === 'path' || (isSerialDevice(t.path) && (opts.pathUsers?.get(t.path) ?? 1) === 1)
  let pty: PtyPair | undefined
  if (!direct) pty = await openPtyPair()
  const server = new ModbusRtuServer({ units, path: pty ? pty.a : t.path, baudRate: t.baud, parity: t.parity, stopBits: t.stopBits, timing: opts.timing ?? true })
  const stop = async (): Promise<void> => {
    await server.stop()
    await pty?.close()
  }
  try {
    await server.start()
  } catch (err) {
    await stop()
    throw new Error(`bus ${spec.gateway}/${spec.id}: cannot open ${pty ? pty.a : t.path}: ${(err as Error).message}`)
  }
  return { spec, address: { transport: 'rtu', path: pty ? pty.b : t.path, baud: t.baud, parity: t.parity, stopBits: t.stopBits }, stop }
}
