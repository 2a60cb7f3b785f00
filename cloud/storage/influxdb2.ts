/**
 * `TelemetryStore` on InfluxDB 2.x/3.x through `@influxdata/influxdb-client`: the same line
 * protocol as the 1.x store (`line-protocol.ts`) written with a `WriteApi` at ms precision,
 * queries in Flux through the `QueryApi`.
 *
 * Each write() call uses its own WriteApi, sends ≤ 5,000 lines per request and awaits
 * `flush()`, so the promise resolves only once the server acknowledged every line. The
 * client's own background retries are off (`maxRetries: 0`): the caller owns retries, and a
 * retry is safe because rewriting the same reading overwrites it.
 *
 * Tested here: the write path, against VictoriaMetrics' `/api/v2/write`. Not tested here:
 * `query` and `countByDevice` (Flux; no Flux server on the build machine). See README.md.
 */
import { InfluxDB, type WriteApi } from '@influxdata/influxdb-client'
import { SENSOR_KINDS } from '../../shared/profile/schema.ts'
import type { PointErrorCode } from '../../shared/quality.ts'
import type { StoredReading, TelemetryQuery, TelemetryResult, TelemetryStore } from '../model.ts'
import { WRITE_BATCH_LINES, splitCredentials } from './influxdb1.ts'
import { toLineProtocol } from './line-protocol.ts'
import { bucketStart, checkQuery, ERROR_SUFFIX, RowCollector } from './query.ts'

/** Connection of an InfluxDB 2.x/3.x store. */
export interface InfluxDb2Config {
  url: string
  org: string
  bucket: string
  /** API token; sent as a header only, never logged. */
  token: string
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number
}

/** Flux string literal: `\`, `"` and `${` escaped. */
export function fluxString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$\{/g, '\\${')}"`
}

/** ms since the epoch → a Flux time (nanoseconds). */
function fluxTime(ms: number): string {
  return `time(v: ${(BigInt(ms) * 1_000_000n).toString()})`
}

/** Opens an InfluxDB 2.x store (no request is made until the first write or query). */
export function openInfluxDb2Store(config: InfluxDb2Config): TelemetryStore {
  return new InfluxDb2Store(config)
}

class InfluxDb2Store implements TelemetryStore {
  readonly name = 'influxdb2'
  private readonly client: InfluxDB
  private readonly where: string
  private closed = false

