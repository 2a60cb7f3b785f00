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

function readingLine(r: StoredReading): string {
  let fields = ''
  const add = (key: string, encoded: string) => {
    fields += `${fields === '' ? '' : ','}${escapeKey(key)}=${encoded}`
  }
  for (const [point, v] of Object.entries(r.values)) {
    const reserved = reservedPointReason(point)
    if (reserved) throw new Error(`line protocol: reading of ${r.gateway}/${r.device} at ${r.ts}: point ${reserved}`)
    if (typeof v === 'number') {
      if (Number.isFinite(v)) add(point, String(v))
      else add(point + ERROR_SUFFIX, quoteString('nan'))
    } else if (typeof v === 'boolean') add(point, v ? 'true' : 'false')
    else add(point, quoteString(v))
  }
  for (const [point, e] of Object.entries(r.errors)) {
    if (point in r.values) continue // a wire reading never has both; the value wins
    const reserved = reservedPointReason(point)
    if (reserved) throw new Error(`line protocol: reading of ${r.gateway}/${r.device} at ${r.ts}: point ${reserved}`)
    add(point + ERROR_SUFFIX, quoteString(e.code))
  }
  add('historical', r.historical ? 'true' : 'false')
  add('seq', `${Math.trunc(r.seq)}i`)
  const tags = `device=${escapeKey(r.device)},gateway=${escapeKey(r.gateway)},kind=${escapeKey(r.kind)},site=${escapeKey(r.site)}`
  return `${escapeMeasurement(r.kind)},${tags} ${fields} ${Math.trunc(r.ts)}`
}
