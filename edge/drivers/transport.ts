/**
 * What the polling engine needs from a bus: read a planned request from one unit,
 * write registers or bits, close. Drivers (Modbus TCP, Modbus RTU; OPC UA maps onto
 * the same reading model elsewhere) are registered by scheme, as MQTT.js registers
 * its protocols. A driver never throws for a device's failure: every outcome is a
 * value, so one dead device is a result, not a crashed poll loop.
 */
import type { Table } from '../../shared/profile/schema.ts'

/** One read, as the request planner makes it (edge/polling/plan.ts ReadRequest). */
export interface ReadSpec {
  readonly table: Table
  /** 0-based protocol address. */
  readonly start: number
  /** Registers, or bits for coil/discrete. */
  readonly count: number
}

/** Why a request has no data; the polling engine turns these into per-point errors and availability events. */
export type Failure =
  /** The device answered with a Modbus exception (Modbus Application Protocol v1.1b3 §7). */
  | { readonly kind: 'exception'; readonly code: number }
  /** No (complete) answer within the timeout. */
  | { readonly kind: 'timeout' }
  /** RTU: an answer whose CRC did not match, or a malformed/mismatched frame. */
  | { readonly kind: 'crc'; readonly detail?: string }
  /** The connection or port failed (refused, closed, not open). */
  | { readonly kind: 'transport'; readonly detail: string }

export type ReadResult =
  | { readonly ok: true; readonly data: readonly number[]; readonly latencyMs: number }
  | { readonly ok: false; readonly failure: Failure; readonly latencyMs: number }

export type WriteResult = { readonly ok: true; readonly latencyMs: number } | { readonly ok: false; readonly failure: Failure; readonly latencyMs: number }

/** A bus connection: serialises or pipelines requests as the medium allows. */
export interface Transport {
  /** Registers as 16-bit words; bits (coil/discrete) as 0/1. */
  read(unit: number, spec: ReadSpec, timeoutMs: number): Promise<ReadResult>
  /** Holding registers (FC06 for one, FC16 for several) or coils (FC05/FC15). */
  write(unit: number, table: 'holding' | 'coil', start: number, values: readonly number[], timeoutMs: number): Promise<WriteResult>
  /** Opens the connection/port; safe to call again after a failure. */
  start(): Promise<void>
  stop(): Promise<void>
}
