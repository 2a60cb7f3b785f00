/**
 * Collects what a polling engine emits, and waits — always bounded — for a
 * condition on it. For the integration tests on real time.
 */
import type { DeviceEvent, Reading } from '../../../shared/mqtt/messages.ts'
import type { EngineOptions } from '../engine.ts'

export class Recorder {
  readonly readings: Reading[] = []
  readonly samples: Reading[] = []
  readonly events: DeviceEvent[] = []

  /** The callbacks to give the engine. */
  get options(): EngineOptions {
    return {
      onReading: (r) => this.readings.push(r),
      onSample: (r) => this.samples.push(r),
      onEvent: (e) => this.events.push(e),
    }
  }

  samplesOf(device: string): Reading[] {
    return this.samples.filter((r) => r.device === device)
  }

  eventsOf(device: string): DeviceEvent['event'][] {
    return this.events.filter((e) => e.device === device).map((e) => e.event)
  }
}

/** Resolves once `cond()` holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await sleep(10)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
