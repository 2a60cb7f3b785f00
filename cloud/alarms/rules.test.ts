import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseProfile } from '../../shared/profile/parse.ts'
import type { Profile } from '../../shared/profile/schema.ts'
import { formatIssue } from '../../shared/yaml/issue.ts'
import { defaultRules, hintConflicts, parseRules, profileRules, resolveRules, type DeviceRef, type Rule, type RuleSet } from './rules.ts'

const ROOT = join(import.meta.dirname, '../../firmware-profiles')
const profiles: Profile[] = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(join(ROOT, d.name)).map((f) => join(ROOT, d.name, f)))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => {
    const r = parseProfile(readFileSync(f, 'utf8'), f)
    if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'))
    return r.profile
  })
const profile = (id: string): Profile => profiles.find((p) => p.id === id) as Profile
const byId = (rules: readonly Rule[], id: string): Rule | undefined => rules.find((r) => r.id === id)

describe('defaults from the profiles’ alarm hints', () => {
  it('one profile: threshold, trend, rate, state, quality and stale rules', () => {
    const aqua = profileRules(profile('aquameter-us12@1.7'))
    expect(byId(aqua, 'level_m.threshold')).toEqual({ id: 'level_m.threshold', kind: 'threshold', point: 'level_m', unit: 'm', levels: { hihi: { value: 3.2 }, hi: { value: 2.5 } }, deadband: 0.05 })
    expect(byId(aqua, 'level_m.trend')).toMatchObject({ kind: 'trend', direction: 'up', threshold: 2.5, horizonS: 1800, severity: 'warning' })
    expect(byId(aqua, 'blocking_distance.state')).toEqual({ id: 'blocking_distance.state', kind: 'state', point: 'blocking_distance', states: [{ value: true, severity: 'critical' }] })
    expect(byId(aqua, 'level_m.quality')).toMatchObject({ kind: 'quality', forReadings: 3 })
    expect(byId(aqua, 'stale')).toEqual({ id: 'stale', kind: 'stale', expectedIntervalS: 900, factor: 3, severity: 'major' })
    expect(byId(aqua, 'battery_pct.trend')).toBeUndefined() // trends only toward a water level's hi

    const ptx = profileRules(profile('presstek-ptx40@5.2'))
    expect(byId(ptx, 'pressure_bar.rate')).toEqual({ id: 'pressure_bar.rate', kind: 'rate', point: 'pressure_bar', unit: 'bar', direction: 'down', change: 1, windowS: 60, severity: 'critical' })
    expect(byId(ptx, 'stale')).toMatchObject({ expectedIntervalS: 600 })
    expect(byId(profileRules(profile('cividrain-mc200@2.1')), 'cover_open.state')).toMatchObject({ states: [{ value: true, severity: 'critical' }] })
  })

  it('per kind: profiles merged in id order, stale after the longest heartbeat', () => {
    const d = defaultRules(profiles)
    expect(byId(d['pipe-pressure'], 'pressure_bar.rate')).toMatchObject({ change: 1, windowS: 60 }) // presstek < vitaflow
    expect(byId(d['pipe-pressure'], 'stale')).toMatchObject({ expectedIntervalS: 900 })
    expect(byId(d['water-level'], 'level_m.rate')).toMatchObject({ direction: 'up', change: 0.5 }) // only hydrolux hints a rate
    expect(byId(d['manhole-cover'], 'cover_open.state')).toBeDefined()
  })

  it('lists the points whose hints differ between profiles of a kind (why devices use their own profile first)', () => {
    expect(hintConflicts(profiles)).toContain('pipe-pressure/pressure_bar: presstek-ptx40@5.2 and vitaflow-pg7@1.0.3 differ')
  })
})

const RULES = `
defaults:
  water-level:
    - id: level_m.threshold
      kind: threshold
      point: level_m
      unit: m
      levels: { hi: { value: 0.5 } }
      deadband: 0.05
overrides:
  # a device override first in the file still beats the site and asset ones below
  - match: { device: wl-gqm-01, gateway: gw-gqm }
    rules:
      - { id: level_m.threshold, kind: threshold, point: level_m, levels: { hi: { value: 0.25 } } }
    disable: [level_m.trend]
  - match: { site: dongcheng }
    rules:
      - { id: level_m.threshold, kind: threshold, point: level_m, levels: { hi: { value: 0.4 } } }
  - match: { asset: UP-GQM }
    rules:
      - { id: level_m.threshold, kind: threshold, point: level_m, levels: { hi: { value: 0.3 } } }
  - match: { site: dongcheng }
    rules:
      - { id: level_m.threshold, kind: threshold, point: level_m, levels: { hi: { value: 0.45 } } }
  - match: { site: dongcheng, kind: pipe-pressure }
    disable: [stale]
    rules:
      - { id: pressure_bar.surge, kind: rate, point: pressure_bar, direction: up, change: 1.5, windowS: 10, severity: major }
`

