/**
 * Checks a schema-valid profile for what JSON Schema cannot express: fields that
 * contradict each other within a point, values the raw type cannot carry, alarm
 * levels that could never trigger, and a profile that does not match the file it
 * lives in. Register layout (addresses, overlaps, quirks) is in `layout.ts`.
 *
 * Conventions of the messages: the field is already named by the issue, so a
 * reason starts with the offending value or with what is wrong; another point is
 * named as `points[i] "name"`.
 */
import { SENSOR_KINDS, type AlarmHints, type Point, type PointType, type Profile } from './schema.ts'
import { RAW_LIMITS, TYPE_REGISTERS } from './resolve.ts'
import { checkLayout, typeFitsTable } from './layout.ts'
import { fmt, type Finding } from './finding.ts'
import type { Anchor, PathSegment } from './positions.ts'

/** Every semantic problem of `profile`, which was read from `file`. */
export function checkSemantics(profile: Profile, file: string): Finding[] {
  const out: Finding[] = []
  checkIdentity(profile, file, out)
  checkNames(profile, out)
  profile.points.forEach((p, i) => checkPoint(p, i, out))
  checkLayout(profile, out)
  return out
}

function checkIdentity(profile: Profile, file: string, out: Finding[]): void {
  const parts = file.split(/[\\/]/)
  const base = parts.at(-1) ?? file
  const stem = base.replace(/\.ya?ml$/i, '')
  if (profile.id !== stem) {
    out.push({ path: ['id'], at: 'value', reason: `"${profile.id}" does not match the file name ${base} (the id is the file name without .yaml)` })
  }
  const folder = parts.at(-2)
  if (folder !== undefined && (SENSOR_KINDS as readonly string[]).includes(folder) && folder !== profile.kind) {
    out.push({ path: ['kind'], at: 'value', reason: `${profile.kind} does not match the folder ${folder}/ the file lives in` })
  }
}

function checkNames(profile: Profile, out: Finding[]): void {
  const first = new Map<string, number>()
  profile.points.forEach((p, i) => {
    const j = first.get(p.name)
    if (j === undefined) first.set(p.name, i)
    else out.push({ path: ['points', i, 'name'], at: 'value', reason: `"${p.name}" is already the name of points[${j}]` })
  })
}

const NOT_NUMERIC: ReadonlySet<PointType> = new Set(['bool', 'bit', 'string'])
const NUMBER_ONLY_FIELDS = ['scale', 'offset', 'range', 'sentinels', 'deadband', 'stuck'] as const
const LEVELS = ['lolo', 'lo', 'hi', 'hihi'] as const

function checkPoint(p: Point, i: number, out: Finding[]): void {
  const add = (field: readonly PathSegment[], at: Anchor, reason: string): void => {
    out.push({ path: ['points', i, ...field], at, reason })
  }
  const { type, table } = p

  // Type vs table: Modbus Application Protocol v1.1b3 §4.3, coils and discrete inputs are single bits.
  if (!typeFitsTable(p)) {
    add(['type'], 'value', type === 'bool'
      ? `bool is for the coil and discrete tables; for one bit of a register in the ${table} table use type bit`
      : `${type} needs an input or holding register; the ${table} table holds single bits (use type bool)`)
  }

  // Type vs register count.
  if (type === 'string') {
    if (p.registers === undefined) add(['registers'], 'parent', 'is required for type string (2 ASCII characters per register)')
  } else if (p.registers !== undefined && p.registers !== TYPE_REGISTERS[type]) {
    const n = TYPE_REGISTERS[type]
    add(['registers'], 'value', `${type} is ${n} ${type === 'bool' ? 'bit' : n === 1 ? 'register' : 'registers'} wide, not ${p.registers}`)
  }
  if (type === 'bit' && p.bit === undefined) add(['bit'], 'parent', 'is required for type bit (0 = least significant)')
  if (type !== 'bit' && p.bit !== undefined) add(['bit'], 'key', `only applies to type bit, not ${type}`)

  // Fields that only mean something for numbers.
  if (NOT_NUMERIC.has(type)) {
    for (const f of NUMBER_ONLY_FIELDS) if (p[f] !== undefined) add([f], 'key', `does not apply to type ${type}`)
  }
  if ((type === 'bool' || type === 'bit') && p.order !== undefined) add(['order'], 'key', `does not apply to type ${type}`)
  if (!NOT_NUMERIC.has(type)) {
    if (p.scale === 0) add(['scale'], 'value', 'must not be 0 (every value would equal the offset)')
    checkRange(p, add)
    checkSentinels(p, add)
    checkStuck(p, add)
  }

  if (p.access === 'readwrite' && (table === 'input' || table === 'discrete')) {
    const fc = table === 'input' ? '04' : '02'
    add(['access'], 'value', `readwrite is impossible: the ${table} table is read-only (FC${fc}); writable points live in holding registers or coils`)
  }
  if (p.alarm) checkAlarm(p, p.alarm, add)
}

type Add = (field: readonly PathSegment[], at: Anchor, reason: string) => void

/** Engineering value of a raw value, `raw × scale + offset`, spelled out for messages. */
function formula(raw: number, scale: number, offset: number): string {
  let s = `raw ${raw}`
  if (scale !== 1) s += ` × ${fmt(scale)}`
  if (offset !== 0) s += offset < 0 ? ` - ${fmt(-offset)}` : ` + ${fmt(offset)}`
  return s
}

