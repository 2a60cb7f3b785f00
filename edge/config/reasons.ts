/**
 * Makes generic schema messages specific for the person editing the gateway
 * config: an unknown field suggests the field it was probably meant to be, a
 * pattern gets its description, and a password written into the file says where
 * the password goes instead.
 */
import { closest } from '../../shared/yaml/suggest.ts'
import type { PathSegment } from '../../shared/yaml/positions.ts'
import { GatewayConfigSchema } from './schema.ts'

/** Why `broker.password` is refused (the value is never echoed). */
export const PASSWORD_IN_FILE =
  'a password is never written in the config file; put it in an environment variable of the agent and name that variable in passwordEnv'

interface SchemaNode {
  properties?: Record<string, SchemaNode>
  items?: SchemaNode
  anyOf?: SchemaNode[]
  required?: string[]
  const?: unknown
  description?: string
}

/**
 * The schema of the field at `path`. In a union (a bus is tcp or rtu) the branch
 * whose constants the value matches is taken, so the suggestions are the fields
 * of the bus type actually written.
 */
function schemaAt(value: unknown, path: readonly PathSegment[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = GatewayConfigSchema as unknown as SchemaNode
  let cur: unknown = value
  for (const seg of [...path, undefined]) {
    if (node?.anyOf) node = branchFor(node.anyOf, cur)
    if (seg === undefined || node === undefined) break
    node = typeof seg === 'number' ? node.items : node.properties?.[seg]
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[seg] : undefined
  }
  return node
}

function branchFor(branches: readonly SchemaNode[], value: unknown): SchemaNode | undefined {
  const v = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {}
  return branches.find((b) => {
    // The discriminating constants are the required ones (`type: rtu`), not optional ones (`dataBits: 8`).
    const consts = Object.entries(b.properties ?? {}).filter(([k, s]) => s.const !== undefined && (b.required ?? []).includes(k))
    return consts.length > 0 && consts.every(([k, s]) => v[k] === s.const)
  })
}

/** The reason to show for a schema violation at `path` of the document `value`. */
export function improveReason(value: unknown, path: readonly PathSegment[], reason: string): string {
  if (reason === 'unknown field') {
    if (path.length === 2 && path[0] === 'broker' && path[1] === 'password') return PASSWORD_IN_FILE
    const name = path.at(-1)
    const known = Object.keys(schemaAt(value, path.slice(0, -1))?.properties ?? {})
    const guess = typeof name === 'string' ? closest(name, known) : undefined
    return guess === undefined ? reason : `unknown field (did you mean "${guess}"?)`
  }
  const s = schemaAt(value, path)
  if (reason.startsWith('must match pattern') && s?.description !== undefined) return `${reason} (${s.description})`
  return reason
}
