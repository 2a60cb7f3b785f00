/**
 * Alarm rules as data. A rules file (YAML) holds per-kind defaults and overrides per
 * site, asset or device; the firmware profiles' alarm hints supply the base defaults.
 *
 * Precedence, lowest to highest (a higher layer replaces a rule with the same `id`
 * wholesale, or removes it with `disable`):
 *
 *   1. the alarm hints of the device's profile (`profileRules`), or, when its profile is
 *      not known, the merged hints of its sensor kind (`defaultRules`);
 *   2. the file's `defaults.<kind>`;
 *   3. overrides matching the device's site;
 *   4. overrides matching its asset;
 *   5. overrides matching the device (`device`, optionally narrowed by `gateway`).
 *
 * Within one layer, later overrides in the file win. An override may also name a
 * `kind`, and then applies only to devices of that kind.
 *
 * Severities are written lower-case in YAML, as in the profiles; alarms carry the
 * ThingsBoard names (CRITICAL, MAJOR, MINOR, WARNING, INDETERMINATE): see `toSeverity`.
 *
 * Pure: no file access; callers pass the text, the name to show and the profiles.
 */
import Type, { type Static } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import { POINT_ERROR_CODES } from '../../shared/quality.ts'
import { SENSOR_KINDS, type Profile, type SensorKind } from '../../shared/profile/schema.ts'
import { capViolations, schemaErrors, toViolations } from '../../shared/schema/violations.ts'
import type { SourceIssue } from '../../shared/yaml/issue.ts'
import { issueAt, readYamlText, violationIssues } from '../../shared/yaml/source.ts'
import type { PathSegment } from '../../shared/yaml/positions.ts'

/** ThingsBoard severities, most severe first (CONVENTIONS.md § Alarms). */
export const SEVERITIES = ['CRITICAL', 'MAJOR', 'MINOR', 'WARNING', 'INDETERMINATE'] as const
export type Severity = (typeof SEVERITIES)[number]

/** Severities as written in rules files and profiles. */
export const RULE_SEVERITIES = ['critical', 'major', 'minor', 'warning', 'indeterminate'] as const
export type RuleSeverity = (typeof RULE_SEVERITIES)[number]

export function toSeverity(s: RuleSeverity): Severity {
  return s.toUpperCase() as Severity
}

/** Higher is more severe: CRITICAL 4 … INDETERMINATE 0. */
export function severityRank(s: Severity): number {
  return SEVERITIES.length - 1 - SEVERITIES.indexOf(s)
}

export const RULE_KINDS = ['threshold', 'rate', 'trend', 'state', 'stale', 'quality'] as const
export type RuleKind = (typeof RULE_KINDS)[number]

export const LEVELS = ['hihi', 'hi', 'lo', 'lolo'] as const
export type LevelName = (typeof LEVELS)[number]

const Sev = Type.Enum(RULE_SEVERITIES)
const RuleId = Type.String({ pattern: '^[a-z][a-z0-9_.-]{0,63}$', description: 'the alarm type: unique per device, e.g. level_m.threshold' })
const PointName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$', description: 'a point of the device profile' })
const Seconds = Type.Number({ minimum: 0 })
const PositiveSeconds = Type.Number({ exclusiveMinimum: 0 })
const Direction = Type.Enum(['up', 'down'])
const common = { id: RuleId, description: Type.Optional(Type.String({ maxLength: 200 })) }
const unit = Type.Optional(Type.String({ maxLength: 16, description: 'engineering unit, for messages' }))

const Level = Type.Object(
  {
    value: Type.Number(),
    severity: Type.Optional(Sev),
    clear: Type.Optional(Type.Number({ description: 'the level clears only back past this value (default value ∓ deadband)' })),
  },
  { additionalProperties: false },
)

export const ThresholdRuleSchema = Type.Object(
  {
    ...common,
    kind: Type.Literal('threshold'),
    point: PointName,
    unit,
    levels: Type.Object(
      { hihi: Type.Optional(Level), hi: Type.Optional(Level), lo: Type.Optional(Level), lolo: Type.Optional(Level) },
      { additionalProperties: false, description: 'default severities: hihi/lolo critical, hi/lo major' },
    ),
    deadband: Type.Optional(Type.Number({ minimum: 0, description: 'hysteresis for levels without an explicit clear' })),
    onDelayS: Type.Optional(Seconds),
    offDelayS: Type.Optional(Seconds),
  },
  { additionalProperties: false },
)

