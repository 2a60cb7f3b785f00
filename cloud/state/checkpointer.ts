/**
 * WAL checkpoints off the event loop.
 *
 * In WAL mode with `synchronous = NORMAL` a commit never waits for the disk; the checkpoint
 * does: it copies the WAL back into the database file and fsyncs it. SQLite runs one
 * automatically inside whichever commit takes the WAL past 1,000 pages, on the thread that
 * commits: here the cloud's event loop, which also carries the broker, ingest, the alarm
 * engine and the SSE stream. With the ingest's dedupe rows and the alarm log committing a
 * few hundred times a second, that was a checkpoint every second or so, each an 8 ms stall
 * on this machine's disk: the largest part of the publish → SSE alarm latency tail
 * (issue 6 §9).
 *
 * So the cloud's connection turns automatic checkpoints off and a worker thread, with its own
 * connection to the same file, runs `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs`:
 * PASSIVE never waits for (or blocks) the writer, and does the bulk of the copying and the
 * fsync. The WAL starts over only after a checkpoint that left no frame behind, which a busy
 * writer never allows (it commits during every fsync), so when frames are left the worker
 * follows with `RESTART`: it takes the writer's lock for what little is left and resets the
 * WAL. A commit on the event loop then waits at most that short moment (busy_timeout), and
 * the WAL stays near one second of commits.
 *
 * If the worker fails, the connection goes back to SQLite's automatic checkpoints (logged):
 * slower commits, never an unbounded WAL. Durability is unchanged: checkpoints only move
 * committed pages, and SQLite's own locking keeps the two connections consistent.
 */
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { StateDb } from './db.ts'

export interface CheckpointerOptions {
  /** How often the worker checkpoints (default 1,000 ms). */
  intervalMs?: number
  log?: (line: string) => void
}

export interface CheckpointStats {
  /** Checkpoints the worker ran. */
  runs: number
  /** WAL frames copied into the database file by them. */
  frames: number
  /** Checkpoints that ended with RESTART (the writer waited for those). */
  restarts: number
  /** The longest RESTART, ms: the longest a commit on the event loop can have waited. */
  maxRestartMs: number
  /** False once the worker failed and SQLite's automatic checkpoints are back. */
  running: boolean
}

const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000

// Plain CommonJS so it runs in a worker without the TypeScript loader.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path, { fileMustExist: true })
db.pragma('busy_timeout = 5000')
const run = () => {
  // PASSIVE copies the WAL into the database and fsyncs it without blocking the writer. Frames
  // committed meanwhile are left, and the WAL only starts over once none are: RESTART then
  // takes the writer's lock for the little that is left, so the WAL stays small.
  const t0 = performance.now()
  const [p] = db.pragma('wal_checkpoint(PASSIVE)')
  let restartMs
  if (p) {
    const t1 = performance.now()
    db.pragma('wal_checkpoint(RESTART)')
    restartMs = performance.now() - t1
  }
  parentPort.postMessage({ type: 'ran', frames: p ? p.checkpointed : 0, restartMs })
}
const timer = setInterval(run, workerData.intervalMs)
parentPort.on('message', (m) => {
  if (m !== 'stop') return
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

export class Checkpointer {
  readonly #db: StateDb
  readonly #worker: Worker
  readonly #log: (line: string) => void
  readonly #stats: CheckpointStats = { runs: 0, frames: 0, restarts: 0, maxRestartMs: 0, running: true }
  #stopping = false
  #exited = false

  /** Starts checkpointing `db` (opened from `path`, in WAL mode) in a worker thread. */
  constructor(db: StateDb, path: string, options: CheckpointerOptions = {}) {
    this.#db = db
    this.#log = options.log ?? (() => {})
    db.pragma('wal_autocheckpoint = 0')
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    this.#worker = new Worker(WORKER, {
      eval: true,
      // The loader flags of the parent (tsx) are not needed by plain CommonJS.
      execArgv: [],
      workerData: { path, driver, intervalMs: options.intervalMs ?? 1000 },
    })
    this.#worker.unref()
    this.#worker.on('message', (m: { type: string; frames?: number; restartMs?: number }) => {
      if (m.type !== 'ran') return
      this.#stats.runs++
      this.#stats.frames += m.frames ?? 0
      if (m.restartMs !== undefined) {
        this.#stats.restarts++
        this.#stats.maxRestartMs = Math.max(this.#stats.maxRestartMs, m.restartMs)
      }
    })
    this.#worker.on('error', (e) => this.#failed(e.message))
    this.#worker.on('exit', (code) => {
      this.#exited = true
      if (!this.#stopping) this.#failed(`worker exited with code ${code}`)
    })
  }

  stats(): CheckpointStats {
    return { ...this.#stats }
  }

  /** Stops the worker; the connection goes back to automatic checkpoints (closing it checkpoints too). */
  async stop(): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    if (!this.#exited) {
      const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()))
      this.#worker.postMessage('stop')
      // The worker closes its connection and lets its loop end; terminate is the fallback.
      const timer = setTimeout(() => void this.#worker.terminate(), 2000)
      await exited
      clearTimeout(timer)
    }
    if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`)
    this.#stats.running = false
  }

  #failed(reason: string): void {
    if (!this.#stats.running) return
    this.#stats.running = false
    this.#log(`cloud: state db: background checkpoints stopped (${reason}); SQLite checkpoints on commit again`)
    if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`)
  }
}
