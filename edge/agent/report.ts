/**
 * What the agent says about itself: the `/health` document and the `/metrics`
 * families, read from the parts' own counters (engine status, driver stats, outbox
 * stats, uplink stats). Nothing here holds a secret: buses are shown as targets, the
 * broker not at all.
 */
import type { GatewayConfig } from '../config/load.ts'
import type { DriverTransport } from '../drivers/registry.ts'
import { formatMetrics, LatencyHistogram, type MetricFamily, type Sample } from '../health/metrics.ts'
import type { HealthReport } from '../health/server.ts'
import type { Outbox } from '../outbox/index.ts'
import type { PollingEngine } from '../polling/engine.ts'
import type { Uplink } from '../uplink/index.ts'
import { busTarget } from './description.ts'

export interface ReportSources {
  readonly config: GatewayConfig
  readonly outbox: Pick<Outbox, 'stats'>
  readonly engine: Pick<PollingEngine, 'status'>
  /** Drivers by bus id (a bus without a driver is absent). */
  readonly drivers: ReadonlyMap<string, DriverTransport>
  readonly uplink: () => Pick<Uplink, 'stats'> | undefined
  /** The OPC UA devices and whether each answered last (undefined before its first connect outcome). */
  readonly opcua?: () => readonly { readonly device: string; readonly bus: string; readonly available: boolean | undefined }[]
  readonly now?: () => number
}

const FAILURE_KINDS = ['exception', 'timeout', 'crc', 'transport'] as const

export class AgentReport {
  readonly #s: ReportSources
  readonly #now: () => number
  readonly #startedAt: number
  readonly #latency = new Map<string, LatencyHistogram>()
  #lastPublishAt: number | undefined
  #appendFailures = 0

  constructor(sources: ReportSources) {
    this.#s = sources
    this.#now = sources.now ?? Date.now
    this.#startedAt = this.#now()
  }

  /** A telemetry batch was acknowledged by the broker at `at`. */
  published(at: number): void {
    this.#lastPublishAt = at
  }

  appendFailed(): void {
    this.#appendFailures++
  }

  /** Takes the drivers' new latency samples into the histograms. */
  sample(): void {
    for (const [bus, d] of this.#s.drivers) {
      let h = this.#latency.get(bus)
      if (!h) this.#latency.set(bus, (h = new LatencyHistogram()))
      h.update(d.stats.latency)
    }
  }

  health(): HealthReport {
    const c = this.#s.config
    const engine = this.#s.engine.status()
    const ob = this.#s.outbox.stats()
    const up = this.#s.uplink()?.stats()
    const connected = up?.state === 'online'
    const devices = engine.devices.map((d) => ({
      id: d.device,
      bus: d.bus,
      available: d.availability !== 'unavailable',
      availability: d.availability,
      lastSuccessAt: d.lastSuccessAt ?? null,
      lastError: d.lastError ?? null,
    }))
    for (const o of this.#s.opcua?.() ?? []) {
      const availability = o.available === undefined ? 'unknown' : o.available ? 'available' : 'unavailable'
      devices.push({ id: o.device, bus: o.bus, available: o.available === true, availability, lastSuccessAt: null, lastError: null })
    }
    const buses = c.buses.map((b) => {
      const s = engine.buses.find((x) => x.id === b.id)
      return {
        id: b.id,
        type: b.type,
        target: busTarget(b),
        requests: s?.requests ?? 0,
        failures: { ...(s?.failures ?? { exception: 0, timeout: 0, crc: 0, transport: 0 }) },
        error: s?.transportError ?? null,
      }
    })
    const degraded = !connected || devices.some((d) => !d.available) || buses.some((b) => b.error !== null)
    return {
      status: degraded ? 'degraded' : 'ok',
      gateway: c.gateway,
      site: c.site,
      uptimeS: Math.round((this.#now() - this.#startedAt) / 1000),
      uplink: { connected, state: up?.state ?? 'idle', lastPublishAt: this.#lastPublishAt ?? null, session: up?.session ?? null },
      backlog: { readings: ob.readings, oldestAgeS: ob.oldestAgeMs === undefined ? null : Math.round(ob.oldestAgeMs / 1000), dropped: ob.dropped },
      buses,
      devices,
    }
  }

  families(): MetricFamily[] {
    this.sample()
    const engine = this.#s.engine.status()
    const ob = this.#s.outbox.stats()
    const up = this.#s.uplink()?.stats()
    const drivers = [...this.#s.drivers]
    const f = (name: string, type: MetricFamily['type'], help: string, samples: Sample[]): MetricFamily => ({ name: `muni_edge_${name}`, type, help, samples })
    return [
      f('polls_total', 'counter', 'Poll sweeps done, per device.', engine.devices.map((d) => ({ labels: { device: d.device }, value: d.polls }))),
      f('device_available', 'gauge', '1 when the device answers, 0 when it is unavailable.', engine.devices.map((d) => ({ labels: { device: d.device }, value: d.availability === 'unavailable' ? 0 : 1 }))),
      f('requests_total', 'counter', 'Modbus requests sent, per bus.', engine.buses.map((b) => ({ labels: { bus: b.id }, value: b.requests }))),
      f(
        'point_errors_total',
        'counter',
        'Requests that got no data, per device and failure kind (their points carry the error).',
        engine.devices.flatMap((d) => FAILURE_KINDS.map((kind) => ({ labels: { device: d.device, kind }, value: d.errors[kind] }))),
      ),
      f(
        'modbus_exceptions_total',
        'counter',
        'Modbus exception responses, per bus and exception code (Modbus Application Protocol v1.1b3 §7).',
        drivers.flatMap(([bus, d]) => Object.entries(d.stats.exceptionCodes).map(([code, n]) => ({ labels: { bus, code }, value: n }))),
      ),
      f(
        'request_latency_seconds',
        'histogram',
        'Time from request sent to answer complete, for requests that got an answer.',
        drivers.flatMap(([bus]) => this.#latency.get(bus)?.samples({ bus }) ?? []),
      ),
      f('backlog_readings', 'gauge', 'Readings in the outbox not yet acknowledged by the broker.', [{ value: ob.readings }]),
      f('backlog_oldest_age_seconds', 'gauge', 'Age of the oldest reading in the outbox (0 when empty).', [{ value: (ob.oldestAgeMs ?? 0) / 1000 }]),
      f('dropped_readings_total', 'counter', 'Readings dropped by the outbox bounds, ever.', [{ value: ob.dropped }]),
      f('append_failures_total', 'counter', 'Readings the outbox refused to store (since start).', [{ value: this.#appendFailures }]),
      f('uplink_connected', 'gauge', '1 while the uplink is online (birth and online state published).', [{ value: up?.state === 'online' ? 1 : 0 }]),
      f('uplink_session', 'gauge', 'Session number of the current connection attempt.', up?.session === undefined ? [] : [{ value: up.session }]),
      f('published_batches_total', 'counter', 'Telemetry batches acknowledged by the broker (since start).', [{ value: up?.batchesAcked ?? 0 }]),
      f('sent_batches_total', 'counter', 'Telemetry batches published (since start), including resends.', [{ value: up?.batchesSent ?? 0 }]),
      f('uplink_connects_total', 'counter', 'Connections accepted by the broker (since start).', [{ value: up?.connects ?? 0 }]),
    ]
  }

  metrics(): string {
    return formatMetrics(this.families())
  }
}
