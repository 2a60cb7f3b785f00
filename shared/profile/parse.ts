/**
 * Reads firmware-profile YAML into a validated, resolved profile, or into a list
 * of issues that each name a file, line, column and field. Three passes, each
 * run only when the one before found nothing (their findings would be noise):
 *
 * 1. YAML: syntax, duplicate keys, anchors/aliases/tags (`yaml-source.ts`);
 * 2. schema: the TypeBox ProfileSchema (`schema.ts`);
 * 3. semantics: what the schema cannot say (`semantics.ts`, `layout.ts`).
 *
 * Pure: no file system. Callers read the files and pass their text.
 */
import { Compile } from 'typebox/compile'
import { ProfileSchema, PointSchema, type Profile } from './schema.ts'
import { resolveProfile, type ResolvedProfile } from './resolve.ts'
import { check, pointerSegments, type Violation } from '../schema/violations.ts'
import { compareIssues, type ProfileIssue } from './issue.ts'
import { fieldName, offsetOf, pointerToPath, type Anchor, type PathSegment } from './positions.ts'
import { readYaml } from './yaml-source.ts'
import { checkSemantics } from './semantics.ts'
import { improveReason } from './schema-reasons.ts'

export { formatIssue, type ProfileIssue } from './issue.ts'
export { renderJsonSchema } from './json-schema.ts'

/** A valid profile with its resolved form, or every issue found. */
export type ParseResult =
  | { ok: true; profile: Profile; resolved: ResolvedProfile }
  | { ok: false; issues: ProfileIssue[] }

/** A profile file's name (as it should appear in issues) and its text. */
export interface ProfileSource {
  file: string
  text: string
}

const profileValidator = Compile(ProfileSchema)

/** Parses, validates and resolves one profile. Issues come sorted by position. */
export function parseProfile(text: string, file: string): ParseResult {
  const r = parseLocated(text, file)
  return r.ok ? { ok: true, profile: r.profile, resolved: r.resolved } : { ok: false, issues: r.issues }
}

type Located =
  | { ok: true; profile: Profile; resolved: ResolvedProfile; issueAt: (path: readonly PathSegment[], at: Anchor, reason: string) => ProfileIssue }
  | { ok: false; issues: ProfileIssue[] }

function parseLocated(text: string, file: string): Located {
  const { doc, lineCounter, findings } = readYaml(text)
  const at = (offset: number, path: readonly PathSegment[], reason: string): ProfileIssue => {
    const { line, col } = lineCounter.linePos(offset)
    return { file, line, column: col, field: fieldName(path), reason }
  }
  const issueAt = (path: readonly PathSegment[], anchor: Anchor, reason: string): ProfileIssue =>
    at(offsetOf(doc, path, anchor), path, reason)
  const fail = (issues: ProfileIssue[]): Located => ({ ok: false, issues: issues.sort(compareIssues) })

  if (findings.length > 0) return fail(findings.map((f) => at(f.offset, f.path, f.reason)))
  if (doc.contents === null) {
    return fail([at(0, [], `the document is empty; a profile is a map with ${ProfileSchema.required.join(', ')}`)])
  }

  let data: unknown
  try {
    data = doc.toJS()
  } catch (e) {
    return fail([at(0, [], `cannot read the document: ${(e as Error).message}`)])
  }
  if (!profileValidator.Check(data)) {
    const violations = schemaViolations(data)
    const semantic = semanticsOfValidPoints(data, violations, file)
    return fail([
      ...violations.map((v) => schemaIssue(v, data, issueAt)),
      ...semantic.map((f) => issueAt(f.path, f.at, f.reason)),
    ])
  }

  const profile = deepFreeze(data)
  const semantic = checkSemantics(profile, file)
  if (semantic.length > 0) return fail(semantic.map((f) => issueAt(f.path, f.at, f.reason)))

  try {
    return { ok: true, profile, resolved: resolveProfile(profile), issueAt }
  } catch (e) {
    // The semantic checks convert every address first; reaching this is a bug in them.
    return fail([at(0, [], `cannot resolve the profile: ${(e as Error).message}`)])
  }
}

/**
 * When only some points break the schema, the semantic checks still run over the
 * points that passed, so one validate run reports every problem of the file (a
 * duplicate name and an unknown field at once). Paths point at the original index.
 */
function semanticsOfValidPoints(data: unknown, violations: readonly Violation[], file: string): ReturnType<typeof checkSemantics> {
  const bad = new Set<number>()
  for (const v of violations) {
    const m = /^\/points\/(\d+)(?:\/|$)/.exec(v.path)
    if (!m) return []
    bad.add(Number(m[1]))
  }
  const points = (data as { points: unknown[] }).points
  const keep = points.map((_, i) => i).filter((i) => !bad.has(i))
  if (keep.length === 0) return []
  const partial = { ...(data as object), points: keep.map((i) => points[i]) }
  if (!profileValidator.Check(partial)) return []
  return checkSemantics(deepFreeze(partial), file).map((f) =>
    f.path[0] === 'points' && typeof f.path[1] === 'number' ? { ...f, path: ['points', keep[f.path[1]] ?? f.path[1], ...f.path.slice(2)] } : f,
  )
}

/** Every schema violation of the document (violations.ts lifts TypeBox's cap of 8). */
function schemaViolations(data: unknown): Violation[] {
  return check(profileValidator, data)
}

function schemaIssue(
  v: Violation,
  data: unknown,
  issueAt: (path: readonly PathSegment[], at: Anchor, reason: string) => ProfileIssue,
): ProfileIssue {
  const path = pointerToPath(data, pointerSegments(v.path))
  // Unknown field → its key; missing field → the map that lacks it; anything else → the value.
  const anchor: Anchor = v.reason === 'unknown field' ? 'key' : v.reason === 'is required' ? 'parent' : 'value'
  return issueAt(path, anchor, improveReason(path, v.reason))
}

/**
 * Parses every file into one library keyed by profile id. A file with issues is
 * left out; so is a profile whose id another file already uses (the first file,
 * by name, keeps it). Files are processed in name order so the result does not
 * depend on directory listing order.
 */
export function buildLibrary(sources: readonly ProfileSource[]): { profiles: ReadonlyMap<string, ResolvedProfile>; issues: ProfileIssue[] } {
  const profiles = new Map<string, ResolvedProfile>()
  const owner = new Map<string, string>()
  const issues: ProfileIssue[] = []
  const sorted = [...sources].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
  for (const { file, text } of sorted) {
    const r = parseLocated(text, file)
    if (!r.ok) {
      issues.push(...r.issues)
      continue
    }
    const id = r.resolved.id
    const first = owner.get(id)
    if (first !== undefined) {
      issues.push(r.issueAt(['id'], 'value', `"${id}" is also the id of ${first}`))
      continue
    }
    owner.set(id, file)
    profiles.set(id, r.resolved)
  }
  return { profiles, issues: issues.sort(compareIssues) }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
