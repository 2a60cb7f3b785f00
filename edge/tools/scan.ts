/**
 * `muni edge scan` core: which unit ids answer on a bus, and on serial at which
 * baud rate and parity.
 *
 * A unit responds when it answers a one-register read with data or with a
 * Modbus exception: an exception still proves a device is there (a meter
 * without holding register 0 answers 02, one without FC03 answers 01). The scan
 * sends FC03 address 0 count 1 and, when that gets no answer, FC04 address 0
 * count 1, because some firmware ignores a function code it does not implement
 * instead of answering 01. Gateway exceptions 0A/0B are the gateway speaking for
 * a device that did not answer, so they do not count (a TCP gateway answers 0B
 * for every empty unit id).
 *
 * Bounded: units × settings probes, each at most two requests of `timeoutMs`;
 * on serial every setting reopens the port (Modbus over Serial Line v1.02
 * §2.5.1: all devices on a line share one framing, so a device found at 9600
 * even will not answer at 19200). A transport failure (connection refused, port
 * gone) ends the scan: every further probe would fail the same way.
 */
import { createTransport, type RtuBusConfig } from '../drivers/registry.ts'
import type { Failure, ReadResult, ReadSpec, Transport } from '../drivers/transport.ts'
import { deviceAnswered, describeFailure } from './probe.ts'

export type Parity = RtuBusConfig['parity']

/** One line setting tried on serial. */
export interface SerialSetting {
  baud: number
  parity: Parity
}

/** Default bauds, most common first. */
export const DEFAULT_BAUDS: readonly number[] = [9600, 19200, 4800, 38400]
/** Even first: the Modbus default (Modbus over Serial Line v1.02 §2.5.1). */
export const DEFAULT_PARITIES: readonly Parity[] = ['even', 'none', 'odd']
/** Default per-request timeouts, ms: short, because most ids are empty. */
export const DEFAULT_TIMEOUT_MS = { tcp: 100, rtu: 200 } as const

export type ScanTarget = { type: 'tcp'; host: string; port: number } | { type: 'rtu'; path: string; stopBits?: 1 | 2 }

export interface ScanOptions {
  target: ScanTarget
  /** Unit ids to try, in order. */
  units: readonly number[]
  /** Serial only: settings to try, in order (default bauds × parities). */
  settings?: readonly SerialSetting[]
  timeoutMs: number
  /** Called after every probe. */
  onProgress?: (p: ScanProgress) => void
  /** Checked between probes; true stops the scan (e.g. on SIGINT). */
  aborted?: () => boolean
}

export interface ScanProgress {
  done: number
  total: number
  found: number
}

/** What made a unit count as present. */
export type ScanAnswer = { fc: 3 | 4; kind: 'data'; data: readonly number[] } | { fc: 3 | 4; kind: 'exception'; code: number }

export interface ScanHit {
  unit: number
  /** Serial only. */
  setting?: SerialSetting
  answer: ScanAnswer
  latencyMs: number
}

export interface ScanResult {
  hits: ScanHit[]
  /** Probes made (unit × setting). */
  probes: number
  /** Probes planned. */
  total: number
  /** Serial: answers that arrived garbled (bad CRC), per setting: a device may be there at another setting. */
  garbled: { setting?: SerialSetting; count: number }[]
  /** Why the scan stopped early, when it did. */
  stopped?: string
  elapsedMs: number
}

/** Every baud × parity, bauds outermost. */
export function serialSettings(bauds: readonly number[] = DEFAULT_BAUDS, parities: readonly Parity[] = DEFAULT_PARITIES): SerialSetting[] {
  return bauds.flatMap((baud) => parities.map((parity) => ({ baud, parity })))
}

const PROBES: readonly (ReadSpec & { fc: 3 | 4 })[] = [
  { fc: 3, table: 'holding', start: 0, count: 1 },
  { fc: 4, table: 'input', start: 0, count: 1 },
]

type UnitOutcome = { kind: 'hit'; answer: ScanAnswer; latencyMs: number } | { kind: 'none'; garbled: boolean } | { kind: 'transport'; failure: Failure }

async function probeUnit(t: Transport, unit: number, timeoutMs: number): Promise<UnitOutcome> {
  let garbled = false
  for (const p of PROBES) {
    const r: ReadResult = await t.read(unit, p, timeoutMs)
    if (r.ok) return { kind: 'hit', answer: { fc: p.fc, kind: 'data', data: r.data }, latencyMs: r.latencyMs }
    if (deviceAnswered(r) && r.failure.kind === 'exception') return { kind: 'hit', answer: { fc: p.fc, kind: 'exception', code: r.failure.code }, latencyMs: r.latencyMs }
    if (r.failure.kind === 'transport') return { kind: 'transport', failure: r.failure }
    if (r.failure.kind === 'crc') garbled = true
  }
  return { kind: 'none', garbled }
}

/** Scans the bus. Throws only when a serial port cannot be opened at all. */
export async function scanBus(opts: ScanOptions): Promise<ScanResult> {
  const t0 = performance.now()
  const settings: (SerialSetting | undefined)[] = opts.target.type === 'tcp' ? [undefined] : [...(opts.settings ?? serialSettings())]
  const total = opts.units.length * settings.length
  const hits: ScanHit[] = []
  const garbled: ScanResult['garbled'] = []
  let done = 0
  let stopped: string | undefined
  outer: for (const setting of settings) {
    const target = opts.target
    const transport =
      target.type === 'tcp'
        ? createTransport({ type: 'tcp', host: target.host, port: target.port, connectTimeoutMs: Math.max(1000, opts.timeoutMs) })
        : createTransport({ type: 'rtu', path: target.path, baud: setting?.baud ?? 9600, parity: setting?.parity ?? 'even', ...(target.stopBits !== undefined && { stopBits: target.stopBits }) })
    if (target.type === 'rtu') await transport.start()
    else await transport.start().catch(() => undefined) // TCP: a refused connection shows as the first read's transport failure
    let garbledHere = 0
    try {
      for (const unit of opts.units) {
        if (opts.aborted?.()) {
          stopped = 'interrupted'
          break outer
        }
        const o = await probeUnit(transport, unit, opts.timeoutMs)
        done++
        if (o.kind === 'hit') hits.push({ unit, ...(setting && { setting }), answer: o.answer, latencyMs: o.latencyMs })
        else if (o.kind === 'none' && o.garbled) garbledHere++
        opts.onProgress?.({ done, total, found: hits.length })
        if (o.kind === 'transport') {
          stopped = describeFailure(o.failure)
          break outer
        }
      }
    } finally {
      if (garbledHere > 0) garbled.push({ ...(setting && { setting }), count: garbledHere })
      await transport.stop()
    }
  }
  return { hits, probes: done, total, garbled, ...(stopped !== undefined && { stopped }), elapsedMs: performance.now() - t0 }
}
