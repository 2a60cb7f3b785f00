import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildLibrary, formatIssue, parseProfile, type ParseResult } from './parse.ts'

/** Lines of YAML joined, so a test can count lines by eye. */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`

const HEADER = (id: string, extra: string[] = []): string[] => [
  `id: ${id}`,
  'kind: water-level',
  'vendor: Test Vendor',
  'model: T1',
  'firmware: "1"',
  'protocol: modbus',
  ...extra,
  'points:',
]

function ok(r: ParseResult): Extract<ParseResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected a valid profile, got:\n${r.issues.map(formatIssue).join('\n')}`)
  return r
}

function issues(r: ParseResult): string[] {
  if (r.ok) throw new Error('expected issues, got a valid profile')
  return r.issues.map(formatIssue)
}

describe('formatIssue', () => {
  it('writes file:line:column: field: reason', () => {
    expect(formatIssue({ file: 'a/b.yaml', line: 3, column: 7, field: 'points[3].type', reason: 'bad' })).toBe('a/b.yaml:3:7: points[3].type: bad')
  })
  it('leaves the field out for the whole document', () => {
    expect(formatIssue({ file: 'b.yaml', line: 1, column: 1, field: '', reason: 'empty' })).toBe('b.yaml:1:1: empty')
  })
})

describe('parseProfile: valid profiles and resolution', () => {
  it('fills every default', () => {
    const r = ok(parseProfile(yaml(...HEADER('t-defaults@1'), '  - name: level_m', '    table: input', '    address: 7', '    type: float32'), 't-defaults@1.yaml'))
    expect(r.profile.points[0]?.address).toBe(7)
    expect(r.resolved.quirks).toEqual({
      maxRegistersPerRequest: 125,
      maxBitsPerRequest: 2000,
      oneRequestPerField: false,
      pauseBetweenRequestsMs: 0,
      turnaroundMs: 0,
      forbiddenRanges: [],
    })
    expect(r.resolved.points[0]).toEqual({
      name: 'level_m',
      table: 'input',
      address: 7,
      registers: 2,
      type: 'float32',
      order: 'ABCD',
      scale: 1,
      offset: 0,
      access: 'read',
      sentinels: [],
      poll: 'fast',
    })
    expect(Object.isFrozen(r.resolved)).toBe(true)
    expect(Object.isFrozen(r.profile.points[0])).toBe(true)
  })

  it('takes order and poll from profile defaults, and a point overrides them', () => {
    const r = ok(parseProfile(yaml(
      ...HEADER('t-defaults@2', ['defaults:', '  order: CDAB', '  poll: slow']),
      '  - name: level_m',
      '    table: holding',
      '    address: 0',
      '    type: float32',
      '  - name: pressure_bar',
      '    table: holding',
      '    address: 2',
      '    type: float32',
      '    order: ABCD',
      '    poll: fast',
    ), 't-defaults@2.yaml'))
    expect(r.resolved.points.map((p) => [p.name, p.order, p.poll])).toEqual([
      ['level_m', 'CDAB', 'slow'],
      ['pressure_bar', 'ABCD', 'fast'],
    ])
  })

  it('resolves addressBase 1 in plain, 5-digit (40001) and 6-digit (400001) Modicon style', () => {
    const r = ok(parseProfile(yaml(
      ...HEADER('t-base1@1', ['addressBase: 1', 'quirks:', '  forbiddenRanges:', '    - { table: holding, start: 40100, end: 40109 }']),
      '  - { name: h5, table: holding, address: 40001, type: uint16 }',
      '  - { name: h6, table: holding, address: 400002, type: uint16 }',
      '  - { name: h6_high, table: holding, address: 465536, type: uint16 }',
      '  - { name: i5, table: input, address: 30001, type: float32 }',
      '  - { name: i_plain, table: input, address: 5, type: uint16 }',
      '  - { name: d5, table: discrete, address: 10003, type: bool }',
      '  - { name: c_plain, table: coil, address: 1, type: bool }',
    ), 't-base1@1.yaml'))
    expect(r.resolved.points.map((p) => [p.name, p.table, p.address])).toEqual([
      ['h5', 'holding', 0],
      ['h6', 'holding', 1],
      ['h6_high', 'holding', 65535],
      ['i5', 'input', 0],
      ['i_plain', 'input', 4],
      ['d5', 'discrete', 2],
      ['c_plain', 'coil', 0],
    ])
    expect(r.resolved.quirks.forbiddenRanges).toEqual([{ table: 'holding', start: 99, end: 108 }])
  })

  it('keeps addressBase 0 addresses as they are', () => {
    const r = ok(parseProfile(yaml(...HEADER('t-base0@1'), '  - { name: h, table: holding, address: 40001, type: uint16 }'), 't-base0@1.yaml'))
    expect(r.resolved.points[0]?.address).toBe(40001)
  })

  it('allows bits of one register next to one 16-bit status word', () => {
    const r = ok(parseProfile(yaml(
      ...HEADER('t-bits@1'),
      '  - { name: status, table: input, address: 3, type: int16 }',
      '  - { name: b0, table: input, address: 3, type: bit, bit: 0 }',
      '  - { name: b15, table: input, address: 3, type: bit, bit: 15 }',
    ), 't-bits@1.yaml'))
    expect(r.resolved.points.map((p) => p.registers)).toEqual([1, 1, 1])
  })

  it('accepts core-schema tags such as !!str', () => {
    const text = yaml('id: t-tag@1', 'kind: water-level', 'vendor: V', 'model: M', 'firmware: !!str 1.10', 'protocol: modbus', 'points:', '  - { name: a, table: input, address: 0, type: uint16 }')
    expect(ok(parseProfile(text, 't-tag@1.yaml')).profile.firmware).toBe('1.10')
  })

  it('does not check the kind when the folder is not named after a kind', () => {
    ok(parseProfile(yaml(...HEADER('t-folder@1'), '  - { name: a, table: input, address: 0, type: uint16 }'), 'somewhere/else/t-folder@1.yaml'))
    ok(parseProfile(yaml(...HEADER('t-folder@1'), '  - { name: a, table: input, address: 0, type: uint16 }'), 'firmware-profiles\\water-level\\t-folder@1.yaml'))
  })
})

