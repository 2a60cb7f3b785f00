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

/**
 * The lines of `toLineProtocol`, byte for byte, as `/write` bodies of at most `linesPerBody`
 * lines each (lines joined with `\n`), UTF-8 encoded straight into one buffer. This is the
 * ingest hot path: no string per line and no join (flattening 5,000 template strings cost as
 * much as building them), series prefixes and field keys cached as bytes. Throws what
 * `toLineProtocol` throws, before anything is returned.
 */
export function lineProtocolBodies(readings: readonly StoredReading[], linesPerBody: number): Uint8Array[] {
  const w = new ByteWriter(readings.length * 160 + 256)
  const ends: number[] = []
  for (let i = 0; i < readings.length; i++) {
    if (i > 0) {
      if (i % linesPerBody === 0) ends.push(w.pos)
      else w.byte(NEWLINE)
    }
    writeReading(w, readings[i] as StoredReading)
  }
  ends.push(w.pos)
  const out = new Array<Uint8Array>(ends.length)
  let start = 0
  for (let b = 0; b < ends.length; b++) {
    out[b] = w.buf.subarray(start, ends[b])
    start = ends[b] as number
  }
  return readings.length === 0 ? [] : out
}

const NEWLINE = 0x0a
const utf8 = new TextEncoder()
const bytesOf = (s: string): Uint8Array => utf8.encode(s)
const FALSE_VALUE = bytesOf('false')
const TRUE_VALUE = bytesOf('true')
const NAN_ERROR = bytesOf('"nan"')
const HISTORICAL_TRUE = bytesOf(',historical=true,seq=')
const HISTORICAL_FALSE = bytesOf(',historical=false,seq=')
const HISTORICAL_TRUE_FIRST = bytesOf('historical=true,seq=')
const HISTORICAL_FALSE_FIRST = bytesOf('historical=false,seq=')

/** A growable byte buffer; `ascii` is for strings known to be ASCII (numbers). */
class ByteWriter {
  buf: Buffer
  pos = 0
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size)
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }
  byte(b: number): void {
    this.ensure(1)
    this.buf[this.pos++] = b
  }
  bytes(b: Uint8Array): void {
    const n = b.length
    this.ensure(n)
    const buf = this.buf
    let p = this.pos
    for (let i = 0; i < n; i++) buf[p++] = b[i] as number
    this.pos = p
  }
  ascii(s: string): void {
    const n = s.length
    this.ensure(n)
    const buf = this.buf
    let p = this.pos
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i)
    this.pos = p
  }
  utf8(s: string): void {
    this.ensure(s.length * 3)
    this.pos += this.buf.write(s, this.pos, 'utf8')
  }
  /** `String(Math.trunc(x))`, without the string for safe integers. */
  int(x: number): void {
    const t = Math.trunc(x)
    if (!Number.isSafeInteger(t)) return this.ascii(String(t))
    this.ensure(17)
    let v = t
    if (v < 0) {
      this.buf[this.pos++] = 0x2d
      v = -v
    }
    let digits = 1
    for (let d = v; d >= 10; d = Math.floor(d / 10)) digits++
    const buf = this.buf
    let p = this.pos + digits
    this.pos = p
    do {
      const q = Math.floor(v / 10)
      buf[--p] = 0x30 + (v - q * 10)
      v = q
    } while (v > 0)
  }
}

/** Per gateway, per device: the series prefix (measurement and tags) as bytes, for its kind and site. */
const prefixBytes = new Map<string, Map<string, { kind: string; site: string; bytes: Uint8Array }>>()
let prefixCount = 0
/** Field keys as bytes, `=` included: value points and error points. */
const valueKeyBytes = new Map<string, Uint8Array>()
const errorKeyBytes = new Map<string, Uint8Array>()

function prefixOf(r: StoredReading): Uint8Array {
  let devices = prefixBytes.get(r.gateway)
  const hit = devices?.get(r.device)
  if (hit !== undefined && hit.kind === r.kind && hit.site === r.site) return hit.bytes
  const bytes = bytesOf(`${seriesPrefix(r)} `)
  if (prefixCount >= CACHE_LIMIT) {
    prefixBytes.clear()
    prefixCount = 0
    devices = undefined
  }
  if (devices === undefined) prefixBytes.set(r.gateway, (devices = new Map()))
  if (hit === undefined) prefixCount++
  devices.set(r.device, { kind: r.kind, site: r.site, bytes })
  return bytes
}

function keyOf(cache: Map<string, Uint8Array>, r: StoredReading, point: string, suffix: string): Uint8Array {
  let k = cache.get(point)
  if (k === undefined) {
    k = bytesOf(`${fieldKey(r, point, suffix)}=`)
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(point, k)
  }
  return k
}

function writeReading(w: ByteWriter, r: StoredReading): void {
  w.bytes(prefixOf(r))
  let first = true
  const values = r.values
  for (const point in values) {
    const v = values[point]
    if (!first) w.byte(0x2c)
    first = false
    if (typeof v === 'number') {
      if (Number.isFinite(v)) {
        w.bytes(keyOf(valueKeyBytes, r, point, ''))
        w.ascii(String(v))
      } else {
        w.bytes(keyOf(errorKeyBytes, r, point, ERROR_SUFFIX))
        w.bytes(NAN_ERROR)
      }
    } else {
      w.bytes(keyOf(valueKeyBytes, r, point, ''))
      if (typeof v === 'boolean') w.bytes(v ? TRUE_VALUE : FALSE_VALUE)
      else w.utf8(quoteString(v as string))
    }
  }
  const errors = r.errors
  for (const point in errors) {
    if (point in values) continue // as in readingLine: the value wins
    if (!first) w.byte(0x2c)
    first = false
    w.bytes(keyOf(errorKeyBytes, r, point, ERROR_SUFFIX))
    w.utf8(quoteString((errors[point] as { code: string }).code))
  }
  w.bytes(r.historical ? (first ? HISTORICAL_TRUE_FIRST : HISTORICAL_TRUE) : first ? HISTORICAL_FALSE_FIRST : HISTORICAL_FALSE)
  w.int(r.seq)
  w.byte(0x69) // i
  w.byte(0x20)
  w.int(r.ts)
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
