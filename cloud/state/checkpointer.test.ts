import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Checkpointer } from './checkpointer.ts'
import { openStateDb, type StateDb } from './db.ts'

let dir: string
const open: StateDb[] = []
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-checkpoint-'))
})
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

function db(name: string): { db: StateDb; path: string } {
  const path = join(dir, name)
  const d = openStateDb(path)
  open.push(d)
  return { db: d, path }
}

const walBytes = (path: string): number => statSync(`${path}-wal`).size
const autocheckpoint = (d: StateDb): number => d.pragma('wal_autocheckpoint', { simple: true }) as number

/** Commits `rounds` small transactions (4 dedupe rows each) a few ms apart, as ingest does; returns the largest WAL seen. */
async function busyWriter(d: StateDb, path: string, rounds: number): Promise<number> {
  const put = d.prepare('INSERT INTO seen_batches (gateway, seq, at) VALUES (?, ?, ?)')
  let max = 0
  for (let i = 0; i < rounds; i++) {
    d.transaction(() => {
      for (let g = 0; g < 4; g++) put.run(`gw-${g}`, i, i)
    })()
    max = Math.max(max, walBytes(path))
    await new Promise((r) => setTimeout(r, 2))
  }
  return max
}

describe('Checkpointer: WAL checkpoints in a worker thread', () => {
  it('takes checkpoints off the connection, keeps a busy writer\'s WAL small, and loses no commit', async () => {
    // The same writes with no checkpoint at all, for comparison.
    const control = db('control.sqlite')
    control.db.pragma('wal_autocheckpoint = 0')
    const unbounded = await busyWriter(control.db, control.path, 400)

    const { db: d, path } = db('state.sqlite')
    const ck = new Checkpointer(d, path, { intervalMs: 50 })
    expect(autocheckpoint(d)).toBe(0)
    const bounded = await busyWriter(d, path, 400)
    await new Promise((r) => setTimeout(r, 120))
    const stats = ck.stats()
    expect(stats.runs).toBeGreaterThan(3)
    expect(stats.frames).toBeGreaterThan(0)
    // Each run ended with RESTART (the writer never paused for a passive one to finish).
    expect(stats.restarts).toBe(stats.runs)
    expect(stats.running).toBe(true)
    // The WAL started over again and again: it never grew like the unchecked one.
    expect(bounded).toBeLessThan(unbounded / 2)
    await ck.stop()
    expect(autocheckpoint(d)).toBe(1000)
    expect(ck.stats().running).toBe(false)
    d.close()
    const again = openStateDb(path)
    open.push(again)
    expect((again.prepare('SELECT count(*) AS n FROM seen_batches').get() as { n: number }).n).toBe(1600)
  })

  it('a worker that fails hands checkpoints back to SQLite, and says so', async () => {
    const { db: d } = db('state.sqlite')
    const lines: string[] = []
    // The worker cannot open this file: it fails at once.
    const ck = new Checkpointer(d, join(dir, 'missing', 'state.sqlite'), { intervalMs: 50, log: (l) => lines.push(l) })
    for (let i = 0; i < 200 && ck.stats().running; i++) await new Promise((r) => setTimeout(r, 10))
    expect(ck.stats().running).toBe(false)
    expect(autocheckpoint(d)).toBe(1000)
    expect(lines.join('\n')).toMatch(/background checkpoints stopped \(.+\); SQLite checkpoints on commit again/)
    await ck.stop()
  })
})
