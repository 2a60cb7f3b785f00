/**
 * `TelemetryStore` on InfluxDB 1.x: line protocol POSTed to `/write` (ms precision, ≤ 5,000
 * lines per request), InfluxQL on `/query`. The schema is in `line-protocol.ts`.
 *
 * On open it creates the database, the raw retention policy (default 30d, the default RP)
 * and a `1m` policy (default 52w) filled by the continuous query `raw_to_1m`: per minute
 * `mean_<point>`, `min_<point>`, `max_<point>` of every numeric point, tags kept.
 *
 * Plain `fetch` rather than the `influx` package: the store already owns its line protocol
 * (`toLineProtocol`, which the ingest benchmark posts raw), and `influx` would serialise
 * points again with its own escaper; the rest is two HTTP endpoints whose errors we want
 * to word ourselves. Credentials go in a Basic `Authorization` header, never in a URL, and
 * never in an error message or log.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { SENSOR_KINDS } from '../../shared/profile/schema.ts'
import type { PointErrorCode } from '../../shared/quality.ts'
import type { StoredReading, TelemetryQuery, TelemetryResult, TelemetryStore } from '../model.ts'
import { lineProtocolBodies } from './line-protocol.ts'
import { checkQuery, ERROR_SUFFIX, RESERVED_POINT_NAMES, RowCollector } from './query.ts'

export { toLineProtocol } from './line-protocol.ts'

/** InfluxQL duration literal accepted for retention, e.g. `30d`, `52w`, `INF`. */
export const INFLUX_DURATION_PATTERN = '^([1-9][0-9]*(h|d|w)|INF)$'

/** Connection and retention of an InfluxDB 1.x store. */
export interface InfluxDb1Config {
  /** e.g. `http://127.0.0.1:8086` (no credentials in it: use username/password). */
  url: string
  database: string
  username?: string
  password?: string
  /** How long raw readings are kept (default `30d`). */
  retention?: string
  /** How long the 1-minute rollups are kept (default `52w`). */
  rollupRetention?: string
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number
}

/** Retention policy names the store creates. */
export const RAW_RP = 'raw'
export const ROLLUP_RP = '1m'
/** The continuous query that fills `ROLLUP_RP`. */
export const ROLLUP_CQ = 'raw_to_1m'
/** Lines per `/write` request. */
export const WRITE_BATCH_LINES = 5000

/** A write InfluxDB refused or could not take. */
export class InfluxWriteError extends Error {
  constructor(
    message: string,
    /** HTTP status, or undefined when no answer came. */
    readonly status: number | undefined,
    /** Lines the server named as refused (parse errors), when it named them. */
    readonly refused: readonly string[],
    /** False for 4xx: sending the same lines again gets the same answer. */
    readonly retryable: boolean,
    /** Points the server said it dropped (`dropped=N` of a partial write). */
    readonly dropped: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'InfluxWriteError'
  }
}

/**
 * The lines and count a 1.x `/write` error names: `unable to parse '<line>': <why>` per
 * unparsable line, and `dropped=N` for points refused after parsing (type conflicts,
 * points older than the retention policy).
 */
export function parseWriteRefusal(detail: string): { refused: string[]; dropped: number | undefined } {
  const refused = [...detail.matchAll(/unable to parse '((?:[^']|'(?!: ))*)': /g)].map((m) => m[1] as string)
  const dropped = /dropped=(\d+)/.exec(detail)?.[1]
  return { refused, dropped: dropped === undefined ? undefined : Number(dropped) }
}

/** InfluxQL identifier: double-quoted, `\` and `"` escaped. */
export function quoteIdent(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** InfluxQL string literal: single-quoted, `\` and `'` escaped. */
export function quoteLiteral(s: string): string {
  return `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`
}

/**
 * Splits `user:password@` out of a base URL: fetch refuses URLs with credentials, and the
 * base (used in every message) must never carry them. Throws, without echoing the URL,
 * when it does not parse.
 */
export function splitCredentials(url: string): { base: string; username?: string; password?: string } {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new Error('telemetry store url is not a valid URL')
  }
  const username = u.username === '' ? undefined : decodeURIComponent(u.username)
  const password = u.password === '' ? undefined : decodeURIComponent(u.password)
  u.username = ''
  u.password = ''
  const base = u.toString().replace(/\/+$/, '')
  return { base, ...(username !== undefined && { username }), ...(password !== undefined && { password }) }
}