describe('parseProfile: issues', () => {
  it('reports every point\'s schema errors, sorted by position, past TypeBox\'s 8-error cap', () => {
    const text = yaml(
      ...HEADER('t-many@1'),
      ...Array.from({ length: 10 }, (_, i) => `  - { name: p${i}, table: input, address: 0, type: nope }`),
    )
    const got = issues(parseProfile(text, 't-many@1.yaml'))
    expect(got).toHaveLength(10)
    expect(got[0]).toBe('t-many@1.yaml:8:49: points[0].type: must be one of "bool", "bit", "int16", "uint16", "int32", "uint32", "float32", "float64", "string"')
    expect(got[9]?.startsWith('t-many@1.yaml:17:49: points[9].type: ')).toBe(true)
  })

  it('points an unknown top-level field at its key, and a union at every type it accepts', () => {
    const text = yaml(
      ...HEADER('t-union@1', ['colour: red']),
      '  - name: a',
      '    table: input',
      '    address: 0',
      '    type: uint16',
      '    alarm:',
      '      state: { value: open, severity: major }',
    )
    expect(issues(parseProfile(text, 't-union@1.yaml'))).toEqual([
      't-union@1.yaml:7:1: colour: unknown field',
      't-union@1.yaml:14:23: points[0].alarm.state.value: must be boolean or number',
    ])
  })

  it('rejects multiple documents', () => {
    const text = yaml(...HEADER('t-multi@1'), '  - { name: a, table: input, address: 0, type: uint16 }', '---', 'id: other@1')
    expect(issues(parseProfile(text, 't-multi@1.yaml'))).toEqual([
      't-multi@1.yaml:9:1: Source contains multiple documents; please use YAML.parseAllDocuments()',
    ])
  })

  it('rejects a document that is not a map', () => {
    expect(issues(parseProfile('- a\n- b\n', 'x@1.yaml'))).toEqual(['x@1.yaml:1:1: must be object'])
  })

  it('rejects non-scalar map keys without crashing', () => {
    expect(issues(parseProfile('? [a, b]\n: 1\n', 'x@1.yaml'))).toEqual(['x@1.yaml:1:3: map keys must be plain scalars'])
  })

  it('does not crash on an alias to an undefined anchor', () => {
    expect(issues(parseProfile('id: *nope\n', 'x@1.yaml'))[0]).toMatch(/^x@1\.yaml:1:5: /)
  })

  it('reports several semantic issues of one file in position order', () => {
    const text = yaml(
      ...HEADER('t-several@1'),
      '  - { name: a, table: input, address: 0, type: float32, access: readwrite }',
      '  - { name: a, table: input, address: 1, type: uint16 }',
    )
    expect(issues(parseProfile(text, 't-several@1.yaml'))).toEqual([
      't-several@1.yaml:8:65: points[0].access: readwrite is impossible: the input table is read-only (FC04); writable points live in holding registers or coils',
      't-several@1.yaml:9:13: points[1].name: "a" is already the name of points[0]',
      't-several@1.yaml:9:39: points[1].address: input register 1 is also read by points[0] "a" (float32)',
    ])
  })
})

