/**
 * The live feed: what the control room hears, in order, as it happens. The service
 * publishes every durable alarm transition (from the engine's `onTransition`, so nothing
 * is heard before it is logged) and every registry change (device and gateway status);
 * the SSE stream and anything else live subscribes.
 *
 * In-process and synchronous: a subscriber must be quick (queue and return). A subscriber
 * that throws is removed, so one broken listener cannot stop the others.
 */
import type { RegistryChange } from '../registry/registry.ts'
import type { Alarm } from './lifecycle.ts'
import type { StoredTransition } from './store.ts'

export type LiveEvent =
  /** A logged alarm transition and the alarm as it is after it; `transition.id` orders them. */
  | { type: 'alarm'; transition: StoredTransition; alarm: Alarm }
  /** A registry change: a birth, a gateway state (online/offline), a device's availability. */
  | { type: 'registry'; change: RegistryChange; at: number }

export type LiveListener = (e: LiveEvent) => void

export class LiveFeed {
  readonly #listeners = new Set<LiveListener>()
  #lastTransition = 0

  /** The id of the newest transition published (0 before the first). */
  get lastTransitionId(): number {
    return this.#lastTransition
  }

  get listeners(): number {
    return this.#listeners.size
  }

  publishTransition(transition: StoredTransition, alarm: Alarm): void {
    if (transition.id > this.#lastTransition) this.#lastTransition = transition.id
    this.#emit({ type: 'alarm', transition, alarm })
  }

  publishRegistry(change: RegistryChange, at: number = Date.now()): void {
    this.#emit({ type: 'registry', change, at })
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: LiveListener): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  #emit(e: LiveEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e)
      } catch {
        this.#listeners.delete(l)
      }
    }
  }
}
