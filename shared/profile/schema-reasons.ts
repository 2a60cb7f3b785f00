/**
 * Makes generic schema messages specific by looking at the schema itself:
 * "must be equal to constant" says which constant, a union says every type it
 * accepts, a pattern gets its description, and an unknown field suggests the
 * known field it was probably meant to be.
 */
import { ProfileSchema } from './schema.ts'
import type { PathSegment } from './positions.ts'
import { closest } from '../yaml/suggest.ts'

interface SchemaNode {
  properties?: Record<string, SchemaNode>
  items?: SchemaNode
  anyOf?: SchemaNode[]
  const?: unknown
  type?: string
  description?: string
}

function schemaAt(path: readonly PathSegment[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = ProfileSchema as unknown as SchemaNode
  for (const seg of path) {
    if (node === undefined) return undefined
    node = typeof seg === 'number' ? node.items : node.properties?.[seg]
  }
  return node
}

/** The reason to show for a schema violation at `path`. */
export function improveReason(path: readonly PathSegment[], reason: string): string {
  if (reason === 'unknown field') {
    const name = path.at(-1)
    const known = Object.keys(schemaAt(path.slice(0, -1))?.properties ?? {})
    const guess = typeof name === 'string' ? closest(name, known) : undefined
    return guess === undefined ? reason : `unknown field (did you mean "${guess}"?)`
  }
  const s = schemaAt(path)
  if (s === undefined) return reason
  if (reason === 'must be equal to constant' && s.const !== undefined) return `must be ${JSON.stringify(s.const)}`
  if (s.anyOf && /^must be [a-z]+$/.test(reason) && s.anyOf.every((b) => b.type !== undefined && b.const === undefined)) {
    return `must be ${s.anyOf.map((b) => b.type).join(' or ')}`
  }
  if (reason.startsWith('must match pattern') && s.description !== undefined) return `${reason} (${s.description})`
  return reason
}
