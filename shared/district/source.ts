/**
 * YAML text with positions, for the district description and anything else that
 * must report `file:line:column: field: reason` (the simulator's scenarios use it too).
 *
 * The code lives in `shared/yaml/` (reading, positions, issues, validation in
 * parts); these names stay for the district and scenario code that uses them.
 */
import type { SourceIssue as YamlIssue } from '../yaml/issue.ts'

/** One problem in a YAML file: file, 1-based line and column, field path (`devices[3].unit`), reason. */
export type SourceIssue = YamlIssue

export { compareIssues, formatIssue } from '../yaml/issue.ts'
export type { Anchor, PathSegment } from '../yaml/positions.ts'
export { issueAt, readYamlText, violationIssues, type YamlText } from '../yaml/source.ts'
export { checkParts, itemParts, type Part } from '../yaml/parts.ts'
