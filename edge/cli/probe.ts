/**
 * `muni edge probe`: read one device once with its profile's planned requests and
 * show the decoded values, the raw registers of each request, and the word-order
 * wizard. Exit 1 when the device does not answer (saying how it failed), when
 * the profile is unknown, or on a bad argument.
 */
import { Command } from 'commander'
import { WORD_ORDERS } from '../../shared/profile/schema.ts'
import type { BusConfig } from '../drivers/registry.ts'
import { DEFAULT_PROFILES_DIR, display, loadProfiles } from '../profiles/load.ts'
import { parseBauds, parseHostPort, parseParities, parseStopBits, parseTimeout, parseUnit } from '../tools/args.ts'
import { describeFailure, deviceAnswered, hexWords, PROBE_TIMEOUT_MS, probeDevice, requestLabel, type ProbeReport } from '../tools/probe.ts'
import { fail, get, print } from './output.ts'
import { renderTable } from './table.ts'

interface ProbeFlags {
  tcp?: string
  rtu?: string
  baud?: string
  parity?: string
  stopBits?: string
  unit: string
  profile: string
  timeout?: string
  dir?: string
  json?: boolean
}


/** The bus from --tcp or --rtu/--baud/--parity/--stop-bits, or undefined after printing why not. */
function busOf(f: ProbeFlags): BusConfig | undefined {
  if ((f.tcp === undefined) === (f.rtu === undefined)) return void fail('give exactly one of --tcp HOST:PORT or --rtu PATH')
  if (f.tcp !== undefined) {
    const hp = get(parseHostPort(f.tcp))
    return hp && { type: 'tcp', ...hp, connectTimeoutMs: 3000 }
  }
  if (f.baud === undefined) return void fail('--rtu needs --baud B (e.g. --baud 19200)')
  const baud = get(parseBauds(f.baud, '--baud'))?.[0]
  const parity = get(parseParities(f.parity ?? 'even', '--parity'))?.[0]
  const stopBits = get(parseStopBits(f.stopBits ?? '1'))
  if (baud === undefined || parity === undefined || stopBits === undefined) return undefined
  return { type: 'rtu', path: f.rtu ?? '', baud, parity, stopBits }
}

export function probeCommand(): Command {
  return new Command('probe')
    .description('read a device once with its profile: decoded values, raw registers, and which word order gives plausible values')
    .option('--tcp <host:port>', 'Modbus TCP device or gateway')
    .option('--rtu <path>', 'serial port, e.g. /dev/ttyUSB0')
    .option('--baud <rate>', 'serial baud rate (with --rtu)')
    .option('--parity <parity>', 'none, even or odd (default even, the Modbus default)')
    .option('--stop-bits <n>', '1 or 2 (default 1)')
    .requiredOption('--unit <id>', 'unit id 1..247')
    .requiredOption('--profile <id>', 'firmware profile id, e.g. presstek-ptx40@5.2')
    .option('--timeout <ms>', `per request (default ${PROBE_TIMEOUT_MS} ms)`)
    .option('--dir <path>', `folder of profiles (default: ${display(DEFAULT_PROFILES_DIR)}, or $MUNI_PROFILES_DIR)`)
    .option('--json', 'machine-readable output')
    .action(async (f: ProbeFlags) => {
      const bus = busOf(f)
      if (!bus) return
      const unit = get(parseUnit(f.unit))
      const timeoutMs = get(parseTimeout(f.timeout ?? String(PROBE_TIMEOUT_MS)))
      if (unit === undefined || timeoutMs === undefined) return
      const lib = loadProfiles([f.dir ?? DEFAULT_PROFILES_DIR])
      const profile = lib.profiles.get(f.profile)
      if (!profile) return fail(`unknown profile "${f.profile}" (\`muni profiles list\` shows them all)`)
      let report: ProbeReport
      try {
        report = await probeDevice({ bus, unit, profile, timeoutMs })
      } catch (err) {
        return fail(`cannot open the bus: ${(err as Error).message}`)
      }
      if (f.json) print(JSON.stringify(report, null, 2))
      else print(renderProbe(report))
      if (!report.answered) {
        const failures = [...new Set(report.requests.map((r) => (r.result.ok ? '' : describeFailure(r.result.failure, timeoutMs))))].filter(Boolean)
        fail(`unit ${unit} did not answer: ${failures.join('; ') || 'no request was planned'}`)
      }
    })
}

/** The human report: values, raw registers, word-order wizard. */
export function renderProbe(r: ProbeReport): string {
  const out: string[] = [`unit ${r.unit}, profile ${r.profile}`, '']
  const names = [...new Set([...Object.keys(r.values), ...Object.keys(r.errors)])]
  const order = new Map(r.requests.flatMap((q) => q.request.points).map((n, i) => [n, i]))
  names.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0))
  out.push(
    renderTable(
      ['POINT', 'VALUE', 'ERROR'],
      names.map((n) => {
        const v = r.values[n]
        const e = r.errors[n]
        return [n, v === undefined ? '' : String(v), e ? `${e.code}${e.detail ? `: ${e.detail}` : ''}` : '']
      }),
    ),
    '',
    'raw registers:',
  )
  for (const { request, result } of r.requests) {
    const bits = request.table === 'coil' || request.table === 'discrete'
    out.push(`  ${requestLabel(request)}: ${result.ok ? hexWords(result.data, bits) : describeFailure(result.failure)}${deviceAnswered(result) ? '' : ' (no answer from the device)'}`)
  }
  out.push('', 'word order:')
  const w = r.wizard
  if (w.points.length > 0) {
    const cell = (res: (typeof w.points)[number]['results'][(typeof WORD_ORDERS)[number]]): string => (res.ok ? String(res.value) : res.error.code)
    const rows = w.points.map((p) => [
      p.name,
      p.type,
      p.declared,
      ...WORD_ORDERS.map((o) => `${cell(p.results[o])}${p.plausible.includes(o) ? ' ✓' : ''}`),
    ])
    const head = WORD_ORDERS.map((o) => (w.fitting.includes(o) ? `${o} ✓` : o))
    out.push(renderTable(['POINT', 'TYPE', 'PROFILE', ...head], rows))
    out.push(`plausible: ${w.ranks.map((k) => `${k.order} ${k.plausible}/${k.total}`).join(', ')}`)
  }
  out.push(w.verdict.message)
  return out.join('\n')
}
