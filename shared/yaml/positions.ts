/**
 * Where a field sits in the YAML text of a document. Every issue names a line and
 * column, so the helpers here turn a field path (`['points', 3, 'type']`) into a
 * source offset, following the rules the issue list promises:
 *
 * - `value`:  a value that is wrong points at the value;
 * - `key`:    a field that should not be there (unknown, or not applicable) points at its key;
 * - `parent`: a field that is missing points at the map that should hold it.
 *
 * When part of the path does not exist, the deepest node that does is used.
 */
import { isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml'

/** One step of a field path: a map key or a sequence index. */
export type PathSegment = string | number

/** Which part of a field an issue points at. */
export type Anchor = 'key' | 'value' | 'parent'

/** `['points', 3, 'type']` → `points[3].type`; the empty path is `""` (the whole document). */
export function fieldName(path: readonly PathSegment[]): string {
  let out = ''
  for (const s of path) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`
  return out
}

/** The string a map key stands for, when it is a scalar. */
export function keyName(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined
}

function startOf(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range
  return range ? range[0] : undefined
}

/** Source offset of `path` in `doc`, anchored as `at` says. */
export function offsetOf(doc: Document, path: readonly PathSegment[], at: Anchor): number {
  if (at === 'parent') return offsetOf(doc, path.slice(0, -1), 'value')
  let node: unknown = doc.contents
  let best = startOf(node) ?? 0
  for (const [i, seg] of path.entries()) {
    const last = i === path.length - 1
    if (isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => keyName(p.key) === String(seg))
      if (!pair) return best
      const keyStart = startOf(pair.key)
      if (last && at === 'key' && keyStart !== undefined) return keyStart
      // A key without a value (`unit:`) still has a position: its key.
      best = startOf(pair.value) ?? keyStart ?? best
      node = pair.value
    } else if (isSeq(node)) {
      const item: unknown = node.items[Number(seg)]
      if (item === undefined) return best
      best = startOf(item) ?? best
      node = item
    } else {
      return best
    }
  }
  return best
}

/** The field path of the map key that starts at `offset` (used to name a duplicate key). */
export function pathOfKeyAt(doc: Document, offset: number): PathSegment[] | undefined {
  const search = (node: unknown, path: PathSegment[]): PathSegment[] | undefined => {
    if (isMap(node)) {
      for (const pair of node.items as Pair[]) {
        const name = keyName(pair.key)
        if (name === undefined) continue
        if (startOf(pair.key) === offset) return [...path, name]
        const found = search(pair.value, [...path, name])
        if (found) return found
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        const found = search(item, [...path, i])
        if (found) return found
      }
    }
    return undefined
  }
  return search(doc.contents, [])
}

/**
 * Turns a JSON pointer into a field path, using the value to tell array indices
 * from keys (RFC 6901 leaves that to the document).
 */
export function pointerToPath(value: unknown, segments: readonly string[]): PathSegment[] {
  const out: PathSegment[] = []
  let cur: unknown = value
  for (const seg of segments) {
    if (Array.isArray(cur) && /^(?:0|[1-9]\d*)$/.test(seg)) {
      out.push(Number(seg))
      cur = cur[Number(seg)]
    } else {
      out.push(seg)
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined
    }
  }
  return out
}
