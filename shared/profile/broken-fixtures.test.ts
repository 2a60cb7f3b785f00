/**
 * Every broken fixture has one defect, and the exact `file:line:column: field: reason`
 * it must produce. Line and column numbers are written by hand from the fixture
 * files, never computed by the code under test.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { formatIssue, parseProfile } from './parse.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DIR = 'shared/profile/__fixtures__/broken'

const CORE_TAGS = '(!!str, !!int, !!float, !!bool, !!null, !!map, !!seq)'
const PLAIN = 'profiles are plain YAML: write each value out in full'
const TYPES = '"bool", "bit", "int16", "uint16", "int32", "uint32", "float32", "float64", "string"'

/** Fixture path (relative to DIR) → the exact issues, in order. */
const EXPECTED: Record<string, string[]> = {
  // --- YAML ---
  'yaml-syntax@1.yaml': [':14:3: Flow map in block collection must be sufficiently indented and end with a }'],
  'duplicate-key@1.yaml': [':14:5: points[0].unit: duplicate key "unit" (map keys must be unique)'],
  'anchor-alias@1.yaml': [
    `:13:12: points[0].range: anchor &percent is not allowed; ${PLAIN}`,
    `:18:12: points[1].range: alias *percent is not allowed; ${PLAIN}`,
  ],
  'custom-tag@1.yaml': [`:11:14: points[0].address: tag !env is not allowed; only the YAML core schema is ${CORE_TAGS}`],
  'empty@1.yaml': [':1:1: the document is empty; a profile is a map with id, kind, vendor, model, firmware, protocol, points'],

  // --- schema ---
  'unknown-field@1.yaml': [':13:5: points[0].regsiters: unknown field (did you mean "registers"?)'],
  'missing-field@1.yaml': [':9:5: points[0].table: is required'],
  'missing-vendor@1.yaml': [':2:1: vendor: is required'],
  'bad-enum@1.yaml': [`:12:11: points[0].type: must be one of ${TYPES}`],
  'protocol-const@1.yaml': [':7:11: protocol: must be "modbus"'],
  'points-empty@1.yaml': [':8:9: points: must not have fewer than 1 items'],

  // --- identity ---
  'wrong-id@1.yaml': [':2:5: id: "wrong-name@1" does not match the file name wrong-id@1.yaml (the id is the file name without .yaml)'],
  'water-level/kind-folder@1.yaml': [':3:7: kind: manhole-cover does not match the folder water-level/ the file lives in'],

  // --- points ---
  'duplicate-name@1.yaml': [':13:11: points[1].name: "level_m" is already the name of points[0]'],
  'registers-mismatch@1.yaml': [':13:16: points[0].registers: float32 is 2 registers wide, not 1'],
  'string-no-registers@1.yaml': [':9:5: points[0].registers: is required for type string (2 ASCII characters per register)'],
  'bit-missing@1.yaml': [':9:5: points[0].bit: is required for type bit (0 = least significant)'],
  'bit-on-uint16@1.yaml': [':13:5: points[0].bit: only applies to type bit, not uint16'],
  'bool-on-register@1.yaml': [
    ':12:11: points[0].type: bool is for the coil and discrete tables; for one bit of a register in the input table use type bit',
  ],
  'float-on-discrete@1.yaml': [
    ':12:11: points[0].type: float32 needs an input or holding register; the discrete table holds single bits (use type bool)',
  ],
  'order-on-bit@1.yaml': [':18:5: points[1].order: does not apply to type bit'],
  'scale-on-bool@1.yaml': [':13:5: points[0].scale: does not apply to type bool'],
  'range-beyond-type@1.yaml': [':14:29: points[0].range.max: 500 is above 327.67, the highest value int16 can carry (raw 32767 × 0.01)'],
  'range-negative-scale@1.yaml': [
    ':15:19: points[0].range.min: -7000 is below -6453.5, the lowest value uint16 can carry (raw 65535 × -0.1 + 100)',
  ],
  'range-inverted@1.yaml': [':13:19: points[0].range.min: 10 is above range.max 5'],
  'sentinel-signed@1.yaml': [':13:17: points[0].sentinels[0]: 65535 does not fit int16 (-32768..32767); the same bits read as int16 are -1'],
  'sentinel-float32@1.yaml': [
    ':13:24: points[0].sentinels[1]: 0.1 is not exactly representable as float32 (nearest 0.10000000149011612), so no raw value would ever equal it',
  ],
  'readwrite-input@1.yaml': [
    ':13:13: points[0].access: readwrite is impossible: the input table is read-only (FC04); writable points live in holding registers or coils',
  ],
  'scale-zero@1.yaml': [':13:12: points[0].scale: must not be 0 (every value would equal the offset)'],
  'alarm-state-type@1.yaml': [
    ':14:23: points[0].alarm.state.value: must be a number for type uint16 (true and false are for bool and bit points)',
  ],
  'alarm-on-bool@1.yaml': [':14:7: points[0].alarm.hi: does not apply to type bool'],
  'alarm-order@1.yaml': [':15:11: points[0].alarm.hi: 3 is below alarm.lo 5; levels must be ordered lolo ≤ lo ≤ hi ≤ hihi'],
  'alarm-outside-range@1.yaml': [':16:13: points[0].alarm.hihi: 12 is above range.max 10; alarm levels must lie inside the valid range'],

  // --- layout ---
  'address-prefix@1.yaml': [
    ":12:14: points[0].address: address 40001 carries the Modicon prefix 4 (holding table) but the point's table is input",
  ],
  'span-past-end@1.yaml': [':11:14: points[0].address: float32 spans 2 registers from protocol address 65535 and runs past 65535'],
  'overlap@1.yaml': [':15:14: points[1].address: input register 1 is also read by points[0] "level_m" (float32)'],
  'bit-overlap@1.yaml': [':20:14: points[2].address: bit 0 of input register 3 is already points[1] "no_echo"'],
  'bit-in-uint32@1.yaml': [
    ':15:14: points[1].address: input register 5 is also read by points[0] "rain_tips" (uint32); ' +
      'a bit point may share its register only with other bits and one int16/uint16 status word',
  ],

  // --- quirks ---
  'quirk-too-wide@1.yaml': [':14:11: points[0].type: float32 spans 2 registers but quirks.maxRegistersPerRequest is 1, so it could never be read'],
  'forbidden-inverted@1.yaml': [':10:30: quirks.forbiddenRanges[0].start: 20 is after end 10'],
  'forbidden-covers@1.yaml': [':10:7: quirks.forbiddenRanges[0]: covers points[1] "distance_m" at input register 2, which could then never be read'],
}

function fixtures(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
    .map((e) => relative(join(ROOT, dir), join(e.parentPath, e.name)).split('\\').join('/'))
    .sort()
}

describe('broken fixture profiles', () => {
  it('has an expectation for every fixture file and a file for every expectation', () => {
    expect(fixtures(DIR)).toEqual(Object.keys(EXPECTED).sort())
  })

  it('has at least 15 fixtures, each with exactly one defect', () => {
    expect(Object.keys(EXPECTED).length).toBeGreaterThanOrEqual(15)
  })

  it.each(Object.entries(EXPECTED))('%s', (name, expected) => {
    const file = `${DIR}/${name}`
    const result = parseProfile(readFileSync(join(ROOT, file), 'utf8'), file)
    expect(result.ok).toBe(false)
    const got = result.ok ? [] : result.issues.map(formatIssue)
    expect(got).toEqual(expected.map((e) => `${file}${e}`))
  })
})
