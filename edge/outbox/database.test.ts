/**
 * Opening an outbox file: durability pragmas, schema version and identity checks, and
 * clear errors for a corrupt, foreign, newer, locked or unreachable file.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { APPLICATION_ID, openDatabase, SCHEMA_VERSION } from './database.ts'
import { OutboxError } from './errors.ts'
import { Outbox } from './outbox.ts'
import { GATEWAY, openOutbox, reading, SITE, tempDir } from './test-support/outbox-helpers.ts'

let dir: ReturnType<typeof tempDir>
beforeEach(() => (dir = tempDir()))
afterEach(() => dir.remove())

function openError(path: string, lockTimeoutMs = 50): OutboxError {
  const o = new Outbox({ path, site: SITE, gateway: GATEWAY, maxReadings: 10, maxAgeMs: 1000, lockTimeoutMs })
  try {
    o.open()
  } catch (e) {
    if (e instanceof OutboxError) return e
    throw e
  }
  o.close()
  throw new Error('open() succeeded')
}

describe('openDatabase', () => {
  it('creates a WAL file with synchronous FULL, exclusive locking, its application id and schema version', () => {
    const db = openDatabase(dir.file('o.db'), { lockTimeoutMs: 50 })
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(db.pragma('synchronous', { simple: true })).toBe(2) // FULL
      expect(db.pragma('locking_mode', { simple: true })).toBe('exclusive')
      expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID)
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    } finally {
      db.close()
    }
  })

  it('opens its own file again without migrating it', () => {
    const path = dir.file('o.db')
    const o = openOutbox(path)
    o.append([reading('a', 1)])
    o.close()
    const again = openOutbox(path)
    expect(again.stats().pending).toBe(1)
    again.close()
  })
})

describe('Outbox.open errors', () => {
  it('says a file that is not SQLite is corrupt, naming the file and what to do', () => {
    const path = dir.file('garbage.db')
    writeFileSync(path, Buffer.alloc(8192, 0x5a))
    const e = openError(path)
    expect(e).toMatchObject({ code: 'OUTBOX_CORRUPT', sqliteCode: 'SQLITE_NOTADB' })
    expect(e.message).toContain(path)
    expect(e.message).toMatch(/move the file .* aside/)
  })

  it('says a damaged outbox is corrupt', () => {
    const path = dir.file('o.db')
    const o = openOutbox(path)
    o.append(Array.from({ length: 2000 }, (_, i) => reading('a', i)))
    o.close()
    const db = new Database(path)
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    // Overwrite page 3 onwards (table b-tree pages) with noise; the header stays valid.
    const bytes = readFileSync(path)
    bytes.fill(0xa5, 4096 * 2, 4096 * 5)
    writeFileSync(path, bytes)
    expect(openError(path).code).toBe('OUTBOX_CORRUPT')
  })

  it('refuses a SQLite file that is not an outbox', () => {
    const path = dir.file('other.db')
    const db = new Database(path)
    db.exec('CREATE TABLE t (x)')
    db.close()
    const e = openError(path)
    expect(e.code).toBe('OUTBOX_SCHEMA')
    expect(e.message).toMatch(/not a muni-iot outbox/)
  })

  it('refuses an outbox written by a newer schema', () => {
    const path = dir.file('o.db')
    openOutbox(path).close()
    const db = new Database(path)
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    const e = openError(path)
    expect(e.code).toBe('OUTBOX_SCHEMA')
    expect(e.message).toMatch(new RegExp(`schema ${SCHEMA_VERSION + 1}; this build reads up to ${SCHEMA_VERSION}`))
  })

  it('says the file is locked while another outbox owns it, and opens once it is released', () => {
    const path = dir.file('o.db')
    const owner = openOutbox(path)
    const started = Date.now()
    const e = openError(path, 100)
    expect(e).toMatchObject({ code: 'OUTBOX_LOCKED', sqliteCode: 'SQLITE_BUSY' })
    expect(e.message).toMatch(/another agent/)
    expect(Date.now() - started).toBeLessThan(2_000)
    owner.close()
    openOutbox(path).close()
  })

  it('says when the folder does not exist', () => {
    const e = openError(dir.file('missing/o.db'))
    expect(e.code).toBe('OUTBOX_CANTOPEN')
    expect(e.message).toMatch(/directory does not exist.*check that the folder exists/)
  })
})
