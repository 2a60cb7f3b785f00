import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { describeTelemetryStore, reading } from './contract.ts'
import { openSqliteStore } from './sqlite.ts'

describeTelemetryStore('sqlite', async () => {
  const store = openSqliteStore(':memory:')
  return { store, dispose: () => store.close() }
})

describe('sqlite store on a file', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  const file = () => {
    const dir = mkdtempSync(join(tmpdir(), 'muni-sqlite-store-'))
    dirs.push(dir)
    return join(dir, 'telemetry.db')
  }

  it('keeps readings across close and reopen, in WAL mode with full sync by default', async () => {
    const path = file()
    const a = openSqliteStore(path)
    await a.write([reading(0, { level_m: 1 }), reading(1000, { level_m: 2 })])
    await a.close()
    const db = new Database(path, { readonly: true })
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    db.close()
    const b = openSqliteStore(path)
    expect(await b.countByDevice()).toEqual(new Map([['gw-1/wl-1', 2]]))
    await b.close()
  })

  it('writes a batch in one transaction: a failing reading leaves nothing behind', async () => {
    const store = openSqliteStore(file(), { synchronous: 'normal' })
    const bad = reading(2000, { level_m: 3 }, { device: null as unknown as string })
    await expect(store.write([reading(0, { level_m: 1 }), reading(1000, { level_m: 2 }), bad])).rejects.toThrow(/sqlite write of 3 readings to .*telemetry\.db failed/)
    expect(await store.countByDevice()).toEqual(new Map())
    await store.close()
  })

  it('stores a non-finite number as the point error nan, with the full errors kept', async () => {
    const store = openSqliteStore(':memory:')
    await store.write([reading(0, { level_m: Number.NaN, temp_c: 4 }, { errors: { flow_lps: { code: 'exception', exception: 2, detail: 'illegal data address' } } })])
    const r = await store.query({ gateway: 'gw-1', device: 'wl-1', from: 0, to: Number.MAX_SAFE_INTEGER, limit: 10 })
    expect(r.rows).toEqual([{ ts: expect.any(Number), values: { flow_lps: null, level_m: null, temp_c: 4 }, errors: { flow_lps: 'exception', level_m: 'nan' } }])
    await store.close()
  })
})
