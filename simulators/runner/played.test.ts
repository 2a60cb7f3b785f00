import { describe, expect, it } from 'vitest'
import { loadDistrictFile } from '../districts/load.ts'
import { loadScenarioFile } from '../scenarios/load.ts'
import type { Scenario } from '../scenarios/scenario.ts'
import { targetDevices } from '../scenarios/timeline.ts'
import { loadProfileLibrary, scenarioFileFor } from './load.ts'
import { planDistrict } from './plan.ts'
import { playedBy } from './played.ts'

const lib = loadProfileLibrary()
const district = loadDistrictFile(undefined, { profiles: lib.profiles }).district!
const plan = planDistrict(district, lib.profiles)
const shipped = (name: string): Scenario => loadScenarioFile(scenarioFileFor(name)!, { devices: targetDevices(district) }).scenario!
const only = (events: Scenario['events'], rainfall?: Scenario['rainfall']): Scenario => ({ name: 't', description: 't', durationS: 60, events, ...(rainfall ? { rainfall } : {}) })

describe('playedBy (the sample district)', () => {
  it.each([
    // storm: rain on every water-level gauge, the impacts on mh-gqm-06, and the covers linked to the two underpass gauges.
    ['storm', ['wl-gqm-01', 'wl-cwm-01', 'mh-gqm-05', 'mh-gqm-06', 'wl-dzm-01', 'mh-dzm-05', 'mh-dzm-06', 'wl-jgm-01']],
    ['pipe-burst', ['pp-gqm-01', 'pp-cwm-01']],
  ])('%s plays on its targets and what is coupled to them', (name, ids) => {
    expect(playedBy(shipped(name), plan.devices)).toEqual(ids)
  })

  it('an event on a linked cover takes its gauge along, and the gauge its other covers', () => {
    expect(playedBy(only([{ atS: 0, index: 0, select: { device: 'mh-dzm-06' }, action: 'impact' }]), plan.devices)).toEqual(['wl-dzm-01', 'mh-dzm-05', 'mh-dzm-06'])
  })

  it('rain falls on water-level gauges only, narrowed by its selector', () => {
    expect(playedBy(only([], { intervalS: 3600, startS: 0, values: [10], select: { site: 'dc-east' } }), plan.devices)).toEqual(['wl-jgm-01'])
    expect(playedBy(only([]), plan.devices)).toEqual([])
  })
})
