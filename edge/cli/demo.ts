/**
 * `muni demo` — what `npm start` runs. It runs the part of the data path that exists:
 * profile → codec → wire contract. For every shipped firmware profile it builds the
 * register image a device would hold, reads it back through the codec into a reading
 * (with one point serving its "no measurement" sentinel, to show the values/errors
 * split), and encodes the telemetry batch the edge would publish, decoded again
 * exactly as the cloud will. Simulators, the edge agent and the cloud join as they land.
 */
import { Command } from 'commander'
import { decodeBlocks, encodeImage, encodePoint, encodeRaw, readImage, writeWords, type Block, type Value } from '../../shared/codec/index.ts'
import { decode, preparePublish, type Reading } from '../../shared/mqtt/index.ts'
import type { ResolvedPoint, ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { Table } from '../../shared/profile/schema.ts'
import { loadProfiles } from '../profiles/load.ts'
import { renderTable } from './table.ts'

const SITE = 'demo'
const GATEWAY = 'gw-demo'

export function command(): Command {
  return new Command('demo')
    .description('the main job on embedded defaults (npm start): every shipped profile through codec and wire contract')
    .option('--json', 'print the telemetry batch as JSON only')
    .action((opts: { json?: boolean }) => {
      process.exitCode = run(opts.json === true)
    })
}

/** A plausible value for a point: the middle of its valid range, else 0, false, or a short text. */
function sampleValue(p: ResolvedPoint): Value {
  if (p.type === 'bool' || p.type === 'bit') return false
  if (p.type === 'string') return 'DEMO'.slice(0, p.registers * 2)
  if (p.range?.min === undefined || p.range.max === undefined) return Math.max(0, p.range?.min ?? 0)
  return (p.range.min + p.range.max) / 2
}

/** One reading of a simulated device of this profile, read back through the codec. */
function readingFor(profile: ResolvedProfile, ts: number): { reading: Reading; skipped: string[] } {
  const values: Record<string, Value> = {}
  const skipped: string[] = []
  for (const p of profile.points) {
    const v = sampleValue(p)
    const enc = encodePoint(p, v)
    if (enc.ok) values[p.name] = v
    else skipped.push(`${p.name}: ${enc.reason}`)
  }
  const image = encodeImage(profile.points, values)
  // The first point that declares a sentinel serves it, as a device with a failed sensor does.
  const failed = profile.points.find((p) => p.sentinels.length > 0 && p.name in values)
  if (failed) writeWords(image, failed.table, failed.address, encodeRaw(failed, failed.sentinels[0] ?? 0))
  const blocks: Block[] = []
  for (const table of new Set<Table>(profile.points.map((p) => p.table))) {
    const pts = profile.points.filter((p) => p.table === table)
    const start = Math.min(...pts.map((p) => p.address))
    const end = Math.max(...pts.map((p) => p.address + p.registers))
    blocks.push({ table, start, data: readImage(image, table, start, end - start) })
  }
  const { values: decoded, errors } = decodeBlocks(profile.points, blocks)
  return { reading: { device: profile.id.replace(/[@.]/g, '-'), ts, values: decoded, errors, historical: false }, skipped }
}

function run(jsonOnly: boolean): number {
  const lib = loadProfiles()
  if (lib.issues.length > 0) {
    process.stderr.write('the shipped profiles have problems; run `npx muni profiles validate`\n')
    return 1
  }
  const now = Date.now()
  const profiles = [...lib.profiles.values()].sort((a, b) => a.id.localeCompare(b.id))
  const results = profiles.map((p) => ({ profile: p, ...readingFor(p, now) }))
  const batch = { gateway: GATEWAY, seq: 1, sentAt: now, readings: results.map((r) => r.reading) }
  const out = preparePublish('telemetry', SITE, GATEWAY, batch)
  const back = decode(out.topic, out.payload)
  if (jsonOnly) {
    process.stdout.write(`${JSON.stringify(batch, null, 2)}\n`)
    return back.ok ? 0 : 1
  }
  const say = (s = ''): void => void process.stdout.write(`${s}\n`)
  say(`muni-iot demo: ${profiles.length} firmware profiles, each read back through the register codec`)
  say('(one point per device serves its "no measurement" sentinel: it lands in errors, never as a number)')
  say()
  for (const r of results) {
    say(`${r.profile.id} (${r.profile.kind})`)
    const rows = r.profile.points.map((p) => {
      const e = r.reading.errors[p.name]
      const v = r.reading.values[p.name]
      return [p.name, v === undefined ? '' : String(v), p.unit ?? '', e ? `${e.code}${e.raw !== undefined ? ` (raw ${e.raw})` : ''}` : '']
    })
    say(renderTable(['POINT', 'VALUE', 'UNIT', 'ERROR'], rows))
    for (const s of r.skipped) say(`  not simulated: ${s}`)
    say()
  }
  say(`telemetry batch: ${out.topic}  (QoS ${out.qos}, ${out.payload.byteLength} bytes, ${batch.readings.length} readings)`)
  if (back.ok) say('decoded by the wire contract exactly as the cloud will: accepted')
  else for (const v of back.violations) say(`  rejected: ${v.path} ${v.reason}`)
  say()
  say('Next: `npx muni --help`; `npx muni profiles show ID` prints a register map.')
  return back.ok ? 0 : 1
}
