/**
 * `muni edge scan`: which unit ids answer on a bus (and on serial, at which baud
 * rate and parity). A unit answers with data or a Modbus exception to FC03
 * address 0, or failing that FC04 address 0 (see edge/tools/scan.ts). Progress on
 * stderr (a bar on a terminal, plain lines otherwise); the results table on
 * stdout. Exit 1 when the bus cannot be reached or nothing answered.
 */
import { Command } from 'commander'
import { parseBauds, parseHostPort, parseParities, parseStopBits, parseTimeout, parseUnits } from '../tools/args.ts'
import { describeFailure } from '../tools/probe.ts'
import { createProgress, type ProgressStream } from '../tools/progress.ts'
import { DEFAULT_BAUDS, DEFAULT_PARITIES, DEFAULT_TIMEOUT_MS, scanBus, serialSettings, type ScanHit, type ScanResult, type ScanTarget, type SerialSetting } from '../tools/scan.ts'
import { fail, get, print } from './output.ts'
import { renderTable } from './table.ts'

interface ScanFlags {
  tcp?: string
  rtu?: string
  units: string
  bauds: string
  parities: string
  stopBits?: string
  timeout?: string
  json?: boolean
}


export interface ScanCommandOptions {
  /** Where progress goes; default `process.stderr` (tests pass a stream with or without `isTTY`). */
  progress?: ProgressStream
}

export function scanCommand(o: ScanCommandOptions = {}): Command {
  return new Command('scan')
    .description('find the unit ids that answer on a bus; on serial, also the baud rate and parity they answer at')
    .option('--tcp <host:port>', 'Modbus TCP gateway')
    .option('--rtu <path>', 'serial port, e.g. /dev/ttyUSB0')
    .option('--units <ids>', 'unit ids: ranges and lists, e.g. 1-247 or 1,7,42', '1-247')
    .option('--bauds <list>', 'serial: baud rates to try, in order', DEFAULT_BAUDS.join(','))
    .option('--parities <list>', 'serial: parities to try, in order', DEFAULT_PARITIES.join(','))
    .option('--stop-bits <n>', 'serial: 1 or 2 (default 1)')
    .option('--timeout <ms>', `per request (default ${DEFAULT_TIMEOUT_MS.tcp} ms TCP, ${DEFAULT_TIMEOUT_MS.rtu} ms serial)`)
    .option('--json', 'machine-readable output')
    .action(async (f: ScanFlags) => {
      if ((f.tcp === undefined) === (f.rtu === undefined)) return fail('give exactly one of --tcp HOST:PORT or --rtu PATH')
      const units = get(parseUnits(f.units))
      if (!units) return
      let target: ScanTarget
      let settings: SerialSetting[] | undefined
      if (f.tcp !== undefined) {
        const hp = get(parseHostPort(f.tcp))
        if (!hp) return
        target = { type: 'tcp', ...hp }
      } else {
        const bauds = get(parseBauds(f.bauds))
        const parities = get(parseParities(f.parities))
        const stopBits = get(parseStopBits(f.stopBits ?? '1'))
        if (!bauds || !parities || !stopBits) return
        target = { type: 'rtu', path: f.rtu ?? '', stopBits }
        settings = serialSettings(bauds, parities)
      }
      const timeoutMs = get(parseTimeout(f.timeout ?? String(DEFAULT_TIMEOUT_MS[target.type])))
      if (timeoutMs === undefined) return
      const progress = createProgress({ label: 'scan', items: 'probes', stream: o.progress ?? process.stderr })
      let interrupted = false
      const onSigint = (): void => void (interrupted = true)
      process.once('SIGINT', onSigint)
      let result: ScanResult
      try {
        result = await scanBus({
          target,
          units,
          ...(settings && { settings }),
          timeoutMs,
          onProgress: (p) => progress.update(p.done, p.total),
          aborted: () => interrupted,
        })
      } catch (err) {
        return fail(`cannot open the bus: ${(err as Error).message}`)
      } finally {
        progress.stop()
        process.removeListener('SIGINT', onSigint)
      }
      if (f.json) print(JSON.stringify(result, null, 2))
      else print(renderScan(result, target))
      if (result.stopped !== undefined && result.stopped !== 'interrupted') fail(`scan stopped after ${result.probes} of ${result.total} probes: ${result.stopped}`)
      else if (result.hits.length === 0) fail('no unit answered')
    })
}

/** What answered: `FC03 data 0x012C`, `FC04 exception 02 (illegal data address)`. */
export function answerLabel(h: ScanHit): string {
  const fc = `FC${String(h.answer.fc).padStart(2, '0')}`
  return h.answer.kind === 'data'
    ? `${fc} data ${h.answer.data.map((w) => `0x${w.toString(16).toUpperCase().padStart(4, '0')}`).join(' ')}`
    : `${fc} ${describeFailure({ kind: 'exception', code: h.answer.code })}`
}

const settingLabel = (s: SerialSetting | undefined): string => (s ? `${s.baud}/${s.parity}` : '')

export function renderScan(r: ScanResult, target: ScanTarget): string {
  const where = target.type === 'tcp' ? `${target.host}:${target.port}` : target.path
  const head = `scan of ${where}: ${r.hits.length} unit(s) answered in ${r.probes} probe(s), ${(r.elapsedMs / 1000).toFixed(1)} s${r.stopped === 'interrupted' ? ' (interrupted)' : ''}`
  const table =
    target.type === 'tcp'
      ? renderTable(['UNIT', 'ANSWER', 'LATENCY'], r.hits.map((h) => [String(h.unit), answerLabel(h), `${h.latencyMs.toFixed(1)} ms`]))
      : renderTable(['UNIT', 'BAUD/PARITY', 'ANSWER', 'LATENCY'], r.hits.map((h) => [String(h.unit), settingLabel(h.setting), answerLabel(h), `${h.latencyMs.toFixed(1)} ms`]))
  const garbled = r.garbled.map((g) => `${g.count} garbled answer(s) at ${settingLabel(g.setting) || 'this bus'}: a device may be there at another setting`)
  return [head, ...(r.hits.length > 0 ? [table] : []), ...garbled].join('\n')
}
