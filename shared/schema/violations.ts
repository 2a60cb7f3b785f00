/**
 * Turns TypeBox (ajv-shaped) validation errors into a short list of violations a
 * person can act on: one entry per problem, a JSON-pointer path, and a reason.
 *
 * TypeBox reports an unknown field twice (once at the field, once at its parent)
 * and a union failure once per branch; both are folded here so callers never
 * show the same problem twice.
 */
import type { Validator } from 'typebox/compile'
import { Settings } from 'typebox/system'

/** At most this many violations are listed; a last entry at path `` says how many more were cut. */
export const MAX_VIOLATIONS = 100

/**
 * TypeBox stops collecting errors at `maxErrors` (default 8, a denial-of-service guard).
 * Callers here promise every violation of a message or file, so the limit is raised
 * for the duration of one collection only, and the result is capped by `capViolations`.
 */
const RAW_ERROR_LIMIT = 1000

/** The raw schema errors of `value`, collected past TypeBox's default cap of 8. */
export function schemaErrors(validator: Validator, value: unknown): SchemaError[] {
  const saved = Settings.Get().maxErrors
  Settings.Set({ maxErrors: RAW_ERROR_LIMIT })
  try {
    return validator.Errors(value) as unknown as SchemaError[]
  } finally {
    Settings.Set({ maxErrors: saved })
  }
}

/** Keeps the first MAX_VIOLATIONS and says how many more there were. */
export function capViolations(found: Violation[]): Violation[] {
  if (found.length <= MAX_VIOLATIONS) return found
  return [...found.slice(0, MAX_VIOLATIONS), { path: '', reason: `${found.length - MAX_VIOLATIONS} more violations not listed` }]
}

/** One problem with a value: where (a JSON pointer such as `/points/3/type`) and why. */
export interface Violation {
  path: string
  reason: string
}

/** The error shape TypeBox's compiled validators report (ajv-compatible). */
export interface SchemaError {
  keyword: string
  schemaPath: string
  instancePath: string
  params: Record<string, unknown>
  message: string
}

/** Folds raw schema errors into violations; the order follows the value, not the schema. */
export function toViolations(errors: readonly SchemaError[]): Violation[] {
  const kept = resolveUnions(errors)
  const out: Violation[] = []
  const seen = new Set<string>()
  const push = (path: string, reason: string): void => {
    const key = `${path}\u0000${reason}`
    if (!seen.has(key)) {
      seen.add(key)
      out.push({ path, reason })
    }
  }
  for (const e of kept) {
    if (e.keyword === 'boolean' && e.schemaPath.endsWith('/additionalProperties')) {
      push(e.instancePath, 'unknown field')
    } else if (e.keyword === 'additionalProperties') {
      const names = (e.params.additionalProperties as string[] | undefined) ?? []
      for (const n of names) push(`${e.instancePath}/${escapePointer(n)}`, 'unknown field')
    } else if (e.keyword === 'required') {
      const names = (e.params.requiredProperties as string[] | undefined) ??
        (e.params.missingProperty !== undefined ? [String(e.params.missingProperty)] : [])
      if (names.length === 0) push(e.instancePath, e.message)
      for (const n of names) push(`${e.instancePath}/${escapePointer(n)}`, 'is required')
    } else if (e.keyword === 'enum') {
      const allowed = (e.params.allowedValues as unknown[] | undefined) ?? []
      push(e.instancePath, `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`)
    } else if (e.keyword === 'const') {
      push(e.instancePath, `must be ${JSON.stringify(e.params.allowedValue)}`)
    } else {
      push(e.instancePath, e.message)
    }
  }
  return out
}

/**
 * A union (anyOf) fails once per branch. Keep the errors of the branch the value
 * was most likely meant for: branches that fail on a discriminating constant are
 * dropped when another branch got past its constants. When every branch fails on
 * a constant at the same place, report "must be one of …" there instead.
 */