export const RateRuleSchema = Type.Object(
  {
    ...common,
    kind: Type.Literal('rate'),
    point: PointName,
    unit,
    direction: Direction,
    change: Type.Number({ exclusiveMinimum: 0, description: 'raise on a change of at least this much (in direction) within windowS' }),
    windowS: PositiveSeconds,
    clearChange: Type.Optional(Type.Number({ minimum: 0, description: 'clear once the change in the window is below this (default change / 2)' })),
    severity: Sev,
    offDelayS: Type.Optional(Seconds),
  },
  { additionalProperties: false },
)

export const TrendRuleSchema = Type.Object(
  {
    ...common,
    kind: Type.Literal('trend'),
    point: PointName,
    unit,
    direction: Direction,
    threshold: Type.Number({ description: 'the level the forecast watches' }),
    windowS: PositiveSeconds,
    minPoints: Type.Optional(Type.Integer({ minimum: 3, maximum: 120, description: 'default 6' })),
    minConfidence: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'least robust R² of the Theil–Sen fit, 1 − (MAD of residuals / MAD of values)², to raise (default 0.8)' })),
    horizonS: PositiveSeconds,
    clearHorizonS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'clear once the ETA is beyond this (default 2 × horizonS)' })),
    etaToleranceS: Type.Optional(Type.Number({ minimum: 0, description: 'update when the ETA moves more than max(this, 20 % of the ETA); default 60' })),
    severity: Type.Optional(Sev),
  },
  { additionalProperties: false },
)

export const StateRuleSchema = Type.Object(
  {
    ...common,
    kind: Type.Literal('state'),
    point: PointName,
    states: Type.Array(
      Type.Object({ value: Type.Union([Type.Boolean(), Type.Number(), Type.String()]), severity: Sev }, { additionalProperties: false }),
      { minItems: 1 },
    ),
    onDelayS: Type.Optional(Seconds),
    offDelayS: Type.Optional(Seconds),
  },
  { additionalProperties: false },
)

export const StaleRuleSchema = Type.Object(
  {
    ...common,
    kind: Type.Literal('stale'),
    expectedIntervalS: PositiveSeconds,
    factor: Type.Optional(Type.Number({ minimum: 1, description: 'raise after factor × expectedIntervalS without a reading (default 3)' })),
    severity: Type.Optional(Sev),
  },
  { additionalProperties: false },
)

export const QualityRuleSchema = Type.Object(
  {
    ...common,
    kind: Type.Literal('quality'),
    point: PointName,
    codes: Type.Optional(Type.Array(Type.Enum(POINT_ERROR_CODES), { minItems: 1, description: 'error codes that count (default all)' })),
    forS: Type.Optional(Seconds),
    forReadings: Type.Optional(Type.Integer({ minimum: 1 })),
    severity: Type.Optional(Sev),
  },
  { additionalProperties: false, description: 'raise when the point has an error for forS seconds or forReadings readings in a row, whichever comes first (default 3 readings)' },
)

export const RuleSchema = Type.Union([ThresholdRuleSchema, RateRuleSchema, TrendRuleSchema, StateRuleSchema, StaleRuleSchema, QualityRuleSchema])
export type ThresholdRule = Static<typeof ThresholdRuleSchema>
export type RateRule = Static<typeof RateRuleSchema>
export type TrendRule = Static<typeof TrendRuleSchema>
export type StateRule = Static<typeof StateRuleSchema>
export type StaleRule = Static<typeof StaleRuleSchema>
export type QualityRule = Static<typeof QualityRuleSchema>
export type Rule = ThresholdRule | RateRule | TrendRule | StateRule | StaleRule | QualityRule

const RuleList = Type.Array(RuleSchema)
const Match = Type.Object(
  {
    site: Type.Optional(Type.String({ minLength: 1 })),
    asset: Type.Optional(Type.String({ minLength: 1 })),
    gateway: Type.Optional(Type.String({ minLength: 1 })),
    device: Type.Optional(Type.String({ minLength: 1 })),
    kind: Type.Optional(Type.Enum(SENSOR_KINDS)),
  },
  { additionalProperties: false, description: 'exactly one of site, asset, device (gateway only with device); kind narrows further' },
)
const OverrideSchema = Type.Object(
  {
    match: Match,
    rules: Type.Optional(RuleList),
    disable: Type.Optional(Type.Array(RuleId, { description: 'rule ids to remove' })),
  },
  { additionalProperties: false },
)

