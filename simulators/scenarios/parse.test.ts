import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatIssue } from '../../shared/district/source.ts'
import { loadDistrictFile } from '../districts/load.ts'
import { loadScenarioFile, listScenarioFiles, SCENARIOS_DIR } from './load.ts'
import { parseScenario } from './parse.ts'
import { formatClock, timeFromText, toSeconds } from './scenario.ts'
import { targetDevices } from './timeline.ts'

const district = loadDistrictFile().district
if (!district) throw new Error('the sample district must parse (see simulators/districts/sample.test.ts)')
const devices = targetDevices(district)
const fixture = (name: string): string => join(SCENARIOS_DIR, '__fixtures__', `${name}.yaml`)
const issuesOf = (name: string, withDistrict = false): string[] =>
  loadScenarioFile(fixture(name), withDistrict ? { devices } : {}).issues.map((i) => formatIssue({ ...i, file: `${name}.yaml` }))

describe('shipped scenarios', () => {
  const files = listScenarioFiles()

  it('are the four we promise', () => {
    expect(files.map((f) => f.slice(SCENARIOS_DIR.length).replace(/^[/\\]/, ''))).toEqual(['cover-theft.yaml', 'pipe-burst.yaml', 'sensor-faults.yaml', 'storm.yaml'])
  })

  it.each(files.map((f) => [f.slice(SCENARIOS_DIR.length + 1), f]))('%s parses against the sample district', (_name, file) => {
    const r = loadScenarioFile(file, { devices })
    expect(r.issues.map(formatIssue)).toEqual([])
    expect(r.scenario?.durationS).toBeGreaterThan(0)
  })

  it('storm cites its recorded source and keeps the values unchanged', () => {
    const s = loadScenarioFile(join(SCENARIOS_DIR, 'storm.yaml')).scenario
    expect(s?.source?.extract).toMatch(/PRSA_Data_Dongsi_20130301-20170228\.csv rows No 3097–3109/)
    expect(s?.rainfall?.values).toEqual([0, 27.3, 13.3, 0.4, 0, 1.2, 0, 0, 1.1, 0.3, 0.6, 0, 0])
    expect(s?.start).toEqual({ iso: '2013-07-07T23:00:00+08:00', timeOfDayS: 23 * 3600 })
  })

  it('sensor-faults schedules every fault mode and clears each one', () => {
    const s = loadScenarioFile(join(SCENARIOS_DIR, 'sensor-faults.yaml')).scenario
    const modes = new Set(s?.events.flatMap((e) => (e.action === 'fault' ? [e.params.mode] : [])))
    expect([...modes].sort()).toEqual(['bad-crc', 'dropout', 'exception', 'no-response', 'noise', 'none', 'sentinel', 'stuck', 'truncated', 'wrong-order'])
  })
})

describe('broken scenarios are reported as file:line:column: field: reason', () => {
  it.each<[string, string[], boolean?]>([
    ['bad-syntax', ['bad-syntax.yaml:6:5: Flow sequence in block collection must be sufficiently indented and end with a ]']],
    ['duplicate-key', ['duplicate-key.yaml:8:5: events[0].at: duplicate key "at" (map keys must be unique)']],
    [
      'unknown-action',
      [
        'unknown-action.yaml:7:13: events[0].action: must be one of "burst", "valve-slam", "recover", "open-cover", "close-cover", "impact", "fault"',
        'unknown-action.yaml:11:21: events[1].params.mode: must be one of "none", "no-response", "exception", "bad-crc", "truncated", "stuck", "noise", "sentinel", "dropout", "wrong-order"',
      ],
    ],
    ['missing-params', ['missing-params.yaml:5:5: events[0].params: is required', 'missing-params.yaml:11:13: events[1].params.dropBar: is required']],
    [
      'bad-clock',
      [
        'bad-clock.yaml:5:9: events[0].at: must match pattern "^\\d+:[0-5]\\d:[0-5]\\d(?:\\.\\d+)?$"',
        'bad-clock.yaml:8:9: events[1].at: must be >= 0',
      ],
    ],
    ['no-source', ['no-source.yaml:4:1: rainfall: a rainfall series must cite where it comes from: add `source:`']],
    [
      'after-end',
      [
        'after-end.yaml:5:9: events[0].at: 1:00:00 is not before the end of the scenario (duration 1:00:00)',
        'after-end.yaml:11:22: events[1].params.count: the last impact (1:00:18) is not before the end of the scenario (1:00:00)',
      ],
    ],
    [
      'targets',
      [
        'targets.yaml:7:5: events[0].select: give either `device` or `select`, not both',
        'targets.yaml:9:5: events[1]: needs a target: `device: <id>` or `select: {kind, site, gateway, device}`',
        'targets.yaml:12:21: events[2].select.kind: burst applies to pipe-pressure devices, not manhole-cover',
      ],
    ],
    [
      'fault-params',
      [
        'fault-params.yaml:8:13: events[0].params.code: is required for mode exception (Modbus exception code, e.g. 2 or 11)',
        'fault-params.yaml:12:44: events[1].params.probability: does not apply to mode noise',
      ],
    ],
    [
      'unknown-device',
      [
        'unknown-device.yaml:6:13: events[0].device: no device "pp-nowhere-01" in the district',
        'unknown-device.yaml:9:13: events[1].device: burst applies to pipe-pressure devices; "mh-gqm-01" is manhole-cover',
        'unknown-device.yaml:13:13: events[2].select: selects no device of the district',
      ],
      true,
    ],
    ['misnamed', ['misnamed.yaml:1:7: name: must equal the file name "misnamed"']],
  ])('%s', (name, expected, withDistrict) => {
    expect(issuesOf(name, withDistrict)).toEqual(expected)
  })

  it('without the district, unknown devices are not an error (the shape is still checked)', () => {
    expect(issuesOf('unknown-device')).toEqual([])
  })

  it('explains an empty file and an unreadable one', () => {
    expect(parseScenario('', 'x.yaml').issues.map(formatIssue)).toEqual(['x.yaml:1:1: the document is empty; a scenario is a map with name, description, duration'])
    expect(loadScenarioFile(fixture('does-not-exist')).issues[0]?.reason).toMatch(/^cannot read/)
  })

  it('sees fixture files as plain text too (no hidden characters)', () => {
    expect(readFileSync(fixture('targets'), 'utf8')).not.toMatch(/\t/)
  })
})

describe('times', () => {
  it.each([
    [90, 90],
    ['0:01:30', 90],
    ['25:00:00', 90_000],
    ['0:00:00.5', 0.5],
  ])('%j is %f s', (t, s) => {
    expect(toSeconds(t)).toBe(s)
  })

  it.each([
    ['2700', 2700],
    ['90.5', 90.5],
    ['0:45:00', 2700],
    [' 1:00:00 ', 3600],
  ])('command-line text %j is %f s', (t, s) => {
    expect(timeFromText(t)).toBe(s)
  })

  it.each(['', '-5', '45m', '0:60:00', '1:5:00', '1e3'])('refuses command-line text %j, naming both forms', (t) => {
    expect(() => timeFromText(t)).toThrow(/is neither seconds \(2700\) nor a clock "H:MM:SS" \(0:45:00\)/)
  })

  it('formats clocks back', () => {
    expect(formatClock(5400)).toBe('1:30:00')
    expect(formatClock(3618)).toBe('1:00:18')
  })
})
