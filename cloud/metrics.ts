/**
 * Prometheus text for the parts of the cloud outside the API: ingest, broker, registry,
 * dead letters. The API appends it to its own HTTP metrics at /metrics.
 */
import type { IngestStats } from './ingest/ingest.ts'

type Labels = Record<string, string>

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const labels = (l: Labels): string => {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`)
  return parts.length ? `{${parts.join(',')}}` : ''
}

/** Builds exposition text, one family at a time. */
export class PromText {
  readonly #lines: string[] = []

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, samples: Array<[Labels, number]>): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [l, v] of samples) this.#lines.push(`${name}${labels(l)} ${Number.isFinite(v) ? v : v > 0 ? '+Inf' : '-Inf'}`)
    return this
  }

  histogram(name: string, help: string, h: { buckets: Array<[number, number]>; sum: number; count: number }, scale = 1): this {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`)
    for (const [le, n] of h.buckets) this.#lines.push(`${name}_bucket{le="${le === Infinity ? '+Inf' : le * scale}"} ${n}`)
    this.#lines.push(`${name}_sum ${h.sum * scale}`, `${name}_count ${h.count}`)
    return this
  }

  toString(): string {
    return this.#lines.length ? `${this.#lines.join('\n')}\n` : ''
  }
}

export interface CloudMetricsSources {
  ingest: IngestStats
  deadLettersByReason: Record<string, number>
  devices: { total: number; byAvailability: Record<string, number> }
  gateways: Record<string, number>
  /** Broker counters (embedded broker) or consumer counters (external mode); names become metric names. */
  broker?: Record<string, number | Record<string, number>>
  /** Open alarms (not CLEARED_ACK) by status and severity, and engine steps that failed. */
  alarms?: { open: Array<{ status: string; severity: string; n: number }>; errors: number; live: number }
  /** Per webhook target. */
  webhooks?: ReadonlyArray<{ target: string; delivered: number; failed: number; retrying: boolean; lag: number }>
}

export function renderCloudMetrics(s: CloudMetricsSources): string {
  const p = new PromText()
  p.family('muni_ingest_messages_total', 'counter', 'MQTT messages handled by ingest, by kind (invalid: failed the contract)', Object.entries(s.ingest.messages).map(([kind, n]) => [{ kind }, n]))
  p.family('muni_ingest_readings_stored_total', 'counter', 'readings durably stored', [[{}, s.ingest.readingsStored]])
  p.family('muni_ingest_duplicates_total', 'counter', 'telemetry batches dropped as redeliveries (same gateway and seq)', [[{}, s.ingest.duplicates]])
  p.family('muni_ingest_store_writes_total', 'counter', 'store writes (each a group commit of one or more messages)', [[{}, s.ingest.writes]])
  p.family('muni_ingest_store_errors_total', 'counter', 'store writes that failed (their messages are redelivered)', [[{}, s.ingest.writeErrors]])
  p.family('muni_ingest_pending_readings', 'gauge', 'readings waiting for a store write', [[{}, s.ingest.pendingReadings]])
  p.histogram('muni_ingest_store_write_seconds', 'store write latency', s.ingest.writeLatencyMs, 0.001)
  p.family('muni_dead_letters_total', 'counter', 'messages refused by ingest, by reason', Object.entries(s.deadLettersByReason).map(([reason, n]) => [{ reason }, n]))
  p.family('muni_devices', 'gauge', 'devices in the registry, by availability', Object.entries(s.devices.byAvailability).map(([availability, n]) => [{ availability }, n]))
  p.family('muni_gateways', 'gauge', 'gateways in the registry, by state', Object.entries(s.gateways).map(([state, n]) => [{ state }, n]))
  if (s.alarms) {
    p.family('muni_alarms_open', 'gauge', 'alarms not yet cleared and acknowledged, by status and severity', s.alarms.open.map((o) => [{ status: o.status, severity: o.severity }, o.n]))
    p.family('muni_alarm_engine_errors_total', 'counter', 'alarm evaluations, ticks or registry changes that failed (logged; ingest unaffected)', [[{}, s.alarms.errors]])
    p.family('muni_live_listeners', 'gauge', 'subscribers of the live feed (SSE streams)', [[{}, s.alarms.live]])
  }
  if (s.webhooks) {
    const w = s.webhooks
    p.family('muni_webhook_delivered_total', 'counter', 'alarm transitions delivered (2xx), per target', w.map((t) => [{ target: t.target }, t.delivered]))
    p.family('muni_webhook_failed_total', 'counter', 'alarm transitions given up (non-retryable answer or maxAttempts), per target; see the webhook_failures table', w.map((t) => [{ target: t.target }, t.failed]))
    p.family('muni_webhook_lag', 'gauge', 'announced transitions logged but not yet delivered, per target', w.map((t) => [{ target: t.target }, t.lag]))
    p.family('muni_webhook_retrying', 'gauge', '1 while a target is backing off after a failed attempt', w.map((t) => [{ target: t.target }, t.retrying ? 1 : 0]))
  }
  for (const [name, v] of Object.entries(s.broker ?? {})) {
    const metric = `muni_broker_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`
    if (typeof v === 'number') p.family(metric, name.endsWith('Total') || name.startsWith('total') ? 'counter' : 'gauge', `broker ${name}`, [[{}, v]])
    else p.family(metric, 'counter', `broker ${name}, by kind`, Object.entries(v).map(([kind, n]) => [{ kind }, n]))
  }
  return p.toString()
}
