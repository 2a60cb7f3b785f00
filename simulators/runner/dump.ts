/**
 * `muni sim --dump`: the register images a run would serve, without serving them.
 * One NDJSON line per device per dump time:
 *
 *   {"t":60,"device":"wl-gqm-01","unit":1,"fault":"none",
 *    "values":{"level_m":0.0123,…},
 *    "registers":{"holding":{"0":"3c49 ba5e …","9":"0000 0000"},"discrete":{"0":"01"}}}
 *
 * - `t`: simulated seconds; `values`: the engineering values written (model output
 *   through the binding, before the codec's rounding); `fault`: what is in force.
 * - `registers`: per table, each run of consecutive addresses the profile maps, keyed
 *   by its first 0-based protocol address: 16-bit words as 4 hex digits, or one `0`/`1`
 *   per coil or discrete input. Raw image content: faults that change answers on the
 *   wire (noise, wrong order, exceptions) are not applied here.
 *
 * Deterministic: two dumps with the same arguments are byte-identical.
 */
import { TABLES, type Table } from '../../shared/profile/schema.ts'
import { isBitTable, type ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { SimEntity } from './entity.ts'
import type { Simulation } from './simulation.ts'

/** Runs of consecutive mapped addresses per table: [table, start, count]. */
export function mappedRuns(profile: Pick<ResolvedProfile, 'points'>): [Table, number, number][] {
  const runs: [Table, number, number][] = []
  for (const table of TABLES) {
    const addresses = new Set<number>()
    for (const p of profile.points) if (p.table === table) for (let a = p.address; a < p.address + p.registers; a++) addresses.add(a)
    const sorted = [...addresses].sort((a, b) => a - b)
    let start: number | undefined
    let prev = -2
    for (const a of sorted) {
      if (a !== prev + 1) {
        if (start !== undefined) runs.push([table, start, prev - start + 1])
        start = a
      }
      prev = a
    }
    if (start !== undefined) runs.push([table, start, prev - start + 1])
  }
  return runs
}

/** The register image of one device as the dump prints it. */
export function registerImage(entity: SimEntity): Partial<Record<Table, Record<string, string>>> {
  const out: Partial<Record<Table, Record<string, string>>> = {}
  for (const [table, start, count] of mappedRuns(entity.spec.profile)) {
    const words = entity.device.words(table, start, count)
    const text = isBitTable(table) ? words.map((b) => (b ? '1' : '0')).join('') : words.map((w) => w.toString(16).padStart(4, '0')).join(' ')
    ;(out[table] ??= {})[String(start)] = text
  }
  return out
}

/** One dump line for one device at the simulation's current time. */
export function dumpLine(sim: Simulation, entity: SimEntity): string {
  return JSON.stringify({
    t: sim.timeS,
    device: entity.id,
    unit: entity.spec.unit,
    fault: entity.describeFault(),
    values: entity.values,
    registers: registerImage(entity),
  })
}

/**
 * Dump lines from t = 0 to `durationS` every `everyS` simulated seconds (each time
 * rounded down to the simulation's step), devices in plan order.
 */
export function* dumpLines(sim: Simulation, durationS: number, everyS: number): Generator<string> {
  if (!(everyS > 0)) throw new RangeError(`dump interval must be > 0 s, got ${everyS}`)
  const n = Math.floor(durationS / everyS + 1e-9)
  for (let k = 0; k <= n; k++) {
    sim.advanceTo(k * everyS)
    for (const e of sim.entities.values()) yield dumpLine(sim, e)
  }
}