function checkRange(p: Point, add: Add): void {
  const r = p.range
  if (!r) return
  if (r.min !== undefined && r.max !== undefined && r.min > r.max) {
    add(['range', 'min'], 'value', `${fmt(r.min)} is above range.max ${fmt(r.max)}`)
  }
  const lim = RAW_LIMITS[p.type]
  const scale = p.scale ?? 1
  const offset = p.offset ?? 0
  if (!lim || scale === 0) return
  const a = lim.min * scale + offset
  const b = lim.max * scale + offset
  // A negative scale turns the raw maximum into the engineering minimum.
  const [lo, rawLo, hi, rawHi] = a <= b ? [a, lim.min, b, lim.max] : [b, lim.max, a, lim.min]
  const slack = (v: number): number => Math.abs(v) * 1e-9
  if (r.min !== undefined && r.min < lo - slack(lo)) {
    add(['range', 'min'], 'value', `${fmt(r.min)} is below ${fmt(lo)}, the lowest value ${p.type} can carry (${formula(rawLo, scale, offset)})`)
  }
  if (r.max !== undefined && r.max > hi + slack(hi)) {
    add(['range', 'max'], 'value', `${fmt(r.max)} is above ${fmt(hi)}, the highest value ${p.type} can carry (${formula(rawHi, scale, offset)})`)
  }
}

/** Sentinels are raw values: they must be values the raw type can actually deliver. */
function checkSentinels(p: Point, add: Add): void {
  const lim = RAW_LIMITS[p.type]
  p.sentinels?.forEach((s, k) => {
    if (lim) {
      if (Number.isInteger(s) && s >= lim.min && s <= lim.max) return
      add(['sentinels', k], 'value', `${s} does not fit ${p.type} (${lim.min}..${lim.max})${sameBits(p.type, s)}`)
    } else if (p.type === 'float32' && Number.isFinite(s) && Math.fround(s) !== s) {
      add(['sentinels', k], 'value', `${s} is not exactly representable as float32 (nearest ${Math.fround(s)}), so no raw value would ever equal it`)
    }
  })
}

/**
 * `stuck.except` values are engineering values the point can report: inside its
 * range, and not a sentinel's engineering value (a sentinel is an error, never a value).
 */
function checkStuck(p: Point, add: Add): void {
  const r = p.range
  const scale = p.scale ?? 1
  const offset = p.offset ?? 0
  p.stuck?.except?.forEach((v, k) => {
    if (r?.min !== undefined && v < r.min) add(['stuck', 'except', k], 'value', `${fmt(v)} is below range.min ${fmt(r.min)}; the point never reports it`)
    else if (r?.max !== undefined && v > r.max) add(['stuck', 'except', k], 'value', `${fmt(v)} is above range.max ${fmt(r.max)}; the point never reports it`)
    else if (p.sentinels?.some((s) => s * scale + offset === v)) add(['stuck', 'except', k], 'value', `${fmt(v)} is a sentinel's value; a sentinel is already an error, never a value`)
  })
}

/** The usual sentinel mistake: 0xFFFF written for a signed register (or -1 for an unsigned one). */
function sameBits(type: PointType, s: number): string {
  const flip = (bits: number, signed: boolean): string => {
    const span = 2 ** bits
    if (!Number.isInteger(s)) return ''
    if (signed && s >= span / 2 && s < span) return `; the same bits read as ${type} are ${s - span}`
    if (!signed && s < 0 && s >= -span / 2) return `; the same bits read as ${type} are ${s + span}`
    return ''
  }
  switch (type) {
    case 'int16': return flip(16, true)
    case 'uint16': return flip(16, false)
    case 'int32': return flip(32, true)
    case 'uint32': return flip(32, false)
    default: return ''
  }
}

function checkAlarm(p: Point, a: AlarmHints, add: Add): void {
  const { type } = p
  if (NOT_NUMERIC.has(type)) {
    for (const f of [...LEVELS, 'rateOfChange', 'deadband'] as const) {
      if (a[f] !== undefined) add(['alarm', f], 'key', `does not apply to type ${type}`)
    }
    if (a.state !== undefined) {
      if (type === 'string') add(['alarm', 'state'], 'key', 'does not apply to type string')
      else if (typeof a.state.value !== 'boolean') add(['alarm', 'state', 'value'], 'value', `must be true or false for type ${type}`)
    }
    return
  }
  if (a.state !== undefined && typeof a.state.value === 'boolean') {
    add(['alarm', 'state', 'value'], 'value', `must be a number for type ${type} (true and false are for bool and bit points)`)
  }
  const defined = LEVELS.filter((k) => a[k] !== undefined)
  for (let k = 1; k < defined.length; k++) {
    const prev = defined[k - 1]!
    const cur = defined[k]!
    const pv = a[prev]!
    const cv = a[cur]!
    if (pv > cv) add(['alarm', cur], 'value', `${fmt(cv)} is below alarm.${prev} ${fmt(pv)}; levels must be ordered lolo ≤ lo ≤ hi ≤ hihi`)
  }
  const r = p.range
  if (!r) return
  for (const k of defined) {
    const v = a[k]!
    if (r.min !== undefined && v < r.min) add(['alarm', k], 'value', `${fmt(v)} is below range.min ${fmt(r.min)}; alarm levels must lie inside the valid range`)
    if (r.max !== undefined && v > r.max) add(['alarm', k], 'value', `${fmt(v)} is above range.max ${fmt(r.max)}; alarm levels must lie inside the valid range`)
  }
}
