/** What the field-tool commands print, and how they fail: the message to stderr and exit code 1. */
import { formatIssue, type SourceIssue } from '../../shared/yaml/issue.ts'
import type { Parsed } from '../tools/args.ts'

export const print = (s: string): void => void process.stdout.write(`${s}\n`)
export const printErr = (s: string): void => void process.stderr.write(`${s}\n`)

/** Reports an error and marks the command failed (exit 1); the command then returns. */
export function fail(error: string): void {
  printErr(error)
  process.exitCode = 1
}

/** The parsed value, or undefined after reporting why the argument was refused. */
export function get<T>(p: Parsed<T>): T | undefined {
  if (p.ok) return p.value
  fail(p.error)
  return undefined
}

/** A config issue as one line; a file that cannot be read has no position. */
export function issueLine(i: SourceIssue): string {
  return i.line > 0 ? formatIssue(i) : `${i.file}: ${i.reason}`
}

/** Every issue of a config that did not load, then how many, on stderr. */
export function printIssues(file: string, issues: readonly SourceIssue[]): void {
  for (const i of issues) printErr(issueLine(i))
  printErr(`${issues.length} problem(s) in ${file}`)
}
