/**
 * What the agent's end-to-end tests share: shipped profiles, simulated values that change
 * on every read (so report-by-exception sends every sweep), the agent started as a child
 * process with its health URL read from its first line, and what a gateway published,
 * decoded with shared/mqtt as the cloud decodes it.
 */
import { encodePoint, type Value } from '../../../shared/codec/index.ts'
import { decode, type Birth, type State, type TelemetryBatch } from '../../../shared/mqtt/index.ts'
import type { ResolvedProfile } from '../../../shared/profile/resolve.ts'
import type { Collector } from '../../../simulators/test-support/broker.ts'
import type { MuniProcess, MuniProcesses } from '../../../simulators/test-support/muni-process.ts'
import { loadProfiles } from '../../profiles/load.ts'

export const library = loadProfiles().profiles
export const profile = (id: string): ResolvedProfile => {
  const p = library.get(id)
  if (!p) throw new Error(`no shipped profile ${id}`)
  return p
}

/** Numbers that swing between 30 % and 70 % of each readable point's range on every read, so report-by-exception sends every sweep. */
export function swinging(p: ResolvedProfile): () => Record<string, Value> {
  let n = 0
  return () => {
    n++
    const out: Record<string, Value> = {}
    for (const pt of p.points) {
      if (pt.type === 'bool' || pt.type === 'string') continue
      const min = pt.range?.min ?? 0
      const max = pt.range?.max ?? 100
      for (const share of [n % 2 === 0 ? 0.3 : 0.7, n % 2 === 0 ? 0.25 : 0.75]) {
        const v = Math.round(min + (max - min) * share)
        if (encodePoint(pt, v).ok) {
          out[pt.name] = v
          break
        }
      }
    }
    return out
  }
}

export interface Seen {
  births: Birth[]
  states: State[]
  batches: TelemetryBatch[]
}

/** Decodes everything the gateway published; a message that does not decode fails the test. */
export function decoded(c: Collector): Seen {
  const seen: Seen = { births: [], states: [], batches: [] }
  for (const m of c.messages) {
    const r = decode(m.topic, m.payload)
    if (!r.ok) throw new Error(`undecodable ${m.topic}: ${JSON.stringify(r)}`)
    if (r.kind === 'birth') seen.births.push(r.message)
    else if (r.kind === 'state') seen.states.push(r.message)
    else if (r.kind === 'telemetry') seen.batches.push(r.message)
  }
  return seen
}

export async function getText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) })
  return res.text()
}

/** `muni edge run --config FILE` as a child of `procs`; resolves once it printed its health URL. */
export async function runAgent(procs: MuniProcesses, config: string): Promise<{ proc: MuniProcess; health: string }> {
  const proc = procs.spawn(['edge', 'run', '--config', config])
  // Generous: on a loaded 2-core machine loading the agent alone can take several seconds.
  const [line] = await proc.lines(1, 40_000)
  const m = /^health (http:\/\/127\.0\.0\.1:\d+)$/.exec(line ?? '')
  if (!m?.[1]) throw new Error(`unexpected first line ${JSON.stringify(line)}; stderr ${proc.stderr()}`)
  return { proc, health: m[1] }
}