function resolveUnions(errors: readonly SchemaError[]): SchemaError[] {
  // Group by the innermost anyOf each error belongs to, and by which value failed it:
  // two list items failing the same union are two problems, not one.
  const owners = errors.filter((e) => e.keyword === 'anyOf')
  const ownerOf = (union: string, instancePath: string): string => {
    let best: string | undefined
    for (const o of owners) {
      if (o.schemaPath !== union) continue
      const p = o.instancePath
      if ((instancePath === p || instancePath.startsWith(`${p}/`)) && (best === undefined || p.length > best.length)) best = p
    }
    return best ?? ''
  }
  const groups = new Map<string, Map<number, SchemaError[]>>()
  const plain: SchemaError[] = []
  for (const e of errors) {
    const m = innermostBranch(e.schemaPath)
    if (!m) {
      plain.push(e)
      continue
    }
    const key = `${m.union}\u0000${ownerOf(m.union, e.instancePath)}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = new Map()))
    let b = g.get(m.branch)
    if (!b) g.set(m.branch, (b = []))
    b.push(e)
  }
  if (groups.size === 0) return [...errors]
  const out: SchemaError[] = []
  const resolvedUnions = new Set<string>()
  for (const [union, branches] of groups) {
    const all = [...branches.values()]
    // A union of plain types (number | boolean) fails once per branch with "must be T".
    const flat = all.flat()
    const typeAt = flat[0]?.instancePath
    if (all.length > 1 && flat.every((e) => e.keyword === 'type' && e.instancePath === typeAt)) {
      const types = [...new Set(flat.map((e) => String(e.params.type)))]
      out.push({ keyword: 'type-union', schemaPath: union.split('\u0000')[0] ?? union, instancePath: typeAt ?? '', params: {}, message: `must be ${types.join(' or ')}` })
      resolvedUnions.add(union)
      continue
    }
    const failsOnConst = (b: SchemaError[]): boolean => b.some((e) => e.keyword === 'const')
    const survivors = all.filter((b) => !failsOnConst(b))
    if (survivors.length > 0) {
      // The value matched some branch's constants: its remaining errors are the real ones.
      out.push(...survivors.reduce((best, b) => (b.length < best.length ? b : best)))
      resolvedUnions.add(union)
      continue
    }
    const consts = all.flatMap((b) => b.filter((e) => e.keyword === 'const'))
    const at = consts[0]?.instancePath
    if (at !== undefined && consts.every((e) => e.instancePath === at)) {
      const allowed = consts.map((e) => JSON.stringify(e.params.allowedValue))
      out.push({ keyword: 'enum-union', schemaPath: union.split('\u0000')[0] ?? union, instancePath: at, params: {}, message: `must be one of ${[...new Set(allowed)].join(', ')}` })
      resolvedUnions.add(union)
    } else {
      out.push(...all.flat())
    }
  }
  // Drop the generic "must match a schema in anyOf" of unions explained above.
  for (const e of plain) {
    if (e.keyword === 'anyOf' && resolvedUnions.has(`${e.schemaPath}\u0000${e.instancePath}`)) continue
    out.push(e)
  }
  return out.sort((a, b) => (a.instancePath < b.instancePath ? -1 : a.instancePath > b.instancePath ? 1 : 0))
}

function innermostBranch(schemaPath: string): { union: string; branch: number } | undefined {
  // The last "/anyOf/N" in the schema path is the innermost union the error belongs to.
  const idx = schemaPath.lastIndexOf('/anyOf/')
  if (idx === -1) return undefined
  const m = /^\/anyOf\/(\d+)/.exec(schemaPath.slice(idx))
  return m ? { union: schemaPath.slice(0, idx) || '#', branch: Number(m[1]) } : undefined
}

/** Escapes a property name for use in a JSON pointer (RFC 6901 §3). */
export function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1')
}

/** Splits a JSON pointer into its segments (numbers stay strings). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return []
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

/** Validates `value` with a compiled TypeBox validator and returns violations (empty when valid). */
export function check(validator: Validator, value: unknown): Violation[] {
  if (validator.Check(value)) return []
  return capViolations(toViolations(schemaErrors(validator, value)))
}
