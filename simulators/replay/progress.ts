/**
 * Replay progress on stderr: a cli-progress bar (items, rate, ETA) when stderr is a
 * terminal; otherwise plain lines that read well in a log or CI output, at most one per
 * second plus one at every 10 %:
 *
 *   replay: 1200/5000 (24%) 310 msg/s ETA 12s
 *
 * and, in both cases, one summary line at the end.
 */
import cliProgress from 'cli-progress'
import type { ReplayProgress } from './pace.ts'
import type { ReplaySummary } from './replayer.ts'

/** Where progress goes: a writable stream, a terminal or not. */
export interface ProgressStream {
  write(chunk: string): unknown
  isTTY?: boolean
}

/** Options of `createProgressDisplay`. */
export interface ProgressDisplayOptions {
  /** Default `process.stderr`. */
  stream?: ProgressStream
  /** Draw a bar; default `stream.isTTY`. */
  tty?: boolean
  /** Clock for the plain-line throttle (ms); default `performance.now`. */
  now?: () => number
  /** Plain lines at most this often, besides the 10 % steps; default 1000 ms. */
  intervalMs?: number
}

/** Receives progress and the summary, and shows them. */
export interface ProgressDisplay {
  update(progress: ReplayProgress): void
  /** Ends the bar (if any) and writes the summary line; `target` is the credential-free broker URL. */
  finish(summary: ReplaySummary, target: string): void
}

/** A progress display for `stream`: a bar on a terminal, plain lines otherwise. */
export function createProgressDisplay(options: ProgressDisplayOptions = {}): ProgressDisplay {
  const stream = options.stream ?? process.stderr
  const tty = options.tty ?? stream.isTTY === true
  return tty ? barDisplay(stream) : plainDisplay(stream, options.now ?? (() => performance.now()), options.intervalMs ?? 1_000)
}

function plainDisplay(stream: ProgressStream, now: () => number, intervalMs: number): ProgressDisplay {
  let lastAt: number | undefined
  let lastStep = 0
  let loop = 0
  return {
    update(p) {
      const t = now()
      if (p.loop !== loop) {
        loop = p.loop
        lastStep = 0
      }
      // The first line comes after a second or at 10 %, whichever is first.
      lastAt ??= t
      if (p.done === 0 || p.total === 0) return
      const step = Math.floor((p.done * 10) / p.total)
      if (step > lastStep || t - lastAt >= intervalMs) {
        lastStep = step
        lastAt = t
        stream.write(`${formatProgressLine(p)}\n`)
      }
    },
    finish(summary, target) {
      stream.write(`${formatSummary(summary, target)}\n`)
    },
  }
}

function barDisplay(stream: ProgressStream): ProgressDisplay {
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream,
      format: 'replay{pass} [{bar}] {value}/{total} {percentage}% | {rate} msg/s | ETA {etaText}',
      hideCursor: true,
      fps: 10,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  )
  let started = false
  let loop = 0
  const tokens = (p: ReplayProgress) => ({ pass: p.loop > 0 ? ` pass ${p.loop + 1}` : '', rate: formatRate(p.rate), etaText: formatEta(p.etaMs) })
  return {
    update(p) {
      if (!started) {
        bar.start(p.total, p.done, tokens(p))
        started = true
      } else if (p.loop !== loop) {
        loop = p.loop
        bar.setTotal(p.total)
      }
      bar.update(p.done, tokens(p))
    },
    finish(summary, target) {
      if (started) bar.stop()
      stream.write(`${formatSummary(summary, target)}\n`)
    },
  }
}

/** `replay: 1200/5000 (24%) 310 msg/s ETA 12s` (with `pass N` from the second pass of `--loop`). */
export function formatProgressLine(p: ReplayProgress): string {
  const pct = p.total > 0 ? Math.floor((p.done * 100) / p.total) : 100
  const pass = p.loop > 0 ? ` pass ${p.loop + 1}:` : ''
  return `replay:${pass} ${p.done}/${p.total} (${pct}%) ${formatRate(p.rate)} msg/s ETA ${formatEta(p.etaMs)}`
}

/** The last line of a replay. */
export function formatSummary(s: ReplaySummary, target: string): string {
  const rate = s.elapsedMs > 0 ? (s.published * 1000) / s.elapsedMs : 0
  const took = `in ${formatDuration(s.elapsedMs)} (${formatRate(rate)} msg/s) to ${target}`
  const passes = s.loops > 1 ? `, ${s.loops} passes` : ''
  switch (s.outcome) {
    case 'finished':
      return `replay: ${s.published} message(s) ${took}${passes}`
    case 'stopped':
      return `replay: stopped after ${s.published} acknowledged message(s) ${took} (recording holds ${s.total}${s.loops > 0 ? `, ${s.loops} full pass(es)` : ''})`
    case 'failed':
      return `replay: failed after ${s.published} acknowledged message(s) ${took}`
  }
}

/** Messages per second: one decimal below 10, whole numbers above. */
export function formatRate(rate: number): string {
  return rate < 10 ? rate.toFixed(1) : String(Math.round(rate))
}

function formatEta(ms: number | undefined): string {
  return ms === undefined ? '?' : formatDuration(ms, true)
}

/** `850ms`, `12.3s`, `3m04s`, `1h02m`; with `whole`, seconds are rounded up (`1s`, `12s`). */
export function formatDuration(ms: number, whole = false): string {
  if (whole) {
    const s = Math.ceil(ms / 1000)
    if (s < 60) return `${s}s`
    return formatDuration(s * 1000)
  }
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const totalS = Math.round(ms / 1000)
  if (totalS < 3600) return `${Math.floor(totalS / 60)}m${String(totalS % 60).padStart(2, '0')}s`
  const totalM = Math.floor(totalS / 60)
  return `${Math.floor(totalM / 60)}h${String(totalM % 60).padStart(2, '0')}m`
}
