/**
 * The demo's alarm rules file: a demo setting, not advice for a deployment.
 *
 * `muni demo` plays a scenario (the storm) N times faster than the clock on the devices
 * it plays on, while the alarm engine judges readings by their sample time, the wall
 * clock. A rule that looks at time — the trend rule's 15-minute window and 30-minute
 * horizon, a rate rule's window — would see a whole flood inside one window and never
 * fit a line. So on exactly those devices the demo writes the rules the profiles' hints
 * give (cloud/alarms/README.md § Defaults from the profiles) with every duration
 * divided by N: the storm's 15 minutes are 15 s of wall time at 60×. Levels
 * (thresholds, deadbands, the trend's target) stay the profiles'. Every other device
 * keeps the profile defaults.
 *
 * The demo knows the cloud only by its CLI and its rules-file format; the test of this
 * file checks the result against the cloud's own `profileRules`, so the two cannot drift.
 */
import { stringify } from 'yaml'
import type { Profile } from '../../shared/profile/schema.ts'

/**
 * The trend rule the cloud derives for a water-level point with a `hi` hint
 * (cloud/alarms/rules.ts `LEVEL_TREND`), and the trend rule's default ETA tolerance.
 */
const LEVEL_TREND = { windowS: 900, horizonS: 1800, minPoints: 6, minConfidence: 0.8, etaToleranceS: 60 } as const

export interface PlayedDevice {
  device: string
  gateway: string
  profile: string
}

export interface DemoRules {
  /** The rules file, YAML with a header that says what it is. */
  text: string
  /** Devices that got rules (those whose profile has time-based hints). */
  devices: string[]
}

/** Rules for the devices a scenario plays at `speed`× (undefined when none of them has a time-based rule). */
export function demoRules(played: readonly PlayedDevice[], speed: number, profiles: ReadonlyMap<string, Profile>, scenario: string): DemoRules | undefined {
  const scale = (s: number): number => Number((s / speed).toPrecision(6))
  const overrides: Array<{ match: { device: string; gateway: string }; rules: Array<Record<string, unknown>> }> = []
  for (const d of played) {
    const p = profiles.get(d.profile)
    if (p === undefined) continue
    const rules: Array<Record<string, unknown>> = []
    for (const pt of p.points) {
      const h = pt.alarm
      if (!h) continue
      const unit = pt.unit !== undefined ? { unit: pt.unit } : {}
      if (p.kind === 'water-level' && h.hi !== undefined) {
        rules.push({
          id: `${pt.name}.trend`,
          kind: 'trend',
          point: pt.name,
          ...unit,
          direction: 'up',
          threshold: h.hi,
          windowS: scale(LEVEL_TREND.windowS),
          horizonS: scale(LEVEL_TREND.horizonS),
          minPoints: LEVEL_TREND.minPoints,
          minConfidence: LEVEL_TREND.minConfidence,
          etaToleranceS: scale(LEVEL_TREND.etaToleranceS),
          severity: 'warning',
        })
      }
      const r = h.rateOfChange
      if (r) {
        rules.push({
          id: `${pt.name}.rate`,
          kind: 'rate',
          point: pt.name,
          ...unit,
          direction: r.delta < 0 ? 'down' : 'up',
          change: Math.abs(r.delta),
          windowS: scale(r.windowS),
          severity: r.severity ?? 'major',
        })
      }
    }
    if (rules.length > 0) overrides.push({ match: { device: d.device, gateway: d.gateway }, rules })
  }
  if (overrides.length === 0) return undefined
  const header = [
    '# Written by `muni demo`. A DEMO SETTING, not advice for a deployment.',
    `# The ${scenario} scenario plays ${speed}× faster than the clock on the devices below, and the`,
    '# alarm engine judges readings by their sample time (the wall clock). So on these devices the',
    "# profiles' trend and rate rules are written out with every duration divided by",
    `# ${speed} (a 15 min trend window becomes ${scale(LEVEL_TREND.windowS)} s); levels and thresholds are the profiles'.`,
    '# Every other device keeps the defaults from its profile.',
  ].join('\n')
  return { text: `${header}\n${stringify({ overrides })}`, devices: overrides.map((o) => o.match.device) }
}
