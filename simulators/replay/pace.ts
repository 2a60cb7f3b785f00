/**
 * The pure core of replay timing: when each message is due, and progress figures (rate,
 * ETA). No clocks are read here; callers pass times in, so tests are plain tables.
 *
 * Messages are scheduled on an absolute timeline (`start + (t - firstT) / speed`), never
 * as "sleep the gap since the previous one": a late timer or a slow publish then delays
 * one message, not every message after it.
 */

/** How a replay paces itself: by the recorded timeline scaled by `speed`, or as fast as the broker acknowledges. */
export type Pace = { mode: 'timed'; speed: number } | { mode: 'fast' }

/**
 * When the message recorded at `t` is due, on the clock `startMs` was read from. The first
 * message (`firstT`) is due at `startMs`: silence before it in the recording is not replayed.
 */
export function dueAt(startMs: number, firstT: number, t: number, speed: number): number {
  return startMs + (t - firstT) / speed
}

/** Progress of one pass over the recording. */
export interface ReplayProgress {
  /** 0 for the first pass; counts up with `--loop`. */
  loop: number
  /** Messages of this pass the broker has acknowledged. */
  done: number
  /** Messages in the recording. */
  total: number
  /** Since this pass began. */
  elapsedMs: number
  /** Average messages per second over this pass. */
  rate: number
  /** Expected time to the end of this pass; undefined while unknown. */
  etaMs: number | undefined
}

/** Inputs of `progressAt`. */
export interface ProgressInput {
  loop: number
  done: number
  total: number
  startMs: number
  nowMs: number
  pace: Pace
  /** `lastT - firstT` of the recording. */
  spanMs: number
}

/**
 * Progress figures. Timed: the ETA is what remains of the schedule (the recording decides
 * the pace, not the rate so far), or the rate-based estimate when the broker has fallen
 * behind the schedule. Fast: remaining messages at the average rate so far.
 */
export function progressAt(p: ProgressInput): ReplayProgress {
  const elapsedMs = Math.max(0, p.nowMs - p.startMs)
  const rate = elapsedMs > 0 ? (p.done * 1000) / elapsedMs : 0
  const remaining = Math.max(0, p.total - p.done)
  const byRate = rate > 0 ? (remaining * 1000) / rate : undefined
  let etaMs: number | undefined
  if (remaining === 0) etaMs = 0
  else if (p.pace.mode === 'timed') {
    const bySchedule = Math.max(0, p.startMs + p.spanMs / p.pace.speed - p.nowMs)
    etaMs = bySchedule > 0 ? bySchedule : byRate
  } else etaMs = byRate
  return { loop: p.loop, done: p.done, total: p.total, elapsedMs, rate, etaMs }
}
