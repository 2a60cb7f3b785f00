/**
 * The demo's rules file, read by the cloud's own parser and compared with the cloud's
 * own profile defaults: the same rules with every duration divided by the speed. A
 * change to the cloud's defaults (cloud/alarms/rules.ts) fails here, not in the demo.
 */
import { describe, expect, it } from 'vitest'
import { readProfiles } from '../../cloud/alarms/load.ts'
import { parseRules, profileRules, resolveRules, type Rule } from '../../cloud/alarms/rules.ts'
import { demoRules } from './demo-rules.ts'

const { profiles } = readProfiles()
const byId = new Map(profiles.map((p) => [p.id, p]))
const played = [
  { device: 'wl-gqm-01', gateway: 'gw-guangqumen', profile: 'hydrolux-rl80@2.3' },
  { device: 'wl-cwm-01', gateway: 'gw-guangqumen', profile: 'aquameter-us12@1.7' },
  { device: 'mh-gqm-06', gateway: 'gw-guangqumen', profile: 'cividrain-mc200@2.1' },
]
const TIMES = ['windowS', 'horizonS', 'clearHorizonS', 'etaToleranceS', 'onDelayS', 'offDelayS'] as const

/** A rule with its time fields divided by `speed` (the trend's defaults written out). */
function scaled(r: Rule, speed: number): Rule {
  const out: Record<string, unknown> = { ...r, ...(r.kind === 'trend' ? { etaToleranceS: r.etaToleranceS ?? 60 } : {}) }
  for (const k of TIMES) if (typeof out[k] === 'number') out[k] = (out[k] as number) / speed
  return out as unknown as Rule
}

describe('demoRules', () => {
  it("is the profiles' default rules with every duration divided by the speed, on the played devices only", () => {
    const r = demoRules(played, 60, byId, 'storm')
    expect(r?.devices).toEqual(['wl-gqm-01', 'wl-cwm-01']) // the cover's rules have no durations
    expect(r?.text).toMatch(/^# Written by `muni demo`\. A DEMO SETTING/)
    const parsed = parseRules(r?.text ?? '', 'demo-rules.yaml', profiles)
    expect(parsed.issues).toEqual([])
    const set = parsed.rules!
    for (const d of played) {
      const profile = byId.get(d.profile)!
      const defaults = profileRules(profile)
      const resolved = resolveRules(set, { gateway: d.gateway, device: d.device, site: 'dc-south', kind: profile.kind, profile: d.profile })
      expect(resolved.map((x) => x.id).sort()).toEqual(defaults.map((x) => x.id).sort())
      for (const rule of resolved) {
        const base = defaults.find((x) => x.id === rule.id)!
        const timed = base.kind === 'trend' || base.kind === 'rate'
        expect(rule, `${d.device} ${rule.id}`).toEqual(timed ? scaled(base, 60) : base)
      }
    }
    // The hydrolux gauge: a 15 s trend window toward hi 2.5 m, and its 0.5 m / 10 min rate hint in 10 s.
    const gauge = resolveRules(set, { gateway: 'gw-guangqumen', device: 'wl-gqm-01', site: 'dc-south', kind: 'water-level', profile: 'hydrolux-rl80@2.3' })
    expect(gauge.find((x) => x.id === 'level_m.trend')).toMatchObject({ threshold: 2.5, windowS: 15, horizonS: 30, minPoints: 6 })
    expect(gauge.find((x) => x.id === 'level_m.rate')).toMatchObject({ change: 0.5, windowS: 10 })
    // Another device of the same profile keeps the defaults.
    const other = resolveRules(set, { gateway: 'gw-dongzhimen', device: 'wl-dzm-01', site: 'dc-north', kind: 'water-level', profile: 'hydrolux-rl80@2.3' })
    expect(other).toEqual(profileRules(byId.get('hydrolux-rl80@2.3')!))
  })

  it('writes nothing when no played device has a time-based rule', () => {
    expect(demoRules([played[2]!], 60, byId, 'storm')).toBeUndefined()
    expect(demoRules([], 60, byId, 'storm')).toBeUndefined()
  })
})
