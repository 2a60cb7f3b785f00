/**
 * A small JSON file next to the outbox, `{gateway}.state.json`, that says where a running
 * agent can be reached: its pid and its health URL. With `http.port: 0` the port is only
 * known once bound, so `muni edge status --config FILE` reads it from here. Written
 * whole (temp file + rename) once the health server listens, removed on a clean stop;
 * after a kill -9 it stays behind, and the next start overwrites it.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export interface AgentState {
  readonly pid: number
  /** `http://127.0.0.1:PORT` */
  readonly health: string
  /** ISO time of start. */
  readonly startedAt: string
}

/** Where the agent of `config` keeps its state file: beside its buffer, like its session file. */
export function stateFilePath(config: { readonly gateway: string; readonly buffer: { readonly path: string } }): string {
  return join(dirname(config.buffer.path), `${config.gateway}.state.json`)
}

export function writeAgentState(path: string, state: AgentState): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state)}\n`)
  renameSync(tmp, path)
}

/** The state, or undefined when there is no (readable) state file. */
export function readAgentState(path: string): AgentState | undefined {
  try {
    const s = JSON.parse(readFileSync(path, 'utf8')) as Partial<AgentState>
    return typeof s.health === 'string' && typeof s.pid === 'number' ? (s as AgentState) : undefined
  } catch {
    return undefined
  }
}

export function removeAgentState(path: string): void {
  rmSync(path, { force: true })
}
