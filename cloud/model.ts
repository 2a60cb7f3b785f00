/**
 * The cloud's internal contracts: what ingest writes, what storage keeps, what the
 * registry knows and what the API reads. Every part of `cloud/` depends on these types,
 * never on each other's implementations, so each part is tested on its own and the
 * service (`cloud/service.ts`) wires them together.
 */
import type { PointValue } from '../shared/mqtt/messages.ts'
import type { PointError, PointErrorCode } from '../shared/quality.ts'
import type { SensorKind } from '../shared/profile/schema.ts'

/** One device reading as stored: a wire reading plus where it came from and what it is. */
export interface StoredReading {
  site: string
  gateway: string
  device: string
  /** From the device's birth: the measurement (1.x) / table it is stored in. */
  kind: SensorKind
  /** Edge sample time, ms since the epoch: the storage timestamp, so redelivery overwrites itself. */
  ts: number
  values: Record<string, PointValue>
  errors: Record<string, PointError>
  historical: boolean
  /** The telemetry batch seq that carried it. */
  seq: number
}

/** Aggregates a telemetry query may ask for when downsampling. */
export const AGGREGATES = ['min', 'max', 'mean', 'last'] as const
export type Aggregate = (typeof AGGREGATES)[number]

/** Hard cap on the points one query returns (per point series); the API rejects larger `limit`s. */
export const MAX_QUERY_POINTS = 10_000

export interface TelemetryQuery {
  site?: string
  gateway: string
  device: string
  /** Point names; all numeric/boolean points when absent. */
  points?: string[]
  /** Inclusive start, ms. */
  from: number
  /** Exclusive end, ms. */
  to: number
  /** Bucket width in ms; raw samples when absent. */
  every?: number
  /** Aggregate per bucket (default `mean`); ignored without `every`. */
  aggregate?: Aggregate
  /** At most this many rows (≤ MAX_QUERY_POINTS). */
  limit: number
}

/** One row: a timestamp (sample time, or bucket start) and the point values at it. */
export interface TelemetryRow {
  ts: number
  values: Record<string, PointValue | null>
  /** Raw rows only: the error code of each queried point that had no value at `ts`. */
  errors?: Record<string, PointErrorCode>
}

export interface TelemetryResult {
  rows: TelemetryRow[]
  /** True when the range held more rows than `limit` and the result was cut. */
  truncated: boolean
}

/**
 * Where readings are kept. Implementations: SQLite (embedded default), InfluxDB 1.x,
 * InfluxDB 2.x write path. One contract suite (`storage/contract.ts`) runs against each.
 */
export interface TelemetryStore {
  /** e.g. `sqlite`, `influxdb1`, `influxdb2`. */
  readonly name: string
  /**
   * Store readings. Resolves once they are durable (committed/fsynced or acknowledged
   * by the server); rejects when they are not. Writing the same (gateway, device, ts)
   * again replaces it (idempotent redelivery).
   */
  write(readings: readonly StoredReading[]): Promise<void>
  query(q: TelemetryQuery): Promise<TelemetryResult>
  /** Reading count per device, for tests and the demo: `{gateway}/{device}` → count. */
  countByDevice(): Promise<Map<string, number>>
  close(): Promise<void>
}

/** Device status as the registry tracks it. */
export type Availability = 'available' | 'unavailable' | 'unknown'

export interface RegistryDevice {
  site: string
  gateway: string
  device: string
  kind: SensorKind
  profile: string
  firmware: string
  bus: string
  unit?: number
  location?: { lat: number; lon: number }
  asset?: string
  availability: Availability
  /** Last error that made the device unavailable, or a profile mismatch reason. */
  lastError?: string
  /** The newest reading's sample time, and the newest value of each point. */
  lastSeen?: number
  lastValues?: Record<string, PointValue>
}

export interface RegistryGateway {
  site: string
  gateway: string
  state: 'online' | 'offline' | 'unknown'
  session: number
  agent?: { name: string; version: string }
  /** When the last birth arrived. */
  bornAt?: number
  /** When the state last changed. */
  stateAt?: number
  devices: number
}

export interface RegistrySite {
  site: string
  gateways: number
  devices: number
  online: number
}

/** Read side of the device registry, as the API sees it. */
export interface RegistryView {
  sites(): RegistrySite[]
  gateways(site?: string): RegistryGateway[]
  gateway(site: string, gateway: string): RegistryGateway | undefined
  devices(filter?: { site?: string; gateway?: string }): RegistryDevice[]
  device(gateway: string, device: string): RegistryDevice | undefined
}

/** A message ingest refused, kept with the reason. */
export interface DeadLetter {
  id: number
  /** When the cloud received it, ms. */
  at: number
  topic: string
  /** Who sent it: the MQTT client id, when known. */
  client?: string
  /** Short machine reason, e.g. `invalid`, `unknown_gateway`, `unknown_device`, `topic`. */
  reason: string
  /** Every problem, for people: `path: reason` lines. */
  detail: string[]
  /** The payload as UTF-8 (cut to 4 KiB), and its full size in bytes. */
  payload: string
  bytes: number
}

export interface DeadLetterView {
  list(q: { limit: number; before?: number; reason?: string }): DeadLetter[]
  count(): number
  countByReason(): Record<string, number>
}
