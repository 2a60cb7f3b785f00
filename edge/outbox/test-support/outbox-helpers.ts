/**
 * Helpers for the outbox tests: temp files, readings, a settable clock, and decoding
 * what the outbox hands out with the shared codec (so the tests read batches exactly
 * as the cloud would).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, type Reading, type TelemetryBatch } from '../../../shared/mqtt/index.ts'
import { Outbox, type OutboxBatch, type OutboxOptions } from '../outbox.ts'

export const SITE = 'north'
export const GATEWAY = 'gw-01'

/** A temporary folder; `remove()` deletes it. */
export function tempDir(prefix = 'muni-outbox-'): { path: string; file: (name: string) => string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_764_052_800_000): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) }
}

/** One reading with one value point `n`. */
export function reading(device: string, ts: number, n: number = ts, historical = false): Reading {
  return { device, ts, values: { n }, errors: {}, historical }
}

/** An outbox on `path` with test-friendly defaults, opened. */
export function openOutbox(path: string, options: Partial<OutboxOptions> = {}): Outbox {
  const outbox = new Outbox({ path, site: SITE, gateway: GATEWAY, maxReadings: 1_000_000, maxAgeMs: 7 * 86_400_000, lockTimeoutMs: 50, ...options })
  outbox.open()
  return outbox
}

/** Decodes a batch as the cloud would; throws on anything the contract rejects. */
export function decodeBatch(batch: Pick<OutboxBatch, 'topic' | 'payload'>): TelemetryBatch {
  const r = decode(batch.topic, batch.payload)
  if (!r.ok) throw new Error(`outbox produced an invalid batch: ${JSON.stringify(r.violations)}`)
  if (r.kind !== 'telemetry') throw new Error(`outbox produced a ${r.kind} message`)
  return r.message
}

/** Key of a reading: the contract's (device, ts). */
export const keyOf = (r: Pick<Reading, 'device' | 'ts'>): string => `${r.device}@${r.ts}`

/** Takes and acks every batch until the outbox is empty; returns them decoded, in order. */
export function drain(outbox: Outbox, maxReadings?: number): Array<TelemetryBatch & { raw: OutboxBatch }> {
  const out: Array<TelemetryBatch & { raw: OutboxBatch }> = []
  for (let b = outbox.nextBatch({ maxReadings }); b !== undefined; b = outbox.nextBatch({ maxReadings })) {
    out.push({ ...decodeBatch(b), raw: b })
    outbox.ack(b.seq)
  }
  return out
}