  constructor(private readonly config: InfluxDb2Config) {
    const { base } = splitCredentials(config.url)
    this.client = new InfluxDB({ url: base, token: config.token, timeout: config.timeoutMs ?? 30_000 })
    this.where = `${base} (org ${config.org}, bucket ${config.bucket})`
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`influxdb2 store at ${this.where} is closed`)
  }

  async write(readings: readonly StoredReading[]): Promise<void> {
    this.assertOpen()
    const lines = toLineProtocol(readings)
    const batches = Math.ceil(lines.length / WRITE_BATCH_LINES)
    for (let b = 0; b < batches; b++) {
      const chunk = lines.slice(b * WRITE_BATCH_LINES, (b + 1) * WRITE_BATCH_LINES)
      const what = `influxdb2 write to ${this.where} failed (batch ${b + 1} of ${batches}, ${chunk.length} lines${b > 0 ? `; the ${b * WRITE_BATCH_LINES} lines before were written` : ''})`
      const api: WriteApi = this.client.getWriteApi(this.config.org, this.config.bucket, 'ms', {
        // Never flush on size or timer behind our back: one request per flush() below.
        batchSize: WRITE_BATCH_LINES + 1,
        flushInterval: 0,
        maxRetries: 0,
        // Returning a promise makes it the result of flush(), and keeps the client from logging.
        writeFailed: (error: Error) =>
          Promise.reject(new Error(`${what}: ${error.message.trim()}`, { cause: error })),
      })
      try {
        api.writeRecords(chunk)
        await api.flush()
      } finally {
        api.dispose()
      }
    }
  }

  async query(query: TelemetryQuery): Promise<TelemetryResult> {
    this.assertOpen()
    const q = checkQuery(this.name, query)
    const notMeta = `r._field != "seq" and r._field != "historical"`
    const isError = `strings.hasSuffix(v: r._field, suffix: ${fluxString(ERROR_SUFFIX)})`
    const numeric = `(types.isType(v: r._value, type: "float") or types.isType(v: r._value, type: "int"))`
    const numOrBool = `(${numeric} or types.isType(v: r._value, type: "bool"))`
    const named = q.points ? `contains(value: r._field, set: [${q.points.map(fluxString).join(', ')}])` : undefined
    const namedErrors = q.points ? `contains(value: r._field, set: [${q.points.map((p) => fluxString(p + ERROR_SUFFIX)).join(', ')}])` : undefined

    let fieldFilter: string
    let aggregate = ''
    if (q.every === undefined) {
      fieldFilter = q.points ? `${named} or ${namedErrors}` : `${notMeta} and (${isError} or ${numOrBool})`
    } else {
      const values = q.points ? named : `${notMeta} and not ${isError}`
      fieldFilter = q.aggregate === 'last' ? (q.points ? `${values}` : `${values} and ${numOrBool}`) : `${values} and ${numeric}`
      aggregate = `|> aggregateWindow(every: ${q.every}ms, fn: ${q.aggregate}, createEmpty: false, timeSrc: "_start")`
    }
    const tags = [`r.gateway == ${fluxString(q.gateway)}`, `r.device == ${fluxString(q.device)}`]
    if (q.site !== undefined) tags.push(`r.site == ${fluxString(q.site)}`)
    const flux = [
      'import "strings"',
      'import "types"',
      `from(bucket: ${fluxString(this.config.bucket)})`,
      `|> range(start: ${fluxTime(q.from)}, stop: ${fluxTime(q.to)})`,
      `|> filter(fn: (r) => contains(value: r._measurement, set: [${SENSOR_KINDS.map(fluxString).join(', ')}]))`,
      `|> filter(fn: (r) => ${tags.join(' and ')})`,
      `|> filter(fn: (r) => ${fieldFilter})`,
      aggregate,
      // Per field series: the first limit + 1 times of each give the first limit + 1 overall.
      `|> limit(n: ${q.limit + 1})`,
      '|> keep(columns: ["_time", "_field", "_value"])',
    ].join('\n')

    const rows = new RowCollector(q.points)
    let records: { _time: string; _field: string; _value: unknown }[]
    try {
      records = await this.client.getQueryApi(this.config.org).collectRows(flux)
    } catch (err) {
      throw new Error(`influxdb2 query at ${this.where} failed: ${(err as Error).message}`, { cause: err })
    }
    for (const r of records) {
      if (r._value === null || r._value === undefined) continue
      const t = Date.parse(r._time)
      // aggregateWindow clips the first window's _start to the range start: re-align it.
      const ts = q.every === undefined ? t : bucketStart(t, q.every)
      if (r._field.endsWith(ERROR_SUFFIX)) rows.error(ts, r._field.slice(0, -ERROR_SUFFIX.length), r._value as PointErrorCode)
      else rows.value(ts, r._field, r._value as number | boolean | string)
    }
    return rows.result(q.limit)
  }

  async countByDevice(): Promise<Map<string, number>> {
    this.assertOpen()
    const flux = [
      `from(bucket: ${fluxString(this.config.bucket)})`,
      '|> range(start: 0)',
      `|> filter(fn: (r) => r._field == "seq" and contains(value: r._measurement, set: [${SENSOR_KINDS.map(fluxString).join(', ')}]))`,
      '|> group(columns: ["gateway", "device"])',
      '|> count()',
    ].join('\n')
    let records: { gateway: string; device: string; _value: number }[]
    try {
      records = await this.client.getQueryApi(this.config.org).collectRows(flux)
    } catch (err) {
      throw new Error(`influxdb2 count at ${this.where} failed: ${(err as Error).message}`, { cause: err })
    }
    const out = new Map<string, number>()
    for (const r of records) out.set(`${r.gateway}/${r.device}`, (out.get(`${r.gateway}/${r.device}`) ?? 0) + Number(r._value))
    return out
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
