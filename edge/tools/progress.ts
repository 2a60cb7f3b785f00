/**
 * Progress of an edge tool on stderr, as the replay tool shows it
 * (simulators/replay/progress.ts; edge cannot import simulators): a cli-progress
 * bar (items, rate, ETA) when the stream is a terminal; otherwise plain lines that
 * read well in a log, at most one per `intervalMs` plus one at every 10 %:
 *
 *   scan: 120/500 (24%) 9.8 probes/s ETA 39s
 */
import cliProgress from 'cli-progress'

export interface ProgressStream {
  write(chunk: string): unknown
  isTTY?: boolean
}

export interface ProgressOptions {
  /** Line prefix, e.g. `scan`. */
  label: string
  /** What is counted, plural, e.g. `probes`. */
  items: string
  /** Default `process.stderr`. */
  stream?: ProgressStream
  /** Draw a bar; default `stream.isTTY`. */
  tty?: boolean
  /** Clock, ms; default `performance.now`. */
  now?: () => number
  /** Default 1000 ms. */
  intervalMs?: number
}

export interface Progress {
  update(done: number, total: number): void
  /** Removes the bar, if any (plain mode has nothing to end). */
  stop(): void
}

export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr
  const tty = o.tty ?? stream.isTTY === true
  const now = o.now ?? (() => performance.now())
  const startedAt = now()
  const rateEta = (done: number, total: number): { rate: number; etaMs: number | undefined } => {
    const s = (now() - startedAt) / 1000
    const rate = s > 0 ? done / s : 0
    return { rate, etaMs: rate > 0 ? ((total - done) / rate) * 1000 : undefined }
  }
  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream: stream as NodeJS.WritableStream,
        format: `${o.label} [{bar}] {value}/{total} {percentage}% | {rate} ${o.items}/s | ETA {etaText}`,
        hideCursor: true,
        fps: 10,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    )
    let started = false
    return {
      update(done, total) {
        const { rate, etaMs } = rateEta(done, total)
        const tokens = { rate: formatRate(rate), etaText: formatEta(etaMs) }
        if (!started) {
          bar.start(total, done, tokens)
          started = true
        }
        bar.update(done, tokens)
      },
      stop() {
        if (started) bar.stop()
      },
    }
  }
  const intervalMs = o.intervalMs ?? 1000
  let lastAt = startedAt
  let lastStep = 0
  return {
    update(done, total) {
      if (total <= 0 || done <= 0) return
      const t = now()
      const step = Math.floor((done * 10) / total)
      if (step > lastStep || t - lastAt >= intervalMs) {
        lastStep = step
        lastAt = t
        const { rate, etaMs } = rateEta(done, total)
        stream.write(`${formatProgressLine(o.label, o.items, done, total, rate, etaMs)}\n`)
      }
    },
    stop() {},
  }
}

/** `scan: 120/500 (24%) 9.8 probes/s ETA 39s`. */
export function formatProgressLine(label: string, items: string, done: number, total: number, rate: number, etaMs: number | undefined): string {
  const pct = total > 0 ? Math.floor((done * 100) / total) : 100
  return `${label}: ${done}/${total} (${pct}%) ${formatRate(rate)} ${items}/s ETA ${formatEta(etaMs)}`
}

/** One decimal below 10, whole numbers above. */
export function formatRate(rate: number): string {
  return rate < 10 ? rate.toFixed(1) : String(Math.round(rate))
}

function formatEta(ms: number | undefined): string {
  if (ms === undefined) return '?'
  const s = Math.ceil(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}
