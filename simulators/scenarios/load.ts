/**
 * Reads scenario files from disk and parses them with `parse.ts`. The only file
 * access of the scenario code; paths in issues are shown as given.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { SourceIssue } from '../../shared/district/source.ts'
import { parseScenario, type ParseScenarioOptions, type ScenarioResult } from './parse.ts'

/** The scenarios shipped with muni-iot (this folder). */
export const SCENARIOS_DIR = fileURLToPath(new URL('.', import.meta.url))

/** Paths of the shipped scenario files, sorted. */
export function listScenarioFiles(dir: string = SCENARIOS_DIR): string[] {
  return readdirSync(dir)
    .filter((n) => /\.ya?ml$/i.test(n))
    .sort()
    .map((n) => join(dir, n))
}

/** Reads and parses one scenario file; an unreadable file is one issue at 0:0. */
export function loadScenarioFile(file: string, options: ParseScenarioOptions = {}): ScenarioResult {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const issue: SourceIssue = { file, line: 0, column: 0, field: '', reason: `cannot read: ${(err as Error).message}` }
    return { issues: [issue] }
  }
  return parseScenario(text, file, options)
}
