/**
 * `muni profiles`: list, show and validate firmware profiles. Every subcommand
 * takes --json for scripts; human output goes to stdout, problems to stderr,
 * and the exit code is 1 whenever a profile is invalid.
 */
import { Command } from 'commander'
import { formatIssue, renderJsonSchema, type ProfileIssue } from '../../shared/profile/parse.ts'
import { MODICON_PREFIX, type ResolvedPoint, type ResolvedProfile } from '../../shared/profile/resolve.ts'
import { DEFAULT_PROFILES_DIR, display, loadProfiles } from '../profiles/load.ts'
import { renderTable } from './table.ts'

interface Out {
  json?: boolean
  dir?: string
}

const print = (s: string): void => void process.stdout.write(`${s}\n`)
const printErr = (s: string): void => void process.stderr.write(`${s}\n`)
const printJson = (v: unknown): void => print(JSON.stringify(v, null, 2))

/** An issue as one line; problems with the file itself (not its content) carry no position. */
function issueLine(i: ProfileIssue): string {
  return i.line > 0 ? formatIssue(i) : `${i.file}: ${i.reason}`
}

export function command(): Command {
  const profiles = new Command('profiles').description('list, show and validate firmware profiles (register maps)')
  const dirOption = `folder of profiles (default: ${display(DEFAULT_PROFILES_DIR)}, or $MUNI_PROFILES_DIR)`

  profiles
    .command('list')
    .description('list the valid profiles: id, kind, vendor, model, firmware, point count')
    .option('--dir <path>', dirOption)
    .option('--json', 'machine-readable output')
    .action((opts: Out) => {
      const lib = loadProfiles([opts.dir ?? DEFAULT_PROFILES_DIR])
      const list = [...lib.profiles.values()].sort((a, b) => a.id.localeCompare(b.id))
      if (opts.json) {
        printJson(list.map((p) => ({ id: p.id, kind: p.kind, vendor: p.vendor, model: p.model, firmware: p.firmware, points: p.points.length, description: p.description ?? null })))
      } else {
        print(renderTable(['ID', 'KIND', 'VENDOR', 'MODEL', 'FIRMWARE', 'POINTS'], list.map((p) => [p.id, p.kind, p.vendor, p.model, p.firmware, String(p.points.length)])))
      }
      if (lib.issues.length > 0) {
        printErr(`${lib.issues.length} problem(s) in the profiles; see \`muni profiles validate\``)
        process.exitCode = 1
      }
    })

  profiles
    .command('show')
    .description('print one profile: its quirks and register table (0-based protocol addresses and Modicon references)')
    .argument('<id>', 'profile id, e.g. nordwave-mc200@1.4')
    .option('--dir <path>', dirOption)
    .option('--json', 'machine-readable output (the resolved profile)')
    .action((id: string, opts: Out) => {
      const lib = loadProfiles([opts.dir ?? DEFAULT_PROFILES_DIR])
      const p = lib.profiles.get(id)
      if (!p) {
        const near = closest(id, [...lib.profiles.keys()])
        printErr(`unknown profile "${id}"${near.length > 0 ? `; did you mean ${near.join(', ')}?` : ''} (\`muni profiles list\` shows them all)`)
        process.exitCode = 1
        return
      }
      if (opts.json) printJson(p)
      else print(renderProfile(p))
    })

  profiles
    .command('validate')
    .description('validate profiles: schema, addresses, overlaps, types and ranges; exit 1 with file:line:column: field: reason on any problem')
    .argument('[paths...]', 'profile files or folders (default: every shipped profile)')
    .option('--json', 'machine-readable output')
    .action((paths: string[], opts: Out) => {
      const lib = loadProfiles(paths.length > 0 ? paths : [DEFAULT_PROFILES_DIR])
      const ok = lib.issues.length === 0
      if (opts.json) {
        printJson({ ok, files: lib.files, profiles: [...lib.profiles.keys()].sort(), issues: lib.issues })
      } else {
        for (const i of lib.issues) printErr(issueLine(i))
        const bad = new Set(lib.issues.map((i) => i.file)).size
        if (ok) print(`${lib.files.length} profile file(s) valid`)
        else printErr(`${lib.issues.length} problem(s) in ${bad} of ${lib.files.length} profile file(s)`)
      }
      if (!ok) process.exitCode = 1
    })

  profiles
    .command('schema')
    .description('print the JSON Schema of the profile format (firmware-profiles/profile.schema.json is this output)')
    .action(() => void process.stdout.write(renderJsonSchema()))

  return profiles
}

