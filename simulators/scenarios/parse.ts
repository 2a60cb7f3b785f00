/**
 * Parses a scenario file into a `Scenario` (every time in seconds, events sorted),
 * or into issues `file:line:column: field: reason`.
 *
 * Beyond the schema: the name matches the file, events have exactly one target
 * (`device` or `select`) and fall before the end, an action only selects the kind
 * it applies to, fault parameters fit their mode, a rainfall series cites its
 * source. When the caller passes the district's devices, targets must exist and
 * be of the right kind.
 *
 * Pure: the caller reads the file.
 */
import { Compile, type Validator } from 'typebox/compile'
import { checkParts, compareIssues, issueAt, itemParts, readYamlText, violationIssues, type PathSegment, type SourceIssue } from '../../shared/district/source.ts'
import type { SensorKind } from '../../shared/profile/schema.ts'
import {
  ACTION_KINDS,
  EventSchema,
  formatClock,
  localTimeOfDayS,
  ScenarioSchema,
  toSeconds,
  type FaultParams,
  type PlannedEvent,
  type Scenario,
  type ScenarioFile,
  type ScenarioFileEvent,
  type Selector,
} from './scenario.ts'
import { selects, type TargetDevice } from './timeline.ts'

const validator = Compile(ScenarioSchema) as Validator
const eventValidator = Compile(EventSchema) as Validator

/** What `parseScenario` may check beyond the file itself. */
export interface ParseScenarioOptions {
  /** The district's devices. When given, every target must exist and be of the action's kind. */
  devices?: readonly TargetDevice[]
}

/** A parsed scenario, or why not. */
export interface ScenarioResult {
  /** The scenario, deeply frozen; present only when there are no issues. */
  scenario?: Scenario
  issues: SourceIssue[]
}

/** Default spacing of an impact series. */
export const IMPACT_SPACING_S = 2

/** Which optional fault parameters each mode takes (`code` is required for `exception`). */
const FAULT_FIELDS: Readonly<Record<string, readonly (keyof FaultParams)[]>> = {
  exception: ['code'],
  dropout: ['probability'],
  noise: ['amplitude'],
  stuck: ['value'],
  sentinel: ['value'],
  'wrong-order': ['order'],
}

/** Parses and checks one scenario file; `file` is the name shown in issues (and must end in the scenario's name). */
export function parseScenario(text: string, file: string, options: ParseScenarioOptions = {}): ScenarioResult {
  const src = readYamlText(text, file)
  if (src.issues.length > 0) return { issues: src.issues }
  if (src.value === null || src.value === undefined) {
    return { issues: [issueAt(src, [], 'value', `the document is empty; a scenario is a map with ${ScenarioSchema.required.join(', ')}`)] }
  }
  const shape = violationIssues(
    src,
    checkParts([{ at: '', value: src.value, validator }, ...itemParts((src.value as { events?: unknown }).events, '/events', eventValidator)]),
  )
  if (shape.length > 0) return { issues: shape.sort(compareIssues) }
  const f = src.value as ScenarioFile
  const issues: SourceIssue[] = []
  const problem = (path: PathSegment[], reason: string, anchor: 'key' | 'value' = 'value'): void => {
    issues.push(issueAt(src, path, anchor, reason))
  }

  const base = /([^/\\]+)\.ya?ml$/i.exec(file)?.[1]
  if (base !== undefined && base !== f.name) problem(['name'], `must equal the file name "${base}"`)
  const durationS = toSeconds(f.duration)
  if (!(durationS > 0)) problem(['duration'], 'must be more than 0 seconds')
  if (f.rainfall !== undefined) {
    if (f.source === undefined) problem(['rainfall'], 'a rainfall series must cite where it comes from: add `source:`', 'key')
    if (!(toSeconds(f.rainfall.interval) > 0)) problem(['rainfall', 'interval'], 'must be more than 0 seconds')
    if (f.rainfall.select?.kind !== undefined && f.rainfall.select.kind !== 'water-level') {
      problem(['rainfall', 'select', 'kind'], 'rain drives water-level devices only')
    }
  }

  const events: PlannedEvent[] = []
  ;(f.events ?? []).forEach((e, i) => {
    const before = issues.length
    checkEvent(e, i, durationS, options, problem)
    if (issues.length === before) events.push(...plan(e, i))
  })

  if (issues.length > 0) return { issues: issues.sort(compareIssues) }
  events.sort((a, b) => a.atS - b.atS || a.index - b.index)
  const scenario: Scenario = {
    name: f.name,
    description: f.description,
    ...(f.source === undefined ? {} : { source: f.source }),
    ...(f.start === undefined ? {} : { start: { iso: f.start, timeOfDayS: localTimeOfDayS(f.start) } }),
    durationS,
    ...(f.seed === undefined ? {} : { seed: f.seed }),
    ...(f.rainfall === undefined
      ? {}
      : {
          rainfall: {
            intervalS: toSeconds(f.rainfall.interval),
            startS: toSeconds(f.rainfall.start ?? 0),
            values: f.rainfall.values,
            ...(f.rainfall.select === undefined ? {} : { select: f.rainfall.select }),
          },
        }),
    events,
  }
  return { scenario: deepFreeze(scenario), issues: [] }
}

