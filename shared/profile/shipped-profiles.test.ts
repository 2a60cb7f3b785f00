/**
 * The profiles shipped in firmware-profiles/ all parse cleanly, live where their
 * id and kind say, and cover what the platform needs from each sensor kind.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { buildLibrary, formatIssue, parseProfile, type ProfileSource } from './parse.ts'
import type { ResolvedPoint, ResolvedProfile } from './resolve.ts'
import { SENSOR_KINDS, type Profile } from './schema.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DIR = 'firmware-profiles'

const sources: ProfileSource[] = readdirSync(join(ROOT, DIR), { withFileTypes: true, recursive: true })
  .filter((e) => e.isFile() && e.name.endsWith('.yaml'))
  .map((e) => relative(ROOT, join(e.parentPath, e.name)).split('\\').join('/'))
  .sort()
  .map((file) => ({ file, text: readFileSync(join(ROOT, file), 'utf8') }))

const library = buildLibrary(sources)
const profiles = [...library.profiles.values()]
const byKind = (kind: string): ResolvedProfile[] => profiles.filter((p) => p.kind === kind)
function unresolved(id: string): Profile {
  const s = sources.find((x) => x.file.endsWith(`/${id}.yaml`))
  const r = s && parseProfile(s.text, s.file)
  if (!r?.ok) throw new Error(`${id} does not parse`)
  return r.profile
}
const point = (p: ResolvedProfile, name: string): ResolvedPoint | undefined => p.points.find((x) => x.name === name)

describe('shipped firmware profiles', () => {
  it.each(sources.map((s) => [s.file, s] as const))('%s parses with no issues', (_file, s) => {
    const r = parseProfile(s.text, s.file)
    expect(r.ok ? [] : r.issues.map(formatIssue)).toEqual([])
  })

  it('form one library with no issues (ids unique)', () => {
    expect(library.issues.map(formatIssue)).toEqual([])
    expect(library.profiles.size).toBe(sources.length)
  })

  it('live at firmware-profiles/{kind}/{id}.yaml and point editors at the JSON Schema', () => {
    for (const s of sources) {
      const id = s.file.replace(/^.*\//, '').replace(/\.yaml$/, '')
      const p = library.profiles.get(id)
      expect(s.file).toBe(`${DIR}/${p?.kind}/${id}.yaml`)
      expect(s.text.split('\n')[0]).toBe('# yaml-language-server: $schema=../profile.schema.json')
    }
  })

  it('ship two models of every kind, seven files in all', () => {
    expect(sources).toHaveLength(7)
    for (const kind of SENSOR_KINDS) {
      expect(new Set(byKind(kind).map((p) => `${p.vendor} ${p.model}`)).size, kind).toBe(2)
    }
  })

  it('have one model in two firmware versions whose register maps really differ', () => {
    const models = new Map<string, ResolvedProfile[]>()
    for (const p of profiles) models.set(`${p.vendor} ${p.model}`, [...(models.get(`${p.vendor} ${p.model}`) ?? []), p])
    const twice = [...models.values()].filter((v) => v.length > 1)
    expect(twice).toHaveLength(1)
    const [older, newer] = [...(twice[0] ?? [])].sort((a, b) => (a.firmware < b.firmware ? -1 : 1))
    if (!older || !newer) throw new Error('unreachable')
    expect(older.kind).toBe('manhole-cover')
    const layout = (p: ResolvedPoint | undefined): string | undefined =>
      p && `${p.table} ${p.address} ${p.type} ×${p.registers} ${p.order} scale ${p.scale}`
    const names = new Set([...older.points, ...newer.points].map((p) => p.name))
    const changed = [...names].filter((n) => layout(point(older, n)) !== layout(point(newer, n)))
    // Moved, retyped, added: well more than a cosmetic change.
    expect(changed.length).toBeGreaterThanOrEqual(5)
    expect(layout(point(older, 'tilt_deg'))).toBe('input 1 int16 ×1 ABCD scale 0.01')
    expect(layout(point(newer, 'tilt_deg'))).toBe('input 11 float32 ×2 CDAB scale 1')
  })

  it('poll level, pressure, tilt and flags fast, and battery, RSSI and temperature slow', () => {
    for (const p of profiles) {
      expect(p.heartbeatS, p.id).toBeGreaterThan(0)
      for (const x of p.points) {
        if (x.access === 'readwrite') continue
        if (/^(battery_(pct|v)|rssi_dbm|temperature_c)$/.test(x.name)) expect(x.poll, `${p.id} ${x.name}`).toBe('slow')
        if (/^(level_m|pressure_bar|tilt(_[xy])?_deg|cover_open|cover_displaced|water_in_well)$/.test(x.name)) {
          expect(x.poll, `${p.id} ${x.name}`).toBe('fast')
        }
        // Analog measurements report by exception: they need a deadband.
        if (/_(m|bar|deg|c|pct|dbm|v|g)$/.test(x.name)) expect(x.deadband, `${p.id} ${x.name}`).toBeGreaterThan(0)
      }
    }
  })

  it('cover what each kind needs', () => {
    for (const p of byKind('manhole-cover')) {
      for (const n of ['tilt_deg', 'cover_open', 'impact_count', 'water_in_well', 'battery_pct', 'rssi_dbm', 'temperature_c']) {
        expect(point(p, n), `${p.id} ${n}`).toBeDefined()
      }
    }
    const water = byKind('water-level')
    for (const p of water) {
      expect(point(p, 'level_m')?.unit).toBe('m')
      expect(point(p, 'rain_tips')?.type).toBe('uint32')
      expect(p.points.some((x) => x.type === 'bit')).toBe(true)
    }
    expect(water.some((p) => point(p, 'level_m')?.type === 'float32')).toBe(true)
    // One water-level profile numbers its registers "40001" style, as its manual does.
    expect(water.some((p) => {
      const declared = unresolved(p.id)
      return declared.addressBase === 1 && declared.points.some((x) => x.table === 'holding' && x.address >= 40001 && x.address <= 49999)
    })).toBe(true)
    const pipes = byKind('pipe-pressure')
    for (const p of pipes) {
      expect(point(p, 'pressure_bar')).toMatchObject({ type: 'float32', order: 'CDAB', unit: 'bar' })
      expect(point(p, 'status')?.type).toBe('uint16')
    }
    expect(pipes.some((p) => p.quirks.maxRegistersPerRequest === 16 && p.quirks.pauseBetweenRequestsMs > 0)).toBe(true)
    expect(pipes.some((p) => p.quirks.oneRequestPerField || p.quirks.forbiddenRanges.length > 0)).toBe(true)
  })
})
