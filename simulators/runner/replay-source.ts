/**
 * `muni sim --replay`: the readings of a recording (`simulators/replay/format.ts`),
 * as a timeline the simulated devices serve, so that the edge polls the very values
 * it once published and the whole path runs again.
 *
 * - Only telemetry is used, and only live readings: a `historical` reading is a
 *   store-and-forward copy of one already in the file.
 * - Readings are placed by their sample time `ts` (relative to the earliest), not by
 *   when their batch reached the recorder: a batch of ten one-second samples replays
 *   as ten changes a second apart, as the device showed them.
 * - Messages that broke the wire contract are skipped and counted.
 *
 * The whole file is read before anything is served: a corrupt line stops the replay
 * with `file:line: reason` (RecordingError) before the first value changes.
 */
import type { Value } from '../../shared/codec/index.ts'
import { decode } from '../../shared/mqtt/index.ts'
import { openRecording } from '../replay/reader.ts'

/** One recorded reading: at `atMs` after the first, `device` showed `values` (and `errors`). */
export interface ReplayReading {
  readonly atMs: number
  readonly device: string
  readonly values: Readonly<Record<string, Value>>
  readonly errors: Readonly<Record<string, { code: string; raw?: number | string }>>
}

export interface ReplayTimeline {
  /** In time order (file order for equal times). */
  readonly readings: readonly ReplayReading[]
  /** Telemetry messages used. */
  readonly messages: number
  /** Messages skipped: invalid telemetry. */
  readonly invalid: number
  /** Historical readings left out. */
  readonly historical: number
}

/** Reads the live readings of a recording. @throws RecordingError for a bad file. */
export async function loadReplayTimeline(file: string): Promise<ReplayTimeline> {
  const { messages } = await openRecording(file)
  const raw: { ts: number; i: number; device: string; values: Record<string, Value>; errors: ReplayReading['errors'] }[] = []
  let used = 0
  let invalid = 0
  let historical = 0
  for await (const m of messages) {
    const d = decode(m.topic, m.payload)
    if (!d.ok) {
      if (d.topic?.kind === 'telemetry') invalid++
      continue
    }
    if (d.kind !== 'telemetry') continue
    used++
    for (const r of d.message.readings) {
      if (r.historical) {
        historical++
        continue
      }
      raw.push({ ts: r.ts, i: raw.length, device: r.device, values: r.values, errors: r.errors })
    }
  }
  raw.sort((a, b) => a.ts - b.ts || a.i - b.i)
  const first = raw[0]?.ts ?? 0
  return {
    readings: raw.map((r) => ({ atMs: r.ts - first, device: r.device, values: r.values, errors: r.errors })),
    messages: used,
    invalid,
    historical,
  }
}