describe('parseProfile: stuck', () => {
  it('resolves stuck onto the point, and leaves it out when absent', () => {
    const r = ok(parseProfile(yaml(
      ...HEADER('t-stuck@1'),
      '  - { name: level_m, table: input, address: 0, type: uint16, scale: 0.001, range: { min: 0, max: 10 }, stuck: { afterS: 3600, except: [0] } }',
      '  - { name: distance_m, table: input, address: 1, type: uint16 }',
    ), 't-stuck@1.yaml'))
    expect(r.resolved.points[0]?.stuck).toEqual({ afterS: 3600, except: [0] })
    expect(Object.isFrozen(r.resolved.points[0]?.stuck?.except)).toBe(true)
    expect(r.resolved.points[1]).not.toHaveProperty('stuck')
  })

  it('names file:line:column and field for every stuck mistake', () => {
    const text = yaml(
      ...HEADER('t-stuck-bad@1'),
      '  - { name: a, table: input, address: 0, type: uint16, stuck: { afterS: 0 } }',
      '  - { name: b, table: input, address: 1, type: uint16, stuck: { after: 60 } }',
      '  - { name: c, table: input, address: 2, type: bit, bit: 0, stuck: { afterS: 60 } }',
      '  - { name: d, table: input, address: 3, type: uint16, scale: 0.1, range: { max: 10 }, sentinels: [65535], stuck: { afterS: 60, except: [11] } }',
    )
    expect(issues(parseProfile(text, 't-stuck-bad@1.yaml'))).toEqual([
      't-stuck-bad@1.yaml:8:73: points[0].stuck.afterS: must be > 0',
      't-stuck-bad@1.yaml:9:63: points[1].stuck.afterS: is required',
      't-stuck-bad@1.yaml:9:65: points[1].stuck.after: unknown field (did you mean "afterS"?)',
      // The points that passed the schema are still checked for meaning in the same run.
      't-stuck-bad@1.yaml:10:61: points[2].stuck: does not apply to type bit',
      't-stuck-bad@1.yaml:11:138: points[3].stuck.except[0]: 11 is above range.max 10; the point never reports it',
    ])
    const semantic = yaml(
      ...HEADER('t-stuck-sem@1'),
      '  - { name: c, table: input, address: 2, type: bit, bit: 0, stuck: { afterS: 60 } }',
      '  - { name: d, table: input, address: 3, type: uint16, scale: 0.1, range: { min: 0 }, sentinels: [65535], stuck: { afterS: 60, except: [-1, 6553.5] } }',
    )
    expect(issues(parseProfile(semantic, 't-stuck-sem@1.yaml'))).toEqual([
      't-stuck-sem@1.yaml:8:61: points[0].stuck: does not apply to type bit',
      't-stuck-sem@1.yaml:9:137: points[1].stuck.except[0]: -1 is below range.min 0; the point never reports it',
      't-stuck-sem@1.yaml:9:141: points[1].stuck.except[1]: 6553.5 is a sentinel\'s value; a sentinel is already an error, never a value',
    ])
  })
})

describe('buildLibrary', () => {
  const profile = (id: string): string => yaml(...HEADER(id), '  - { name: a, table: input, address: 0, type: uint16 }')

  it('keys profiles by id and collects every file\'s issues', () => {
    const lib = buildLibrary([
      { file: 'water-level/b@1.yaml', text: profile('b@1') },
      { file: 'water-level/a@1.yaml', text: profile('a@1') },
      { file: 'water-level/c@1.yaml', text: profile('wrong@1') },
    ])
    expect([...lib.profiles.keys()]).toEqual(['a@1', 'b@1'])
    expect(lib.issues.map(formatIssue)).toEqual([
      'water-level/c@1.yaml:1:5: id: "wrong@1" does not match the file name c@1.yaml (the id is the file name without .yaml)',
    ])
  })

  it('flags the same id in two files, whatever order they come in', () => {
    const sources = [
      { file: 'site-b/x@1.yaml', text: profile('x@1') },
      { file: 'site-a/x@1.yaml', text: profile('x@1') },
    ]
    for (const s of [sources, [...sources].reverse()]) {
      const lib = buildLibrary(s)
      expect([...lib.profiles.keys()]).toEqual(['x@1'])
      expect(lib.issues.map(formatIssue)).toEqual(['site-b/x@1.yaml:1:5: id: "x@1" is also the id of site-a/x@1.yaml'])
    }
  })
})

describe('parseProfile never throws', () => {
  const shipped = readFileSync(fileURLToPath(new URL('../../firmware-profiles/water-level/hydrolux-rl80@2.3.yaml', import.meta.url)), 'utf8')

  it('on every truncation of a real profile', () => {
    for (let n = 0; n <= shipped.length; n += 7) {
      const r = parseProfile(shipped.slice(0, n), 'hydrolux-rl80@2.3.yaml')
      if (!r.ok) for (const i of r.issues) expect(i.line).toBeGreaterThanOrEqual(1)
    }
  })

  it('on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 200 }), (text) => {
      const r = parseProfile(text, 'x@1.yaml')
      return r.ok || r.issues.length > 0
    }), { numRuns: 300 })
  })

  it('on real profiles with one line deleted', () => {
    const lines = shipped.split('\n')
    for (let k = 0; k < lines.length; k++) {
      const r = parseProfile([...lines.slice(0, k), ...lines.slice(k + 1)].join('\n'), 'hydrolux-rl80@2.3.yaml')
      expect(r.ok || r.issues.length > 0).toBe(true)
    }
  })
})
