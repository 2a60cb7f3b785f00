/**
 * Schema validation of a document in parts, so that every list item's problem
 * keeps a precise message (used by districts, scenarios and gateway configs).
 */
import type { Validator } from 'typebox/compile'
import { check, type Violation } from '../schema/violations.ts'

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
