/**
 * StoredReading → InfluxDB line protocol, shared by the 1.x and 2.x stores (and the ingest
 * benchmark, which posts these lines raw as its ceiling).
 *
 * The schema (https://docs.influxdata.com/influxdb/v1.8/write_protocols/line_protocol_reference/):
 * - measurement = the sensor kind (`manhole-cover`, `water-level`, `pipe-pressure`);
 * - tags = `device`, `gateway`, `kind`, `site` only (bounded, sorted as InfluxDB prefers);
 * - fields = each point value (numbers always as floats, so a point that is sometimes
 *   integral never conflicts with itself; booleans; strings), each point error as
 *   `<point>__error` = its error code string, `historical` (boolean) and `seq` (integer);
 * - timestamp = the edge sample time in ms, so a redelivered reading overwrites itself.
 *
 * Points named `historical`, `seq`, `time` or ending in `__error` cannot be stored (they
 * would collide with the fields above); a non-finite number is stored as the error `nan`.
 */
import type { StoredReading } from '../model.ts'
import { ERROR_SUFFIX, reservedPointReason } from './query.ts'

/** Measurement: commas and spaces are escaped. */
export function escapeMeasurement(s: string): string {
  checkKey(s)
  return s.replace(/[, ]/g, (c) => `\\${c}`)
}

/** Tag keys, tag values and field keys: commas, equals signs and spaces are escaped. */
export function escapeKey(s: string): string {
  checkKey(s)
  return s.replace(/[,= ]/g, (c) => `\\${c}`)
}

/** String field value, quoted: backslashes and double quotes are escaped. */
export function quoteString(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

function checkKey(s: string): void {
  // Line protocol cannot carry these in names or tags (a newline ends the line; a trailing
  // backslash would escape the separator after it). muni ids and point names never do.
  if (s.length === 0 || /[\n\r]/.test(s) || s.endsWith('\\')) throw new Error(`line protocol: cannot encode the name or tag ${JSON.stringify(s)}`)
}

/**
 * One line per reading, in the order given (join with `\n` to post). Pure. Throws an
 * Error naming the reading and point when a point name is reserved.
 */
export function toLineProtocol(readings: readonly StoredReading[]): string[] {
  const lines = new Array<string>(readings.length)
  for (let i = 0; i < readings.length; i++) lines[i] = readingLine(readings[i] as StoredReading)
  return lines
}

/**
 * Escaped field keys and series prefixes, memoised: point names and tag sets repeat on
 * every reading, and the regex checks were most of the encoder's cost. Bounded: cleared
 * past 10,000 entries (a district has far fewer series and point names).
 */
const fieldKeys = new Map<string, string>()
const prefixes = new Map<string, string>()
const CACHE_LIMIT = 10_000

function fieldKey(r: StoredReading, point: string, suffix: string): string {
  const name = point + suffix
  let k = fieldKeys.get(name)
  if (k === undefined) {
    const reserved = reservedPointReason(point)
    if (reserved) throw new Error(`line protocol: reading of ${r.gateway}/${r.device} at ${r.ts}: point ${reserved}`)
    k = escapeKey(name)
    if (fieldKeys.size >= CACHE_LIMIT) fieldKeys.clear()
    fieldKeys.set(name, k)
  }
  return k
}

function seriesPrefix(r: StoredReading): string {
  const id = `${r.kind}\u0000${r.site}\u0000${r.gateway}\u0000${r.device}`
  let p = prefixes.get(id)
  if (p === undefined) {
    p = `${escapeMeasurement(r.kind)},device=${escapeKey(r.device)},gateway=${escapeKey(r.gateway)},kind=${escapeKey(r.kind)},site=${escapeKey(r.site)}`
    if (prefixes.size >= CACHE_LIMIT) prefixes.clear()
    prefixes.set(id, p)
  }
  return p
}

function readingLine(r: StoredReading): string {
  let fields = ''
  for (const point in r.values) {
    const v = r.values[point]
    let encoded: string
    let suffix = ''
    if (typeof v === 'number') {
      if (Number.isFinite(v)) encoded = String(v)
      else (encoded = '"nan"'), (suffix = ERROR_SUFFIX)
    } else if (typeof v === 'boolean') encoded = v ? 'true' : 'false'
    else encoded = quoteString(v as string)
    fields += `${fieldKey(r, point, suffix)}=${encoded},`
  }
  for (const point in r.errors) {
    if (point in r.values) continue // a wire reading never has both; the value wins
    fields += `${fieldKey(r, point, ERROR_SUFFIX)}=${quoteString((r.errors[point] as { code: string }).code)},`
  }
  return `${seriesPrefix(r)} ${fields}historical=${r.historical ? 'true' : 'false'},seq=${Math.trunc(r.seq)}i ${Math.trunc(r.ts)}`
}
