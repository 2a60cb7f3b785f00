/**
 * The one issue shape every YAML file of muni-iot reports (firmware profiles,
 * districts, scenarios, gateway configs): `file:line:column: field: reason`,
 * precise enough for an editor to jump to.
 */

/** One problem in a YAML file. */
export interface SourceIssue {
  /** The file as the caller named it (e.g. `firmware-profiles/water-level/hydrolux-rl80@2.3.yaml`). */
  file: string
  /** 1-based line (0 when the problem is the file itself, e.g. it cannot be read). */
  line: number
  /** 1-based column (0 with line 0). */
  column: number
  /** The field, like `points[3].type`; `""` for the whole document. */
  field: string
  reason: string
}

/** `file:line:column: field: reason` (without `field: ` when the issue is about the whole document). */
export function formatIssue(i: SourceIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.field === '' ? '' : `${i.field}: `}${i.reason}`
}

/** Orders issues by file, then position, then field. */
export function compareIssues(a: SourceIssue, b: SourceIssue): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1
  return a.line - b.line || a.column - b.column || (a.field < b.field ? -1 : a.field > b.field ? 1 : 0)
}
