/**
 * The pure parts of bus scheduling: which queued job runs next, where each
 * device's schedule starts, and when a periodic poll is due next.
 */

/** Commands (writes, read-now) go before polls that have not started yet; running jobs are never interrupted. */
export type JobPriority = 'command' | 'poll'

const RANK: Readonly<Record<JobPriority, number>> = { command: 0, poll: 1 }

export interface QueuedJob {
  readonly device: string
  readonly priority: JobPriority
  /** Submission order, unique per bus. */
  readonly seq: number
}

/**
 * The index in `queue` of the job to run next, or -1: the highest priority, then
 * the oldest, among jobs whose device has nothing running (a device has at most
 * one job in flight, so a write never lands inside that device's sweep and two
 * requests never overlap on one device). Concurrency across devices is the
 * caller's limit.
 */
export function pickNext(queue: readonly QueuedJob[], busyDevices: ReadonlySet<string>): number {
  let best = -1
  for (let i = 0; i < queue.length; i++) {
    const j = queue[i]
    if (j === undefined || busyDevices.has(j.device)) continue
    const b = best < 0 ? undefined : queue[best]
    if (b === undefined || RANK[j.priority] < RANK[b.priority] || (RANK[j.priority] === RANK[b.priority] && j.seq < b.seq)) best = i
  }
  return best
}

/**
 * Where device `index` of `count` on one bus starts its schedule: spread evenly
 * over the interval (0, interval/count, 2·interval/count, …) in the order the
 * devices are listed, so the same config always gives the same phases and a bus
 * of n devices never has them all due at once.
 */
export function staggerOffset(index: number, count: number, intervalMs: number): number {
  if (!(Number.isInteger(index) && Number.isInteger(count) && index >= 0 && index < count)) throw new RangeError(`device ${index} of ${count}`)
  return Math.floor((index * intervalMs) / count)
}

/**
 * The first slot of the grid `anchor + k·interval` (k ≥ 0) strictly after `now`,
 * and how many slots were skipped between `previous` and it (polls that could not
 * run because the bus was busy or the sweep was slow: never queued up, counted).
 */
export function nextSlot(anchor: number, intervalMs: number, previous: number, now: number): { at: number; skipped: number } {
  const k = Math.max(Math.floor((now - anchor) / intervalMs) + 1, 0)
  const at = anchor + k * intervalMs
  const skipped = Math.max(0, Math.round((at - previous) / intervalMs) - 1)
  return { at, skipped }
}
