/**
 * The agent's precompiled bundle: which command lines take it, that it is built and
 * reused, and that a Modbus-only agent never loads node-opcua (the OPC UA driver is a
 * chunk of its own, imported only for an OPC UA bus).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
// @ts-expect-error plain JavaScript (it runs before any TypeScript loader), without declarations
import { agentBundle, isAgentRun } from './agent-bundle.mjs'

const isRun = isAgentRun as (argv: string[]) => boolean
const bundle = agentBundle as () => string | undefined

describe('the agent bundle', () => {
  it.each([
    [['edge', 'run', '--config', 'g.yaml'], true],
    [['edge', 'run', '--help'], false],
    [['edge', 'run', '-h'], false],
    [['edge', 'status', '--config', 'g.yaml'], false],
    [['profiles', 'list'], false],
  ])('%j takes it: %s', (argv, expected) => {
    expect(isRun(argv)).toBe(expected)
  })

  it('is built once and then reused; the entry does not import node-opcua, the OPC UA chunk does', () => {
    const url = bundle()
    expect(url).toMatch(/node_modules\/\.cache\/muni-edge-agent\.mjs$/)
    const path = fileURLToPath(url!)
    const built = statSync(path).mtimeMs
    expect(bundle()).toBe(url)
    expect(statSync(path).mtimeMs).toBe(built)
    const chunks = readdirSync(dirname(path)).filter((f) => /^muni-edge-agent.*\.mjs$/.test(f))
    const importing = chunks.filter((f) => /from\s*"node-opcua"/.test(readFileSync(join(dirname(path), f), 'utf8')))
    expect(importing).toHaveLength(1)
    expect(importing[0]).toMatch(/^muni-edge-agent-driver-/)
  })
})