export const RulesFileSchema = Type.Object(
  {
    defaults: Type.Optional(
      Type.Object(Object.fromEntries(SENSOR_KINDS.map((k) => [k, Type.Optional(RuleList)])) as Record<SensorKind, Type.TOptional<typeof RuleList>>, {
        additionalProperties: false,
      }),
    ),
    overrides: Type.Optional(Type.Array(OverrideSchema)),
  },
  { additionalProperties: false },
)
export type RulesFile = Static<typeof RulesFileSchema>

/** An override ready to apply: its layer (3 site, 4 asset, 5 device) and position in the file. */
export interface Override {
  layer: 3 | 4 | 5
  order: number
  match: { site?: string; asset?: string; gateway?: string; device?: string; kind?: SensorKind }
  rules: Rule[]
  disable: string[]
}

/** A validated rule set. */
export interface RuleSet {
  /** Layer 1, by profile id. */
  profiles: Record<string, Rule[]>
  /** Layer 1 for devices of an unknown profile, by kind. */
  kinds: Record<SensorKind, Rule[]>
  /** Layer 2: the file's defaults per kind. */
  defaults: Record<SensorKind, Rule[]>
  /** Layers 3–5, sorted by layer, then file order. */
  overrides: Override[]
}

/** What `resolveRules` needs to know of a device (a `RegistryDevice` fits). */
export interface DeviceRef {
  site: string
  gateway: string
  device: string
  kind: SensorKind
  /** The profile id (`vendor-model@firmware`); layer 1 falls back to the kind's merged defaults without it. */
  profile?: string
  asset?: string
}

/** Defaults when a profile gives no heartbeat. */
const DEFAULT_INTERVAL_S = 900
/** Trend defaults for water-level points with a `hi` hint: the flood forecast. */
const LEVEL_TREND = { windowS: 900, minPoints: 6, minConfidence: 0.8, horizonS: 1800 } as const

/**
 * Layer 1 for a device whose profile is known: the rules its profile's alarm hints
 * give. Per hinted point: `threshold` (hihi/hi/lo/lolo, deadband), `rate`
 * (rateOfChange), `state` (state), `quality` (3 readings in a row or 60 s); per water-level
 * point with `hi`: a `trend` toward `hi` (the flood forecast); per profile: `stale`
 * after 3 × its heartbeat (report-by-exception publishes at least that often).
 */
export function profileRules(p: Profile): Rule[] {
  const rules = new Map<string, Rule>()
  const add = (r: Rule): void => {
    if (!rules.has(r.id)) rules.set(r.id, r)
  }
  for (const pt of p.points) {
    const h = pt.alarm
    if (!h) continue
    const u = pt.unit !== undefined ? { unit: pt.unit } : {}
    const levels: ThresholdRule['levels'] = {}
    for (const l of LEVELS) {
      const v = h[l]
      if (v !== undefined) levels[l] = { value: v }
    }
    if (Object.keys(levels).length > 0) {
      add({ id: `${pt.name}.threshold`, kind: 'threshold', point: pt.name, ...u, levels, ...(h.deadband !== undefined ? { deadband: h.deadband } : {}) })
      if (p.kind === 'water-level' && h.hi !== undefined) {
        add({ id: `${pt.name}.trend`, kind: 'trend', point: pt.name, ...u, direction: 'up', threshold: h.hi, ...LEVEL_TREND, severity: 'warning' })
      }
    }
    if (h.rateOfChange) {
      const r = h.rateOfChange
      add({
        id: `${pt.name}.rate`,
        kind: 'rate',
        point: pt.name,
        ...u,
        direction: r.delta < 0 ? 'down' : 'up',
        change: Math.abs(r.delta),
        windowS: r.windowS,
        severity: r.severity ?? 'major',
      })
    }
    if (h.state) add({ id: `${pt.name}.state`, kind: 'state', point: pt.name, states: [{ value: h.state.value, severity: h.state.severity }] })
    // Or 60 s: report-by-exception sends a persisting error once (then only on heartbeats),
    // so a count of readings alone could take hours to reach 3.
    add({ id: `${pt.name}.quality`, kind: 'quality', point: pt.name, forReadings: 3, forS: 60, severity: 'minor' })
  }
  add({ id: 'stale', kind: 'stale', expectedIntervalS: p.heartbeatS ?? DEFAULT_INTERVAL_S, factor: 3, severity: 'major' })
  return [...rules.values()]
}