/**
 * The rollup SELECT INTO of the continuous query; with `range`, bounded by time so it
 * can be run by hand (a CQ body may not have a WHERE time clause).
 */
export function rollupSelect(database: string, range?: { from: number; to: number }): string {
  const where = range ? ` WHERE time >= ${range.from}ms AND time < ${range.to}ms` : ''
  return `SELECT mean(*), min(*), max(*) INTO ${quoteIdent(database)}.${quoteIdent(ROLLUP_RP)}.:MEASUREMENT FROM ${quoteIdent(database)}.${quoteIdent(RAW_RP)}./.*/${where} GROUP BY time(1m), *`
}

interface InfluxSeries {
  name: string
  tags?: Record<string, string>
  columns: string[]
  values?: unknown[][]
}
interface InfluxStatementResult {
  statement_id?: number
  error?: string
  series?: InfluxSeries[]
}

/** Opens an InfluxDB 1.x store: creates the database, retention policies and the rollup CQ. */
export async function openInfluxDb1Store(config: InfluxDb1Config): Promise<TelemetryStore> {
  const store = new InfluxDb1Store(config)
  await store.setup()
  return store
}

class InfluxDb1Store implements TelemetryStore {
  readonly name = 'influxdb1'
  private readonly base: string
  private readonly where: string
  private readonly headers: Record<string, string>
  private readonly from: string
  private closed = false
  /**
   * Writes go through node:http with a keep-alive agent rather than fetch: fetch copies every
   * body into a web stream (a 300 kB copy per 5,000 lines, measured with `bench ingest`).
   */
  private readonly agent: HttpAgent

  constructor(private readonly config: InfluxDb1Config) {
    const { base, username, password } = splitCredentials(config.url)
    this.base = base
    this.where = base
    this.agent = base.startsWith('https:') ? new HttpsAgent({ keepAlive: true, maxSockets: 8 }) : new HttpAgent({ keepAlive: true, maxSockets: 8 })
    this.headers = {}
    const user = config.username ?? username
    if (user !== undefined) {
      this.headers.authorization = `Basic ${Buffer.from(`${user}:${config.password ?? password ?? ''}`).toString('base64')}`
    }
    this.from = SENSOR_KINDS.map((k) => `${quoteIdent(RAW_RP)}.${quoteIdent(k)}`).join(', ')
  }

