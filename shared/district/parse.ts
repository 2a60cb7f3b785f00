/**
 * Parses a district description (YAML) and checks it: first the shape (TypeBox
 * schema), then the cross-references, every problem with `file:line:column`:
 *
 * - site, gateway and device ids are unique (and bus ids within their gateway);
 * - a gateway's site, a device's gateway and bus, a cover's linked water-level
 *   device all exist;
 * - a unit id is used once per bus;
 * - when the caller passes the profile library, every device names a profile that
 *   exists and is of the device's kind.
 *
 * Pure: the caller reads the file and passes its text and the name to show.
 */
import { Compile, type Validator } from 'typebox/compile'
import type { SensorKind } from '../profile/schema.ts'
import type { Violation } from '../schema/violations.ts'
import { BusSchema, DeviceSchema, DistrictSchema, GatewaySchema, type District } from './schema.ts'
import { checkParts, compareIssues, issueAt, itemParts, readYamlText, violationIssues, type PathSegment, type SourceIssue, type YamlText } from './source.ts'

const validator = Compile(DistrictSchema) as Validator
const gatewayValidator = Compile(GatewaySchema) as Validator
const deviceValidator = Compile(DeviceSchema) as Validator
const busValidator = Compile(BusSchema) as Validator

/** What `parseDistrict` may check beyond the file itself. */
export interface ParseDistrictOptions {
  /** The profile library (id → kind). When given, device profiles are checked against it. */
  profiles?: ReadonlyMap<string, { readonly kind: SensorKind }>
}

/** A parsed district, or why not. */
export interface DistrictResult {
  /** The district, deeply frozen; present only when there are no issues. */
  district?: District
  /** Every problem found, ordered by position. */
  issues: SourceIssue[]
}

/** Parses and checks one district file. */
export function parseDistrict(text: string, file: string, options: ParseDistrictOptions = {}): DistrictResult {
  const src = readYamlText(text, file)
  if (src.issues.length > 0) return { issues: src.issues }
  if (src.value === null || src.value === undefined) {
    return { issues: [issueAt(src, [], 'value', `the document is empty; a district is a map with ${DistrictSchema.required.join(', ')}`)] }
  }
  const shape = violationIssues(src, schemaViolations(src.value))
  if (shape.length > 0) return { issues: shape.sort(compareIssues) }
  const district = src.value as District
  const issues = crossReferences(src, district, options).sort(compareIssues)
  return issues.length > 0 ? { issues } : { district: deepFreeze(district), issues }
}

/** The whole document, then each gateway, each of its buses, and each device on its own. */
function schemaViolations(value: unknown): Violation[] {
  const doc = value as { gateways?: unknown; devices?: unknown }
  const gateways = Array.isArray(doc.gateways) ? (doc.gateways as unknown[]) : []
  return checkParts([
    { at: '', value, validator },
    ...itemParts(doc.gateways, '/gateways', gatewayValidator),
    ...gateways.flatMap((g, i) => itemParts((g as { buses?: unknown } | null)?.buses, `/gateways/${i}/buses`, busValidator)),
    ...itemParts(doc.devices, '/devices', deviceValidator),
  ])
}

function crossReferences(src: YamlText, d: District, options: ParseDistrictOptions): SourceIssue[] {
  const issues: SourceIssue[] = []
  const problem = (path: PathSegment[], reason: string, anchor: 'key' | 'value' = 'value'): void => {
    issues.push(issueAt(src, path, anchor, reason))
  }
  const lineOf = (path: PathSegment[]): number => issueAt(src, path, 'value', '').line

  const unique = <T extends { id: string }>(items: readonly T[], list: string, what: string): Map<string, number> => {
    const first = new Map<string, number>()
    items.forEach((item, i) => {
      const prev = first.get(item.id)
      if (prev === undefined) first.set(item.id, i)
      else problem([list, i, 'id'], `duplicate ${what} id "${item.id}" (first at line ${lineOf([list, prev, 'id'])})`)
    })
    return first
  }
  const sites = unique(d.sites, 'sites', 'site')
  const gateways = unique(d.gateways, 'gateways', 'gateway')
  const devices = unique(d.devices, 'devices', 'device')

  d.gateways.forEach((g, gi) => {
    if (!sites.has(g.site)) problem(['gateways', gi, 'site'], `no site "${g.site}" (sites: ${[...sites.keys()].join(', ')})`)
    const seen = new Map<string, number>()
    g.buses.forEach((b, bi) => {
      const prev = seen.get(b.id)
      if (prev === undefined) seen.set(b.id, bi)
      else problem(['gateways', gi, 'buses', bi, 'id'], `duplicate bus id "${b.id}" on gateway "${g.id}" (first at line ${lineOf(['gateways', gi, 'buses', prev, 'id'])})`)
    })
  })

  const units = new Map<string, number>()
  d.devices.forEach((dev, di) => {
    const gi = gateways.get(dev.gateway)
    const gateway = gi === undefined ? undefined : d.gateways[gi]
    if (gateway === undefined) {
      problem(['devices', di, 'gateway'], `no gateway "${dev.gateway}" (gateways: ${[...gateways.keys()].join(', ')})`)
    } else if (!gateway.buses.some((b) => b.id === dev.bus)) {
      problem(['devices', di, 'bus'], `gateway "${gateway.id}" has no bus "${dev.bus}" (buses: ${gateway.buses.map((b) => b.id).join(', ')})`)
    } else {
      // One Modbus unit id per bus: two devices answering the same id garble each other.
      const key = `${dev.gateway}\u0000${dev.bus}\u0000${dev.unit}`
      const prev = units.get(key)
      if (prev === undefined) units.set(key, di)
      else {
        const other = d.devices[prev]
        problem(['devices', di, 'unit'], `unit ${dev.unit} is already used on ${dev.gateway}/${dev.bus} by "${other?.id ?? '?'}" (line ${lineOf(['devices', prev, 'unit'])})`)
      }
    }
    if (dev.kind === 'manhole-cover' && dev.model?.linkedLevel !== undefined) {
      const li = devices.get(dev.model.linkedLevel)
      const linked = li === undefined ? undefined : d.devices[li]
      if (linked === undefined) problem(['devices', di, 'model', 'linkedLevel'], `no device "${dev.model.linkedLevel}"`)
      else if (linked.kind !== 'water-level') problem(['devices', di, 'model', 'linkedLevel'], `"${linked.id}" is a ${linked.kind} device, not water-level`)
    }
    if (options.profiles) {
      const profile = options.profiles.get(dev.profile)
      if (profile === undefined) problem(['devices', di, 'profile'], `no firmware profile "${dev.profile}"`)
      else if (profile.kind !== dev.kind) problem(['devices', di, 'profile'], `profile "${dev.profile}" is for ${profile.kind} devices, not ${dev.kind}`)
    }
  })
  return issues
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