function checkEvent(
  e: ScenarioFileEvent,
  i: number,
  durationS: number,
  options: ParseScenarioOptions,
  problem: (path: PathSegment[], reason: string, anchor?: 'key' | 'value') => void,
): void {
  const here: PathSegment[] = ['events', i]
  const atS = toSeconds(e.at)
  if (atS >= durationS) problem([...here, 'at'], `${formatClock(atS)} is not before the end of the scenario (duration ${formatClock(durationS)})`)
  if (e.device !== undefined && e.select !== undefined) problem([...here, 'select'], 'give either `device` or `select`, not both', 'key')
  if (e.device === undefined && e.select === undefined) problem(here, 'needs a target: `device: <id>` or `select: {kind, site, gateway, device}`')

  const kind: SensorKind | undefined = ACTION_KINDS[e.action]
  if (kind !== undefined && e.select?.kind !== undefined && e.select.kind !== kind) {
    problem([...here, 'select', 'kind'], `${e.action} applies to ${kind} devices, not ${e.select.kind}`)
  }

  if (e.action === 'fault') {
    const p = e.params
    const allowed = FAULT_FIELDS[p.mode] ?? []
    for (const k of ['code', 'probability', 'amplitude', 'value', 'order'] as const) {
      if (p[k] !== undefined && !allowed.includes(k)) problem([...here, 'params', k], `does not apply to mode ${p.mode}`, 'key')
    }
    if (p.mode === 'exception' && p.code === undefined) problem([...here, 'params', 'code'], 'is required for mode exception (Modbus exception code, e.g. 2 or 11)')
    if (p.mode === 'none' && p.point !== undefined) problem([...here, 'params', 'point'], 'does not apply to mode none (it clears every fault of the target)', 'key')
  }
  if (e.action === 'impact' && e.params !== undefined) {
    const count = e.params.count ?? 1
    const last = atS + (count - 1) * (e.params.spacingS ?? IMPACT_SPACING_S)
    if (count > 1 && last >= durationS) problem([...here, 'params', 'count'], `the last impact (${formatClock(last)}) is not before the end of the scenario (${formatClock(durationS)})`)
    if (count === 1 && e.params.spacingS !== undefined) problem([...here, 'params', 'spacingS'], 'only applies when count > 1', 'key')
  }

  if (options.devices !== undefined) {
    const select: Selector = e.device !== undefined ? { device: e.device } : (e.select ?? {})
    const chosen = options.devices.filter((d) => selects(select, d))
    const field: PathSegment[] = e.device !== undefined ? [...here, 'device'] : [...here, 'select']
    if (chosen.length === 0) problem(field, e.device !== undefined ? `no device "${e.device}" in the district` : 'selects no device of the district')
    else if (kind !== undefined) {
      const wrong = chosen.filter((d) => d.kind !== kind)
      if (wrong.length > 0) problem(field, `${e.action} applies to ${kind} devices; ${wrong.map((d) => `"${d.id}" is ${d.kind}`).join(', ')}`)
    }
  }
}

/** The planned events of one file event: one, or one per impact of a series. */
function plan(e: ScenarioFileEvent, index: number): PlannedEvent[] {
  const atS = toSeconds(e.at)
  const select: Selector = e.device !== undefined ? { device: e.device } : (e.select ?? {})
  const base = { atS, index, select, ...(e.note === undefined ? {} : { note: e.note }) }
  if (e.action === 'impact') {
    const { count = 1, spacingS = IMPACT_SPACING_S, ...rest } = e.params ?? {}
    const params = Object.keys(rest).length > 0 ? { params: rest } : {}
    return Array.from({ length: count }, (_, k) => ({ ...base, atS: atS + k * spacingS, action: 'impact' as const, ...params }))
  }
  const { at: _at, device: _device, select: _select, note: _note, ...action } = e
  return [{ ...base, ...action } as PlannedEvent]
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
