/**
 * Which devices of a plan a scenario plays on: those its rainfall falls on (water-level
 * gauges, the only models that take rain) and those its events select, together with
 * the devices coupled to them in the models — a manhole cover linked to a gauge
 * (`linkedLevel`) takes the water that gauge's underpass holds, so cover and gauge must
 * share one clock.
 *
 * The runner uses it to play a scenario at its own speed on these devices while the
 * rest of the district runs live (`RunnerOptions.scenarioSpeed`). Pure.
 */
import type { Scenario } from '../scenarios/scenario.ts'
import { selects, type TargetDevice } from '../scenarios/timeline.ts'
import type { SimDeviceSpec } from './plan.ts'

/** Ids of the devices `scenario` plays on, in plan order. */
export function playedBy(scenario: Scenario, devices: readonly SimDeviceSpec[]): string[] {
  const target = (d: SimDeviceSpec): TargetDevice => ({ id: d.id, kind: d.kind, site: d.site, gateway: d.gateway })
  const rain = scenario.rainfall
  const played = new Set<string>()
  for (const d of devices) {
    const rained = rain !== undefined && d.kind === 'water-level' && (rain.select === undefined || selects(rain.select, target(d)))
    if (rained || scenario.events.some((e) => selects(e.select, target(d)))) played.add(d.id)
  }
  // A link couples both ways: a played gauge takes its covers along, a played cover its gauge.
  const linkOf = (d: SimDeviceSpec): string | undefined => {
    const l = d.kind === 'manhole-cover' ? d.model?.linkedLevel : undefined
    return typeof l === 'string' ? l : undefined
  }
  for (let grew = true; grew; ) {
    grew = false
    for (const d of devices) {
      const link = linkOf(d)
      if (link === undefined || played.has(d.id) === played.has(link)) continue
      played.add(d.id)
      played.add(link)
      grew = true
    }
  }
  return devices.filter((d) => played.has(d.id)).map((d) => d.id)
}