/**
 * Layer 1 for a device whose profile is not known: per sensor kind, the rules of all
 * its profiles merged, in profile-id order; where two profiles give a rule of the same
 * id the first one wins (`hintConflicts` lists where they differ), and `stale` uses the
 * longest heartbeat of the kind.
 */
export function defaultRules(profiles: readonly Profile[]): Record<SensorKind, Rule[]> {
  const out = Object.fromEntries(SENSOR_KINDS.map((k) => [k, [] as Rule[]])) as Record<SensorKind, Rule[]>
  const sorted = [...profiles].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (const kind of SENSOR_KINDS) {
    const ofKind = sorted.filter((p) => p.kind === kind)
    if (ofKind.length === 0) continue
    const rules = new Map<string, Rule>()
    for (const p of ofKind) for (const r of profileRules(p)) if (!rules.has(r.id)) rules.set(r.id, r)
    const interval = Math.max(...ofKind.map((p) => p.heartbeatS ?? DEFAULT_INTERVAL_S))
    rules.set('stale', { id: 'stale', kind: 'stale', expectedIntervalS: interval, factor: 3, severity: 'major' })
    out[kind] = [...rules.values()]
  }
  return out
}

/** Points whose alarm hints differ between profiles of one kind (the first profile's win in `defaultRules`). */
export function hintConflicts(profiles: readonly Profile[]): string[] {
  const seen = new Map<string, { id: string; hints: string }>()
  const out: string[] = []
  for (const p of [...profiles].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    for (const pt of p.points) {
      if (!pt.alarm) continue
      const key = `${p.kind}/${pt.name}`
      const hints = JSON.stringify(pt.alarm)
      const prev = seen.get(key)
      if (!prev) seen.set(key, { id: p.id, hints })
      else if (prev.hints !== hints) out.push(`${key}: ${prev.id} and ${p.id} differ`)
    }
  }
  return out
}

const validator = Compile(RulesFileSchema) as Validator

export interface ParsedRules {
  rules?: RuleSet
  issues: SourceIssue[]
}

/**
 * Parses and validates a rules file on top of the profiles' defaults. An empty
 * file is valid (profile defaults only). Issues read `file:line:column: field: reason`.
 */
export function parseRules(text: string, file: string, profiles: readonly Profile[]): ParsedRules {
  const src = readYamlText(text, file)
  if (src.issues.length > 0) return { issues: src.issues }
  const value = src.value ?? {}
  const violations = capViolations(toViolations(schemaErrors(validator, value)))
  if (violations.length > 0) return { issues: violationIssues(src, violations) }
  const f = value as RulesFile
  const issues: SourceIssue[] = []
  const at = (path: PathSegment[], reason: string, anchor: 'key' | 'value' = 'value'): void => {
    issues.push(issueAt(src, path, anchor, reason))
  }
  const pointsOf = new Map<SensorKind, Set<string>>()
  for (const p of profiles) {
    let s = pointsOf.get(p.kind)
    if (!s) pointsOf.set(p.kind, (s = new Set()))
    for (const pt of p.points) s.add(pt.name)
  }
  const checkList = (rules: readonly Rule[], path: PathSegment[], kind: SensorKind | undefined): void => {
    const ids = new Set<string>()
    rules.forEach((r, i) => {
      if (ids.has(r.id)) at([...path, i, 'id'], `duplicate rule id ${r.id}`)
      ids.add(r.id)
      for (const [field, reason] of ruleProblems(r)) at([...path, i, ...field], reason)
      if (kind !== undefined && 'point' in r) {
        const known = pointsOf.get(kind)
        if (known && !known.has(r.point)) at([...path, i, 'point'], `no ${kind} profile has a point ${r.point}`)
      }
    })
  }
  const defaults = Object.fromEntries(SENSOR_KINDS.map((k) => [k, [] as Rule[]])) as Record<SensorKind, Rule[]>
  for (const kind of SENSOR_KINDS) {
    const list = f.defaults?.[kind]
    if (!list) continue
    checkList(list, ['defaults', kind], kind)
    defaults[kind] = list
  }
  const overrides: Override[] = []
  ;(f.overrides ?? []).forEach((o, i) => {
    const m = o.match
    const keys = (['site', 'asset', 'device'] as const).filter((k) => m[k] !== undefined)
    if (keys.length !== 1) at(['overrides', i, 'match'], 'needs exactly one of site, asset, device')
    if (m.gateway !== undefined && m.device === undefined) at(['overrides', i, 'match', 'gateway'], 'gateway narrows a device match; add device', 'key')
    if (!o.rules && !o.disable) at(['overrides', i], 'needs rules or disable')
    checkList(o.rules ?? [], ['overrides', i, 'rules'], m.kind)
    const layer = m.device !== undefined ? 5 : m.asset !== undefined ? 4 : 3
    overrides.push({ layer, order: i, match: { ...m }, rules: o.rules ?? [], disable: o.disable ?? [] })
  })
  if (issues.length > 0) return { issues }
  overrides.sort((a, b) => a.layer - b.layer || a.order - b.order)
  const byProfile = Object.fromEntries(profiles.map((p) => [p.id, profileRules(p)]))
  return { rules: { profiles: byProfile, kinds: defaultRules(profiles), defaults, overrides }, issues: [] }
}

