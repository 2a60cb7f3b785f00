/**
 * `muni edge probe` core: read one device once with the requests the planner
 * makes for its profile, decode what came back, and run the word-order wizard
 * on it. The transport is the production driver (`createTransport`), so what
 * the probe sees is what the polling engine will see.
 *
 * Requests are sent one at a time, the profile's `pauseBetweenRequestsMs` apart:
 * firmware such as the PressTek PTX40 drops a request that comes sooner, and a
 * commissioning tool must not report that as a dead device.
 */
import { decodeBlocks, type Block, type Value } from '../../shared/codec/index.ts'
import { EXCEPTION, EXCEPTION_NAMES, type ExceptionCode } from '../../shared/modbus/codes.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { PointError } from '../../shared/quality.ts'
import { createTransport, type BusConfig } from '../drivers/registry.ts'
import type { Failure, ReadResult, Transport } from '../drivers/transport.ts'
import { planReads, type ReadRequest } from '../polling/plan.ts'
import { wordOrderWizard, type WordOrderReport } from './word-order.ts'

/** Default per-request timeout, ms: one device, known to be there, possibly slow to turn around. */
export const PROBE_TIMEOUT_MS = 1000

export interface ProbeOptions {
  bus: BusConfig
  unit: number
  profile: ResolvedProfile
  /** Per request, ms. */
  timeoutMs: number
  /** A transport to use instead of one built from `bus` (not started or stopped by the probe). */
  transport?: Transport
}

/** One planned request and what came back. */
export interface ProbedRequest {
  request: ReadRequest
  result: ReadResult
}

export interface ProbeReport {
  profile: string
  unit: number
  requests: ProbedRequest[]
  /** Decoded values, by point name. */
  values: Record<string, Value>
  /** Point errors: from the codec, or the failure of the request that should have read the point. */
  errors: Record<string, PointError | { code: 'unread'; detail: string }>
  wizard: WordOrderReport
  /** Whether the device itself answered at least one request (data or a device exception; a gateway's 0A/0B does not count). */
  answered: boolean
}

/** Gateway exceptions (§7, 0A/0B): the gateway answered because the device behind it did not. */
export function isGatewayException(f: Failure): boolean {
  return f.kind === 'exception' && (f.code === EXCEPTION.gatewayPathUnavailable || f.code === EXCEPTION.gatewayTargetFailedToRespond)
}

/** Whether the device answered: data, or an exception the device itself sent. */
export function deviceAnswered(r: ReadResult): boolean {
  return r.ok || (r.failure.kind === 'exception' && !isGatewayException(r.failure))
}

/** A failure in words: `timeout after 200 ms`, `exception 02 (illegal data address)`. */
export function describeFailure(f: Failure, timeoutMs?: number): string {
  switch (f.kind) {
    case 'timeout':
      return timeoutMs === undefined ? 'timeout' : `timeout after ${timeoutMs} ms`
    case 'exception':
      return `exception ${f.code.toString(16).toUpperCase().padStart(2, '0')}${f.code in EXCEPTION_NAMES ? ` (${EXCEPTION_NAMES[f.code as ExceptionCode]})` : ''}`
    case 'crc':
      return `bad answer (CRC or framing)${f.detail ? `: ${f.detail}` : ''}`
    case 'transport':
      return `transport failure: ${f.detail}`
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Reads the device once and decodes it. Never throws for a device's failure; throws when the port cannot be opened (RTU). */
export async function probeDevice(opts: ProbeOptions): Promise<ProbeReport> {
  const plan = planReads(opts.profile)
  const own = opts.transport === undefined
  const transport = opts.transport ?? createTransport(opts.bus)
  const requests: ProbedRequest[] = []
  if (own) await transport.start()
  try {
    for (const [i, request] of plan.entries()) {
      if (i > 0 && opts.profile.quirks.pauseBetweenRequestsMs > 0) await sleep(opts.profile.quirks.pauseBetweenRequestsMs)
      const result = await transport.read(opts.unit, request, opts.timeoutMs)
      requests.push({ request, result })
    }
  } finally {
    if (own) await transport.stop()
  }
  const blocks: Block[] = []
  for (const { request, result } of requests) if (result.ok) blocks.push({ table: request.table, start: request.start, data: result.data })
  const decoded = decodeBlocks(opts.profile.points, blocks)
  const errors: ProbeReport['errors'] = { ...decoded.errors }
  for (const { request, result } of requests) {
    if (result.ok) continue
    for (const name of request.points) errors[name] ??= { code: 'unread', detail: describeFailure(result.failure, opts.timeoutMs) }
  }
  return {
    profile: opts.profile.id,
    unit: opts.unit,
    requests,
    values: decoded.values,
    errors,
    wizard: wordOrderWizard(opts.profile, blocks),
    answered: requests.some((r) => deviceAnswered(r.result)),
  }
}

/** Registers as 4-digit hex words, bits as 0/1. */
export function hexWords(data: readonly number[], bits: boolean): string {
  return data.map((w) => (bits ? String(w) : w.toString(16).toUpperCase().padStart(4, '0'))).join(' ')
}

/** `FC04 input 0..5 (6 registers)`. */
export function requestLabel(r: Pick<ReadRequest, 'fc' | 'table' | 'start' | 'count'>): string {
  const what = r.table === 'coil' || r.table === 'discrete' ? 'bits' : 'registers'
  return `FC${String(r.fc).padStart(2, '0')} ${r.table} ${r.start}..${r.start + r.count - 1} (${r.count} ${what})`
}