/** Modicon reference of a point, as vendor manuals print it (40001 = holding register 0). */
export function modiconRef(p: Pick<ResolvedPoint, 'table' | 'address'>): string {
  const n = p.address + 1
  const prefix = MODICON_PREFIX[p.table]
  return n <= 9999 ? `${prefix}${String(n).padStart(4, '0')}` : `${prefix}${String(n).padStart(5, '0')}`
}

function renderProfile(p: ResolvedProfile): string {
  const q = p.quirks
  const head = [
    `${p.id}  ${p.vendor} ${p.model}, firmware ${p.firmware} (${p.kind})`,
    ...(p.description ? [p.description.trim()] : []),
    `quirks: max ${q.maxRegistersPerRequest} registers / ${q.maxBitsPerRequest} bits per request` +
      `${q.oneRequestPerField ? ', one request per field' : ''}` +
      `${q.pauseBetweenRequestsMs ? `, ${q.pauseBetweenRequestsMs} ms pause between requests` : ''}` +
      `${q.turnaroundMs ? `, ${q.turnaroundMs} ms turnaround` : ''}` +
      (q.forbiddenRanges.length > 0 ? `, never read ${q.forbiddenRanges.map((r) => `${r.table} ${r.start}-${r.end}`).join(', ')}` : ''),
    ...(p.heartbeatS ? [`heartbeat: every ${p.heartbeatS} s at least`] : []),
    '',
  ]
  const fmt = (n: number | undefined): string => (n === undefined ? '' : String(n))
  const rows = p.points.map((pt) => [
    pt.name,
    pt.table,
    String(pt.address),
    modiconRef(pt),
    pt.type === 'bit' ? `bit ${pt.bit}` : pt.type,
    String(pt.registers),
    orderLabel(pt),
    pt.scale === 1 && pt.offset === 0 ? '' : `×${pt.scale}${pt.offset ? ` ${pt.offset < 0 ? '−' : '+'}${Math.abs(pt.offset)}` : ''}`,
    pt.unit ?? '',
    pt.range ? `${fmt(pt.range.min)}..${fmt(pt.range.max)}` : '',
    pt.sentinels.length > 0 ? pt.sentinels.join(',') : '',
    pt.access === 'readwrite' ? 'rw' : 'r',
    pt.poll,
  ])
  return `${head.join('\n')}\n${renderTable(['POINT', 'TABLE', 'ADDR', 'REF', 'TYPE', 'REGS', 'ORDER', 'SCALE', 'UNIT', 'RANGE', 'SENTINELS', 'ACCESS', 'POLL'], rows)}`
}

/** Word order as it matters for the type: full order for multi-register numbers, AB/BA (byte swap) for 16-bit words and strings. */
function orderLabel(p: ResolvedPoint): string {
  if (p.type === 'bool' || p.type === 'bit') return ''
  if (p.type === 'string' || p.registers === 1) return p.order === 'BADC' || p.order === 'DCBA' ? 'BA' : 'AB'
  return p.order
}

/** Suggestions for an unknown id: other firmware versions of the same model, else ids containing what was typed. */
function closest(id: string, ids: readonly string[]): string[] {
  const model = id.split('@')[0] ?? id
  const sameModel = ids.filter((x) => x.split('@')[0] === model)
  if (sameModel.length > 0) return sameModel
  return ids.filter((x) => model.length >= 3 && x.includes(model)).slice(0, 3)
}