  private signal(): AbortSignal {
    return AbortSignal.timeout(this.config.timeoutMs ?? 30_000)
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`influxdb1 store at ${this.where} is closed`)
  }

  /** Runs InfluxQL statements (`;`-separated); throws naming the statement that failed. */
  async influxql(q: string, opts: { db?: boolean } = {}): Promise<InfluxStatementResult[]> {
    const body = new URLSearchParams({ q, epoch: 'ms' })
    if (opts.db !== false) body.set('db', this.config.database)
    let res: Response
    try {
      res = await fetch(`${this.base}/query`, { method: 'POST', headers: this.headers, body, signal: this.signal() })
    } catch (err) {
      throw new Error(`influxdb1 query at ${this.where} failed: ${(err as Error).message} (${q})`, { cause: err })
    }
    const text = await res.text()
    let json: { results?: InfluxStatementResult[]; error?: string }
    try {
      json = JSON.parse(text) as typeof json
    } catch {
      throw new Error(`influxdb1 query at ${this.where} failed: ${res.status} ${text.slice(0, 500)} (${q})`)
    }
    if (!res.ok || json.error) throw new Error(`influxdb1 query at ${this.where} failed: ${res.status} ${json.error ?? text.slice(0, 500)} (${q})`)
    const results = json.results ?? []
    const failed = results.find((r) => r.error)
    if (failed) throw new Error(`influxdb1 query at ${this.where} failed: ${failed.error} (${q})`)
    return results
  }

  /** Database, retention policies and continuous query; safe to run again (settings are updated). */
  async setup(): Promise<void> {
    const db = quoteIdent(this.config.database)
    const raw = this.config.retention ?? '30d'
    const rollup = this.config.rollupRetention ?? '52w'
    for (const d of [raw, rollup]) {
      if (!new RegExp(INFLUX_DURATION_PATTERN).test(d)) throw new RangeError(`influxdb1 retention ${JSON.stringify(d)} must match ${INFLUX_DURATION_PATTERN}`)
    }
    await this.influxql(`CREATE DATABASE ${db}`, { db: false })
    await this.ensure(
      `CREATE RETENTION POLICY ${quoteIdent(RAW_RP)} ON ${db} DURATION ${raw} REPLICATION 1 DEFAULT`,
      `ALTER RETENTION POLICY ${quoteIdent(RAW_RP)} ON ${db} DURATION ${raw} DEFAULT`,
    )
    await this.ensure(
      `CREATE RETENTION POLICY ${quoteIdent(ROLLUP_RP)} ON ${db} DURATION ${rollup} REPLICATION 1`,
      `ALTER RETENTION POLICY ${quoteIdent(ROLLUP_RP)} ON ${db} DURATION ${rollup}`,
    )
    const cq = `CREATE CONTINUOUS QUERY ${quoteIdent(ROLLUP_CQ)} ON ${db} BEGIN ${rollupSelect(this.config.database)} END`
    await this.ensure(cq, `DROP CONTINUOUS QUERY ${quoteIdent(ROLLUP_CQ)} ON ${db}; ${cq}`)
  }

  /** Runs `create`; when the thing exists with other settings, runs `update` instead. */
  private async ensure(create: string, update: string): Promise<void> {
    try {
      await this.influxql(create, { db: false })
    } catch (err) {
      if (!/already exists/.test((err as Error).message)) throw err
      await this.influxql(update, { db: false })
    }
  }

  async write(readings: readonly StoredReading[]): Promise<void> {
    this.assertOpen()
    // Encoded straight to bytes (the hot path of ingest); the same lines as `toLineProtocol`.
    const bodies = lineProtocolBodies(readings, WRITE_BATCH_LINES)
    const url = `${this.base}/write?${new URLSearchParams({ db: this.config.database, rp: RAW_RP, precision: 'ms' })}`
    const batches = bodies.length
    for (let b = 0; b < batches; b++) {
      const lineCount = Math.min(WRITE_BATCH_LINES, readings.length - b * WRITE_BATCH_LINES)
      const what = `influxdb1 write to ${this.where} failed (batch ${b + 1} of ${batches}, ${lineCount} lines${b > 0 ? `; the ${b * WRITE_BATCH_LINES} lines before were written` : ''})`
      let res: { status: number; text: string }
      try {
        res = await this.post(url, bodies[b] as Uint8Array)
      } catch (err) {
        throw new InfluxWriteError(`${what}: ${(err as Error).message}`, undefined, [], true, undefined, { cause: err })
      }
      if (res.status === 204 || res.status === 200) continue
      const text = res.text
      let detail = text
      try {
        detail = (JSON.parse(text) as { error?: string }).error ?? text
      } catch {
        // not JSON: keep the text
      }
      // 400 (partial write, bad lines) and other 4xx are final: resending gets the same answer.
      const { refused, dropped } = parseWriteRefusal(detail)
      throw new InfluxWriteError(`${what}: ${res.status} ${detail.slice(0, 2000)}`, res.status, refused, res.status >= 500 || res.status === 429, dropped)
    }
  }

  /** POSTs a body; resolves with the status and the body text, rejects on network errors and the timeout. */
  private post(url: string, body: Uint8Array): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const u = new URL(url)
      const ms = this.config.timeoutMs ?? 30_000
      const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
        u,
        { method: 'POST', agent: this.agent, headers: { ...this.headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': body.byteLength } },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
          res.on('error', reject)
        },
      )
      // A plain timer, cleared once the request is done either way: no AbortSignal (with its
      // own timer, weak ref and finalization cell) per write on the ingest hot path.
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer from ${this.where} within ${ms} ms`), { name: 'TimeoutError' })), ms)
      req.on('close', () => clearTimeout(timer))
      req.on('error', reject)
      req.end(body)
    })
  }

  /** Field name → InfluxDB type (`float`, `integer`, `boolean`, `string`) across the kinds. */
  private async fieldTypes(): Promise<Map<string, string>> {
    const [result] = await this.influxql(`SHOW FIELD KEYS FROM ${this.from}`)
    const types = new Map<string, string>()
    for (const s of result?.series ?? []) for (const [key, type] of s.values ?? []) types.set(String(key), String(type))
    return types
  }

  async query(query: TelemetryQuery): Promise<TelemetryResult> {
    this.assertOpen()
    const q = checkQuery(this.name, query)
    const types = await this.fieldTypes()
    const isPoint = (f: string) => !RESERVED_POINT_NAMES.has(f) && !f.endsWith(ERROR_SUFFIX)
    const numeric = (f: string) => types.get(f) === 'float' || types.get(f) === 'integer'
    const valueFields = q.points
      ? q.points.filter((p) => types.has(p) && isPoint(p))
      : [...types.keys()].filter((f) => isPoint(f) && (numeric(f) || types.get(f) === 'boolean'))
    const errorFields = q.points ? q.points.map((p) => p + ERROR_SUFFIX).filter((f) => types.has(f)) : [...types.keys()].filter((f) => f.endsWith(ERROR_SUFFIX))

    let select: string[]
    let tail: string
    if (q.every === undefined) {
      select = [...valueFields, ...errorFields].map(quoteIdent)
      tail = `ORDER BY time ASC LIMIT ${q.limit + 1}`
    } else {
      const fn = q.aggregate
      const fields = fn === 'last' ? valueFields : valueFields.filter(numeric)
      select = fields.map((f) => `${fn}(${quoteIdent(f)}) AS ${quoteIdent(f)}`)
      tail = `GROUP BY time(${q.every}ms) fill(none) LIMIT ${q.limit + 1}`
    }
    const rows = new RowCollector(q.points)
    if (select.length === 0) return rows.result(q.limit)

    const conditions = [`"gateway" = ${quoteLiteral(q.gateway)}`, `"device" = ${quoteLiteral(q.device)}`]
    if (q.site !== undefined) conditions.push(`"site" = ${quoteLiteral(q.site)}`)
    conditions.push(`time >= ${q.from}ms`, `time < ${q.to}ms`)
    const [result] = await this.influxql(`SELECT ${select.join(', ')} FROM ${this.from} WHERE ${conditions.join(' AND ')} ${tail}`)
    for (const s of result?.series ?? []) {
      for (const v of s.values ?? []) {
        const ts = v[0] as number
        for (let c = 1; c < s.columns.length; c++) {
          const cell = v[c]
          const col = s.columns[c] as string
          if (cell === null || cell === undefined) continue
          if (col.endsWith(ERROR_SUFFIX)) rows.error(ts, col.slice(0, -ERROR_SUFFIX.length), cell as PointErrorCode)
          else rows.value(ts, col, cell as number | boolean | string)
        }
      }
    }
    return rows.result(q.limit)
  }

  async countByDevice(): Promise<Map<string, number>> {
    this.assertOpen()
    const [result] = await this.influxql(`SELECT count("seq") FROM ${this.from} GROUP BY "gateway", "device"`)
    const out = new Map<string, number>()
    for (const s of result?.series ?? []) {
      const key = `${s.tags?.gateway}/${s.tags?.device}`
      out.set(key, (out.get(key) ?? 0) + Number(s.values?.[0]?.[1] ?? 0))
    }
    return out
  }

  async close(): Promise<void> {
    this.closed = true
    this.agent.destroy()
  }
}
