/**
 * A problem in a firmware-profile file: the issue shape every YAML file of
 * muni-iot reports (`shared/yaml/issue.ts`).
 */
import type { SourceIssue } from '../yaml/issue.ts'

/** One problem in a firmware-profile file, precise enough for an editor to jump to. */
export type ProfileIssue = SourceIssue

export { compareIssues, formatIssue } from '../yaml/issue.ts'