describe('parseRules + resolveRules: precedence', () => {
  const parsed = parseRules(RULES, 'rules.yaml', profiles)
  it('parses', () => {
    expect(parsed.issues.map(formatIssue)).toEqual([])
  })
  const set = parsed.rules as RuleSet
  const wl = (d: Partial<DeviceRef>): DeviceRef => ({ site: 'dongcheng', gateway: 'gw-gqm', device: 'wl-x', kind: 'water-level', profile: 'aquameter-us12@1.7', ...d })
  const hi = (rules: readonly Rule[]): number | undefined => {
    const r = byId(rules, 'level_m.threshold')
    return r?.kind === 'threshold' ? r.levels.hi?.value : undefined
  }

  it.each([
    { name: 'device override (layer 5)', device: wl({ device: 'wl-gqm-01', asset: 'UP-GQM' }), hi: 0.25, trend: false },
    { name: 'asset override (layer 4) beats site', device: wl({ device: 'wl-gqm-02', asset: 'UP-GQM' }), hi: 0.3, trend: true },
    { name: 'site: the later site override wins', device: wl({}), hi: 0.45, trend: true },
    { name: 'the device override is narrowed by gateway', device: wl({ device: 'wl-gqm-01', gateway: 'gw-other' }), hi: 0.45, trend: true },
    { name: 'another site: the file default (layer 2)', device: wl({ site: 'xicheng' }), hi: 0.5, trend: true },
    { name: 'unknown profile: kind defaults + file default', device: wl({ site: 'xicheng', profile: 'nobody@1' }), hi: 0.5, trend: true },
  ])('$name', ({ device, hi: expected, trend }) => {
    const rules = resolveRules(set, device)
    expect(hi(rules)).toBe(expected)
    expect(byId(rules, 'level_m.trend') !== undefined).toBe(trend)
    expect(byId(rules, 'stale')).toBeDefined()
  })

  it('the profile’s own hints are layer 1: hydrolux has hihi 3.5 and a rate rule, aquameter neither', () => {
    const hydro = resolveRules(set, wl({ site: 'xicheng', profile: 'hydrolux-rl80@2.3' }))
    expect(byId(hydro, 'level_m.rate')).toBeDefined()
    const aqua = resolveRules(set, wl({ site: 'xicheng' }))
    expect(byId(aqua, 'level_m.rate')).toBeUndefined()
  })

  it('kind narrows an override: pipe-pressure devices in dongcheng lose stale and gain a surge rule', () => {
    const pp: DeviceRef = { site: 'dongcheng', gateway: 'gw-gqm', device: 'pp-gqm-01', kind: 'pipe-pressure', profile: 'presstek-ptx40@5.2' }
    const rules = resolveRules(set, pp)
    expect(byId(rules, 'stale')).toBeUndefined()
    expect(byId(rules, 'pressure_bar.surge')).toMatchObject({ direction: 'up' })
    expect(byId(rules, 'pressure_bar.rate')).toMatchObject({ change: 1 })
    expect(byId(resolveRules(set, { ...pp, site: 'xicheng' }), 'stale')).toBeDefined()
  })

  it('an empty file is valid: profile defaults only', () => {
    const r = parseRules('', 'empty.yaml', profiles)
    expect(r.issues).toEqual([])
    expect(resolveRules(r.rules as RuleSet, wl({})).map((x) => x.id)).toEqual(profileRules(profile('aquameter-us12@1.7')).map((x) => x.id))
  })
})

describe('parseRules: file:line:column: field: reason', () => {
  it.each([
    {
      name: 'unknown field',
      text: 'overrides:\n  - match: { site: a }\n    rulez: []\n',
      issues: ['r.yaml:3:5: overrides[0].rulez: unknown field'],
    },
    {
      name: 'wrong severity',
      text: 'defaults:\n  pipe-pressure:\n    - { id: p.rate, kind: rate, point: pressure_bar, direction: down, change: 1, windowS: 60, severity: high }\n',
      issues: ['r.yaml:3:105: defaults.pipe-pressure[0].severity: must be one of "critical", "major", "minor", "warning", "indeterminate"'],
    },
    {
      name: 'unknown rule kind',
      text: 'defaults:\n  water-level:\n    - { id: x, kind: average, point: level_m }\n',
      issues: ['r.yaml:3:22: defaults.water-level[0].kind: must be one of "threshold", "rate", "trend", "state", "stale", "quality"'],
    },
    {
      name: 'levels out of order, and a clear level on the wrong side',
      text: [
        'defaults:',
        '  water-level:',
        '    - id: level_m.threshold',
        '      kind: threshold',
        '      point: level_m',
        '      levels:',
        '        hi: { value: 2.5, clear: 2.6 }',
        '        hihi: { value: 2.0 }',
        '',
      ].join('\n'),
      issues: [
        'r.yaml:8:24: defaults.water-level[0].levels.hihi.value: must not be below hi (2.5)',
        'r.yaml:7:34: defaults.water-level[0].levels.hi.clear: must be at or below value (2.5)',
      ],
    },
    {
      name: 'a point no profile of the kind has',
      text: 'defaults:\n  water-level:\n    - { id: x.state, kind: state, point: cover_open, states: [{ value: true, severity: major }] }\n',
      issues: ['r.yaml:3:42: defaults.water-level[0].point: no water-level profile has a point cover_open'],
    },
    {
      name: 'a match with two keys; gateway without device; duplicate ids',
      text: [
        'overrides:',
        '  - match: { site: a, asset: b }',
        '    disable: [stale]',
        '  - match: { site: a, gateway: g }',
        '    rules:',
        '      - { id: s, kind: stale, expectedIntervalS: 60 }',
        '      - { id: s, kind: stale, expectedIntervalS: 90 }',
        '',
      ].join('\n'),
      issues: ['r.yaml:2:12: overrides[0].match: needs exactly one of site, asset, device', 'r.yaml:4:23: overrides[1].match.gateway: gateway narrows a device match; add device', 'r.yaml:7:15: overrides[1].rules[1].id: duplicate rule id s'],
    },
    {
      name: 'broken YAML',
      text: 'overrides:\n  - match: { site: a\n',
      issues: ['r.yaml:3:1: '],
    },
  ])('$name', ({ text, issues }) => {
    const r = parseRules(text, 'r.yaml', profiles)
    expect(r.rules).toBeUndefined()
    const got = r.issues.map(formatIssue)
    if (issues[0]?.endsWith(': ')) expect(got[0]?.startsWith(issues[0])).toBe(true)
    else expect(got).toEqual(issues)
  })
})