/** What the schema cannot say about one rule: `[field path, reason]` pairs. */
export function ruleProblems(r: Rule): Array<[PathSegment[], string]> {
  const out: Array<[PathSegment[], string]> = []
  if (r.kind === 'threshold') {
    const lv = r.levels
    if (Object.keys(lv).length === 0) out.push([['levels'], 'needs at least one of hihi, hi, lo, lolo'])
    if (lv.hihi && lv.hi && lv.hihi.value < lv.hi.value) out.push([['levels', 'hihi', 'value'], `must not be below hi (${lv.hi.value})`])
    if (lv.lolo && lv.lo && lv.lolo.value > lv.lo.value) out.push([['levels', 'lolo', 'value'], `must not be above lo (${lv.lo.value})`])
    const highs = [lv.hi, lv.hihi].filter((l) => l !== undefined).map((l) => l.value)
    const lows = [lv.lo, lv.lolo].filter((l) => l !== undefined).map((l) => l.value)
    if (highs.length > 0 && lows.length > 0 && Math.min(...highs) <= Math.max(...lows)) out.push([['levels'], 'high levels must lie above low levels'])
    for (const l of LEVELS) {
      const level = lv[l]
      if (level?.clear === undefined) continue
      const high = l === 'hi' || l === 'hihi'
      if (high ? level.clear > level.value : level.clear < level.value) {
        out.push([['levels', l, 'clear'], `must be ${high ? 'at or below' : 'at or above'} value (${level.value})`])
      }
    }
  } else if (r.kind === 'rate') {
    if (r.clearChange !== undefined && r.clearChange > r.change) out.push([['clearChange'], `must not exceed change (${r.change})`])
  } else if (r.kind === 'trend') {
    if (r.clearHorizonS !== undefined && r.clearHorizonS < r.horizonS) out.push([['clearHorizonS'], `must be at least horizonS (${r.horizonS})`])
  } else if (r.kind === 'quality') {
    if (r.forS === undefined && r.forReadings === undefined) out.push([[], 'needs forS or forReadings'])
  }
  return out
}

/** The effective rules of one device: defaults of its kind, then matching overrides by precedence. */
export function resolveRules(set: RuleSet, device: DeviceRef): Rule[] {
  const own = device.profile !== undefined ? set.profiles[device.profile] : undefined
  let rules = replaceById(own ?? set.kinds[device.kind], set.defaults[device.kind], [])
  for (const o of set.overrides) {
    if (matches(o.match, device)) rules = replaceById(rules, o.rules, o.disable)
  }
  return rules
}

function matches(m: Override['match'], d: DeviceRef): boolean {
  if (m.kind !== undefined && m.kind !== d.kind) return false
  if (m.site !== undefined) return m.site === d.site
  if (m.asset !== undefined) return m.asset === d.asset
  if (m.device !== undefined) return m.device === d.device && (m.gateway === undefined || m.gateway === d.gateway)
  return false
}

/** Replaces rules by id in place (keeping order), appends new ids, removes `disable`d ones. */
function replaceById(base: readonly Rule[], add: readonly Rule[], disable: readonly string[]): Rule[] {
  const byId = new Map(add.map((r) => [r.id, r]))
  const out = base.map((r) => byId.get(r.id) ?? r)
  const have = new Set(base.map((r) => r.id))
  for (const r of add) if (!have.has(r.id)) out.push(r)
  const gone = new Set(disable)
  return out.filter((r) => !gone.has(r.id))
}
