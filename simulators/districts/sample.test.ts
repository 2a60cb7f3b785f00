import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { formatIssue } from '../../shared/district/source.ts'
import { buildLibrary } from '../../shared/profile/parse.ts'
import { SENSOR_KINDS } from '../../shared/profile/schema.ts'
import { loadDistrictFile, SAMPLE_DISTRICT_FILE } from './load.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const profileFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? profileFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []))
const library = buildLibrary(profileFiles(join(root, 'firmware-profiles')).map((f) => ({ file: relative(root, f), text: readFileSync(f, 'utf8') })))

const result = loadDistrictFile(SAMPLE_DISTRICT_FILE, { profiles: library.profiles })
const district = result.district

/** Metres between two WGS 84 points (equirectangular; fine over a few km). */
const metres = (a: { lat: number; lon: number }, b: { lat: number; lon: number }): number => {
  const k = Math.PI / 180
  const x = (b.lon - a.lon) * k * Math.cos(((a.lat + b.lat) / 2) * k)
  return Math.hypot(x, (b.lat - a.lat) * k) * 6_371_000
}

describe('the sample district (simulators/districts/sample.yaml)', () => {
  it('parses against the shipped profiles without issues', () => {
    expect(library.issues.map(formatIssue)).toEqual([])
    expect(result.issues.map(formatIssue)).toEqual([])
    expect(district).toBeDefined()
  })

  it('has at least 3 gateways and 30 devices', () => {
    expect(district?.gateways.length).toBeGreaterThanOrEqual(3)
    expect(district?.devices.length).toBeGreaterThanOrEqual(30)
  })

  it('references only shipped profiles, uses every kind, and both firmware versions of a model that has two', () => {
    const used = new Set(district?.devices.map((d) => d.profile))
    for (const id of used) expect(library.profiles.has(id)).toBe(true)
    expect(new Set(district?.devices.map((d) => d.kind))).toEqual(new Set(SENSOR_KINDS))
    const byModel = new Map<string, Set<string>>()
    for (const p of library.profiles.values()) {
      const key = p.id.split('@')[0] ?? p.id
      byModel.set(key, new Set([...(byModel.get(key) ?? []), p.id]))
    }
    const multi = [...byModel.values()].filter((ids) => ids.size > 1)
    expect(multi.length).toBeGreaterThan(0)
    for (const ids of multi) for (const id of ids) expect(used.has(id)).toBe(true)
  })

  it('has a Modbus TCP gateway, an RS-485 RTU gateway on /dev/ttyUSB0 at 9600 baud, and a mixed one', () => {
    const types = (district?.gateways ?? []).map((g) => new Set(g.buses.map((b) => b.type)))
    expect(types.some((t) => t.size === 1 && t.has('tcp'))).toBe(true)
    expect(types.some((t) => t.size === 2)).toBe(true)
    const rtuOnly = district?.gateways.find((g) => g.buses.every((b) => b.type === 'rtu'))
    expect(rtuOnly?.buses[0]).toMatchObject({ type: 'rtu', path: '/dev/ttyUSB0', baud: 9600 })
  })

  it('lies in central Dongcheng, each device within 1.5 km of its gateway', () => {
    for (const p of [...(district?.gateways ?? []), ...(district?.devices ?? [])]) {
      expect(p.location.lat).toBeGreaterThan(39.88)
      expect(p.location.lat).toBeLessThan(39.95)
      expect(p.location.lon).toBeGreaterThan(116.40)
      expect(p.location.lon).toBeLessThan(116.44)
    }
    const gw = new Map(district?.gateways.map((g) => [g.id, g.location]))
    for (const d of district?.devices ?? []) {
      const g = gw.get(d.gateway)
      expect(g && metres(g, d.location)).toBeLessThan(1500)
    }
  })
})
