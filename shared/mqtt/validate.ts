/**
 * Checks a parsed payload against wire contract v1: first its schema (`messages.ts`),
 * then the rules that span fields or need the topic. Every violation is listed (up to
 * `MAX_VIOLATIONS`), including semantic ones on a value whose schema already failed, so
 * one dead-letter row tells the whole story.
 */
import type { Validator } from 'typebox/compile'
import { capViolations, escapePointer, schemaErrors, toViolations, type Violation } from '../schema/violations.ts'
import { COMMAND_TYPES, validators } from './messages.ts'
import type { TopicKind } from './topics.ts'

/** The site and gateway a message was (or will be) published under. */
export interface TopicAddress {
  site: string
  gateway: string
}

export { MAX_VIOLATIONS } from '../schema/violations.ts'

/**
 * All violations of `value` as a message of `kind`: schema violations, then semantic ones.
 * With `address`, also checks the payload's `gateway`/`site` against the topic's.
 * Returns `[]` for a valid message. Never throws on any JSON value.
 */
export function validateMessage(kind: TopicKind, value: unknown, address?: TopicAddress): Violation[] {
  return capViolations([...schemaViolations(kind, value), ...semanticViolations(kind, value, address)])
}

function schemaViolations(kind: TopicKind, value: unknown): Violation[] {
  switch (kind) {
    case 'command':
      return tagged(value, 'type', COMMAND_TYPES, validators.commandVariants, validators.commandBase)
    case 'command/response':
      return tagged(value, 'ok', [true, false], validators.responseVariants, validators.responseBase)
    default:
      return collect(validators[kind], value)
  }
}

/**
 * Runs a compiled validator and folds its errors (shared/schema/violations.ts). Drops
 * `propertyNames` summaries ("property names X are invalid"): the same names are
 * already reported one by one, at their own paths, by the pattern they fail.
 */
function collect(validator: Validator, value: unknown): Violation[] {
  if (validator.Check(value)) return []
  return toViolations(schemaErrors(validator, value).filter((e) => e.keyword !== 'propertyNames'))
}

/**
 * A discriminated union checked through its discriminator: the chosen variant's errors
 * are exact, where a plain union reports one guess per branch. When the discriminator is
 * missing or unknown, it is reported along with the fields all variants share.
 */
function tagged(
  value: unknown,
  tag: string,
  allowed: readonly unknown[],
  variants: ReadonlyMap<unknown, Validator>,
  base: Validator,
): Violation[] {
  if (!isRecord(value)) return [{ path: '', reason: 'must be object' }]
  const variant = Object.hasOwn(value, tag) ? variants.get(value[tag]) : undefined
  if (variant !== undefined) return collect(variant, value)
  const reason = Object.hasOwn(value, tag) ? `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : 'is required'
  return [{ path: `/${tag}`, reason }, ...collect(base, value)]
}

function semanticViolations(kind: TopicKind, value: unknown, address: TopicAddress | undefined): Violation[] {
  if (!isRecord(value)) return []
  const out: Violation[] = []
  if (address !== undefined && (kind === 'telemetry' || kind === 'birth')) {
    if (typeof value.gateway === 'string' && value.gateway !== address.gateway) {
      out.push({ path: '/gateway', reason: `must equal the topic's gateway ${JSON.stringify(address.gateway)}` })
    }
    if (kind === 'birth' && typeof value.site === 'string' && value.site !== address.site) {
      out.push({ path: '/site', reason: `must equal the topic's site ${JSON.stringify(address.site)}` })
    }
  }
  if (kind === 'telemetry') out.push(...readingRules(value.readings))
  if (kind === 'birth') out.push(...uniqueDevices(value.devices))
  if (kind === 'events') out.push(...eventRules(value))
  if (kind === 'command/response' && isRecord(value.result)) out.push(...pointRules(value.result, '/result'))
  return out
}

/** Per reading: values and errors are disjoint, not both empty; (device, ts) is unique in the batch. */
function readingRules(readings: unknown): Violation[] {
  if (!Array.isArray(readings)) return []
  const out: Violation[] = []
  const firstAt = new Map<string, number>()
  readings.forEach((r: unknown, i) => {
    if (!isRecord(r)) return
    out.push(...pointRules(r, `/readings/${i}`))
    if (typeof r.device === 'string' && typeof r.ts === 'number') {
      const key = `${r.device}\u0000${r.ts}`
      const first = firstAt.get(key)
      if (first === undefined) firstAt.set(key, i)
      else out.push({ path: `/readings/${i}`, reason: `same device and ts as /readings/${first} (merge them into one reading)` })
    }
  })
  return out
}

/** One reading (at `path`): a point is in values or errors, never both; at least one point. */
function pointRules(reading: Record<string, unknown>, path: string): Violation[] {
  const { values, errors } = reading
  if (!isRecord(values) || !isRecord(errors)) return []
  const out: Violation[] = []
  for (const name of Object.keys(errors)) {
    if (Object.hasOwn(values, name)) {
      out.push({ path: `${path}/errors/${escapePointer(name)}`, reason: 'point is also in values (a point is in values or errors, never both)' })
    }
  }
  if (Object.keys(values).length === 0 && Object.keys(errors).length === 0) {
    out.push({ path, reason: 'has no points (values and errors are both empty)' })
  }
  return out
}

function uniqueDevices(devices: unknown): Violation[] {
  if (!Array.isArray(devices)) return []
  const out: Violation[] = []
  const firstAt = new Map<string, number>()
  devices.forEach((d: unknown, i) => {
    if (!isRecord(d) || typeof d.device !== 'string') return
    const first = firstAt.get(d.device)
    if (first === undefined) firstAt.set(d.device, i)
    else out.push({ path: `/devices/${i}/device`, reason: `duplicate of /devices/${first}/device` })
  })
  return out
}

function eventRules(event: Record<string, unknown>): Violation[] {
  const out: Violation[] = []
  if (event.error !== undefined && event.event !== 'unavailable') {
    out.push({ path: '/error', reason: 'is only allowed when event is "unavailable"' })
  }
  if (event.event === 'profile_mismatch' && event.reason === undefined) {
    out.push({ path: '/reason', reason: 'is required when event is "profile_mismatch"' })
  }
  return out
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
