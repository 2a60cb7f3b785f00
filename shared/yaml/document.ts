/**
 * Reads YAML text and reports what is wrong with it as YAML, before any schema
 * is applied: syntax errors (at the `yaml` library's own position) and duplicate
 * keys, and — for files that must be plain YAML — the YAML features they do not use.
 *
 * Every file is one YAML 1.2 document in the core schema with unique map keys.
 * Plain-YAML files (firmware profiles, gateway configs) also reject anchors,
 * aliases and merge keys: such a file is reviewed line by line, and a value that
 * silently copies another one hides what it says. Explicit tags are accepted
 * there only when they name a core-schema type (`!!str 2.10`).
 *
 * Pure: no file access; callers pass the text.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Pair } from 'yaml'
import { keyName, pathOfKeyAt, type PathSegment } from './positions.ts'

/** A problem found in the YAML itself, located by source offset. */
export interface YamlFinding {
  path: PathSegment[]
  offset: number
  reason: string
}

/** The parsed document, its line index, and what is wrong with it as YAML. */
export interface YamlSource {
  doc: Document
  lineCounter: LineCounter
  findings: YamlFinding[]
}

/** How strictly to read. */
export interface ReadYamlOptions {
  /**
   * Plain YAML only: anchors, aliases, merge keys and non-core tags are findings,
   * and so are the parser's warnings. The value names the files in the reason:
   * `'profiles'` → "… is not allowed; profiles are plain YAML: write each value out in full".
   * Without it, anchors and aliases are accepted (districts, scenarios).
   */
  plainYaml?: string
}

const CORE = 'tag:yaml.org,2002:'
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => CORE + t))

/** Parses `text` as one YAML document and lists its YAML-level problems. */
export function readYaml(text: string, options: ReadYamlOptions = {}): YamlSource {
  const lineCounter = new LineCounter()
  const plain = options.plainYaml
  const doc =
    plain === undefined
      ? parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, schema: 'core' })
      : parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, schema: 'core', merge: false, resolveKnownTags: false })
  const findings: YamlFinding[] = []
  // One syntax mistake often produces several follow-on errors: report the first.
  // Duplicate keys are independent of each other, so all of them are reported.
  let syntaxReported = false
  for (const e of doc.errors) {
    if (e.code === 'DUPLICATE_KEY') {
      const path = pathOfKeyAt(doc, e.pos[0]) ?? []
      const name = path.at(-1)
      findings.push({ path, offset: e.pos[0], reason: name === undefined ? e.message : `duplicate key "${String(name)}" (map keys must be unique)` })
    } else if (!syntaxReported) {
      syntaxReported = true
      findings.push({ path: [], offset: e.pos[0], reason: e.message })
    }
  }
  if (plain !== undefined) {
    // Unresolved tags are reported by the walk below, with the tag's own position.
    for (const w of doc.warnings) {
      if (w.code !== 'TAG_RESOLVE_FAILED') findings.push({ path: [], offset: w.pos[0], reason: w.message })
    }
    if (findings.length === 0) walk(doc.contents, [], text, `${plain} are plain YAML: write each value out in full`, findings)
  }
  return { doc, lineCounter, findings }
}

function walk(node: unknown, path: PathSegment[], text: string, plain: string, out: YamlFinding[]): void {
  if (node === null || node === undefined) return
  if (isAlias(node)) {
    out.push({ path, offset: node.range?.[0] ?? 0, reason: `alias *${node.source} is not allowed; ${plain}` })
    return
  }
  const n = node as { anchor?: string; tag?: string; range?: [number, number, number] | null }
  const start = n.range?.[0] ?? 0
  if (n.anchor !== undefined) {
    out.push({ path, offset: propOffset(text, start, '&') ?? start, reason: `anchor &${n.anchor} is not allowed; ${plain}` })
  }
  if (n.tag !== undefined && !CORE_TAGS.has(n.tag)) {
    const shown = n.tag.startsWith(CORE) ? `!!${n.tag.slice(CORE.length)}` : n.tag
    out.push({
      path,
      offset: propOffset(text, start, '!') ?? start,
      reason: `tag ${shown} is not allowed; only the YAML core schema is (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq)`,
    })
  }
  if (isMap(node)) {
    for (const pair of node.items as Pair[]) {
      const name = keyName(pair.key)
      if (name === undefined) {
        const at = (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? start
        out.push({ path, offset: at, reason: 'map keys must be plain scalars' })
        continue
      }
      walk(pair.key, [...path, name], text, plain, out)
      walk(pair.value, [...path, name], text, plain, out)
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item, [...path, i], text, plain, out))
  } else if (!isScalar(node)) {
    out.push({ path, offset: start, reason: 'unexpected YAML node' })
  }
}

/**
 * Offset of the node property (`&anchor` or `!tag`) written before a node. The
 * composed node's range starts after its properties, so walk back over them.
 */
function propOffset(text: string, nodeStart: number, sigil: '&' | '!'): number | undefined {
  let i = nodeStart
  for (;;) {
    let j = i
    while (j > 0 && /\s/.test(text.charAt(j - 1))) j--
    let k = j
    while (k > 0 && !/\s/.test(text.charAt(k - 1))) k--
    if (k === j) return undefined
    const first = text.charAt(k)
    if (first === sigil) return k
    if (first !== '&' && first !== '!') return undefined
    i = k
  }
}
