/** What the field-tool commands print, and how they fail: the message to stderr and exit code 1. */
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
