/**
 * YAML text with positions, for the district description and anything else that
 * must report `file:line:column: field: reason` (the simulator's scenarios use it too).
 *
 * The position rules and the "JSON pointer → source offset" walk are the profile
 * parser's (`shared/profile/positions.ts`): a wrong value points at the value, an
 * unknown field at its key, a missing field at the map that should hold it.
 * The issue shape is the profile issue's, so `formatIssue` prints both.
 *
 * Pure: no file access; callers pass the text and the name to show.
 */
import { LineCounter, parseDocument, type Document } from 'yaml'
import { compareIssues, formatIssue, type ProfileIssue } from '../profile/issue.ts'
import { fieldName, offsetOf, pathOfKeyAt, pointerToPath, type Anchor, type PathSegment } from '../profile/positions.ts'
import type { Validator } from 'typebox/compile'
import { check, pointerSegments, type Violation } from '../schema/violations.ts'

/** One problem in a YAML file: file, 1-based line and column, field path (`devices[3].unit`), reason. */
export type SourceIssue = ProfileIssue
export { compareIssues, formatIssue }
export type { Anchor, PathSegment }

/** A parsed YAML file: the document (for positions) and its plain value. */
export interface YamlText {
  file: string
  doc: Document
  lineCounter: LineCounter
  /** The document as plain data; `undefined` when the YAML itself is broken (see `issues`). */
  value: unknown
  /** Syntax errors (the first one only: later ones are usually its echoes) and duplicate keys. */
  issues: SourceIssue[]
}

/** Parses one YAML document (YAML 1.2 core schema, duplicate keys rejected). */
export function readYamlText(text: string, file: string): YamlText {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, schema: 'core' })
  const src: YamlText = { file, doc, lineCounter, value: undefined, issues: [] }
  let syntaxReported = false
  for (const e of doc.errors) {
    if (e.code === 'DUPLICATE_KEY') {
      const path = pathOfKeyAt(doc, e.pos[0]) ?? []
      const name = path.at(-1)
      src.issues.push(at(src, e.pos[0], path, name === undefined ? e.message : `duplicate key "${String(name)}" (map keys must be unique)`))
    } else if (!syntaxReported) {
      syntaxReported = true
      src.issues.push(at(src, e.pos[0], [], e.message))
    }
  }
  if (src.issues.length === 0) src.value = doc.toJS({ maxAliasCount: 100 })
  return src
}

/** An issue at a field of the document, anchored as `anchor` says. */
export function issueAt(src: YamlText, path: readonly PathSegment[], anchor: Anchor, reason: string): SourceIssue {
  return at(src, offsetOf(src.doc, path, anchor), path, reason)
}

/** Turns schema violations (JSON-pointer paths) into positioned issues. */
export function violationIssues(src: YamlText, violations: readonly Violation[]): SourceIssue[] {
  return violations.map((v) => {
    const path = pointerToPath(src.value, pointerSegments(v.path))
    const anchor: Anchor = v.reason === 'unknown field' ? 'key' : v.reason === 'is required' ? 'parent' : 'value'
    return issueAt(src, path, anchor, v.reason)
  })
}

/** One part of a document to validate on its own: the value at JSON pointer `at`. */
export interface Part {
  at: string
  value: unknown
  validator: Validator
}

/**
 * Validates a document in parts — the whole, and each item of its lists — and
 * merges the violations, each reported by the most specific part that covers it.
 * TypeBox stops collecting errors after a few, and `check()` folds a union's
 * branches per schema location, so list items that fail the same union must be
 * checked one by one to keep each item's message precise.
 */
export function checkParts(parts: readonly Part[]): Violation[] {
  const out: Violation[] = []
  const seen = new Set<string>()
  for (const part of parts) {
    for (const v of check(part.validator, part.value)) {
      const path = part.at + v.path
      const deeper = parts.some(
        (q) => q.at.length > part.at.length && q.at.startsWith(`${part.at}/`) && (path === q.at || path.startsWith(`${q.at}/`)),
      )
      const key = `${path}\u0000${v.reason}`
      if (!deeper && !seen.has(key)) {
        seen.add(key)
        out.push({ path, reason: v.reason })
      }
    }
  }
  return out
}

/** Parts for each item of the array at `at` (nothing when it is not an array). */
export function itemParts(value: unknown, at: string, validator: Validator): Part[] {
  return Array.isArray(value) ? value.map((item, i) => ({ at: `${at}/${i}`, value: item, validator })) : []
}

function at(src: YamlText, offset: number, path: readonly PathSegment[], reason: string): SourceIssue {
  const { line, col } = src.lineCounter.linePos(offset)
  return { file: src.file, line, column: col, field: fieldName(path), reason }
}
