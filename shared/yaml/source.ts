/**
 * A YAML file with positions: its document, its plain value, and issues built
 * from field paths — for every file that must report `file:line:column: field: reason`
 * (districts, scenarios, gateway configs; firmware profiles use the same parts).
 *
 * A wrong value points at the value, an unknown field at its key, a missing
 * field at the map that should hold it (`positions.ts`).
 *
 * Pure: no file access; callers pass the text and the name to show.
 */
import type { LineCounter, Document } from 'yaml'
import type { Violation } from '../schema/violations.ts'
import { pointerSegments } from '../schema/violations.ts'
import { readYaml, type ReadYamlOptions } from './document.ts'
import type { SourceIssue } from './issue.ts'
import { fieldName, offsetOf, pointerToPath, type Anchor, type PathSegment } from './positions.ts'

/** A parsed YAML file: the document (for positions) and its plain value. */
export interface YamlText {
  file: string
  doc: Document
  lineCounter: LineCounter
  /** The document as plain data; `undefined` when the YAML itself is broken (see `issues`). */
  value: unknown
  /** Syntax errors (the first one only: later ones are usually its echoes), duplicate keys, and for plain YAML anchors, aliases and tags. */
  issues: SourceIssue[]
}

/** Parses one YAML document (YAML 1.2 core schema, duplicate keys rejected; see `ReadYamlOptions` for plain YAML). */
export function readYamlText(text: string, file: string, options: ReadYamlOptions = {}): YamlText {
  const { doc, lineCounter, findings } = readYaml(text, options)
  const src: YamlText = { file, doc, lineCounter, value: undefined, issues: [] }
  src.issues = findings.map((f) => at(src, f.offset, f.path, f.reason))
  if (src.issues.length === 0) {
    try {
      src.value = doc.toJS({ maxAliasCount: 100 })
    } catch (e) {
      // Too many aliases (a "billion laughs" document): the YAML is broken for our purposes.
      src.issues.push(at(src, 0, [], `cannot read the document: ${(e as Error).message}`))
    }
  }
  return src
}

/** An issue at a field of the document, anchored as `anchor` says. */
export function issueAt(src: YamlText, path: readonly PathSegment[], anchor: Anchor, reason: string): SourceIssue {
  return at(src, offsetOf(src.doc, path, anchor), path, reason)
}

/**
 * Turns schema violations (JSON-pointer paths) into positioned issues. `improve`
 * may reword a reason once its field path is known (e.g. suggest a known field).
 */
export function violationIssues(
  src: YamlText,
  violations: readonly Violation[],
  improve: (path: readonly PathSegment[], reason: string) => string = (_, reason) => reason,
): SourceIssue[] {
  return violations.map((v) => {
    const path = pointerToPath(src.value, pointerSegments(v.path))
    const anchor: Anchor = v.reason === 'unknown field' ? 'key' : v.reason === 'is required' ? 'parent' : 'value'
    return issueAt(src, path, anchor, improve(path, v.reason))
  })
}

function at(src: YamlText, offset: number, path: readonly PathSegment[], reason: string): SourceIssue {
  const { line, col } = src.lineCounter.linePos(offset)
  return { file: src.file, line, column: col, field: fieldName(path), reason }
}
