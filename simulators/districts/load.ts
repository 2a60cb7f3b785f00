/**
 * Reads a district file from disk and parses it with `shared/district/parse.ts`.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseDistrict, type DistrictResult, type ParseDistrictOptions } from '../../shared/district/parse.ts'
import type { SourceIssue } from '../../shared/district/source.ts'

/** The sample district shipped with muni-iot (Dongcheng, Beijing). */
export const SAMPLE_DISTRICT_FILE = fileURLToPath(new URL('./sample.yaml', import.meta.url))

/** Reads and parses a district file; an unreadable file is one issue at 0:0. */
export function loadDistrictFile(file: string = SAMPLE_DISTRICT_FILE, options: ParseDistrictOptions = {}): DistrictResult {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const issue: SourceIssue = { file, line: 0, column: 0, field: '', reason: `cannot read: ${(err as Error).message}` }
    return { issues: [issue] }
  }
  return parseDistrict(text, file, options)
}
