/**
 * "Did you mean …?" for names a person types into a YAML file: field names,
 * point names, ids.
 */

/** The known name closest to `name` (case-insensitive), when it is a plausible typo: at most 2 edits, and fewer than half the name. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = 3
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase())
    if (d < bestD && d < name.length / 2) {
      best = k
      bestD = d
    }
  }
  return best
}

/** Levenshtein distance (small strings only: field names). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub))
    }
    prev = cur
  }
  return prev[b.length] ?? 0
}
