import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openTokenStore, ROLES, roleAtLeast, TOKEN_PREFIX } from './tokens.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-tokens-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** Every byte SQLite wrote for the store: the file and, in WAL mode, its log. */
const fileBytes = (path: string): Buffer =>
  Buffer.concat([path, `${path}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p)))

describe('token store', () => {
  it('creates muni_ tokens of 32 random bytes that verify to their owner', () => {
    const store = openTokenStore(':memory:')
    const a = store.create('scada', 'operator')
    const b = store.create('scada', 'operator')
    expect(a.token).toMatch(/^muni_[A-Za-z0-9_-]{43}$/)
    expect(Buffer.from(a.token.slice(TOKEN_PREFIX.length), 'base64url')).toHaveLength(32)
    expect(a.token).not.toBe(b.token)
    expect(a.id).not.toBe(b.id)
    expect(store.verify(a.token)).toEqual({ id: a.id, name: 'scada', role: 'operator' })
    store.close()
  })

  it.each(['', 'muni_', 'Bearer x', `muni_${'A'.repeat(43)}`, `muni_${'A'.repeat(44)}`])('verify(%j) is undefined', (t) => {
    const store = openTokenStore(':memory:')
    store.create('x', 'admin')
    expect(store.verify(t)).toBeUndefined()
    store.close()
  })

  it('keeps only the SHA-256 of the token in the file, never the token', () => {
    const path = join(dir, 'tokens.db')
    const store = openTokenStore(path)
    const { token } = store.create('scada', 'admin')
    const bytes = fileBytes(path)
    store.close()
    const closed = fileBytes(path)
    const secret = token.slice(TOKEN_PREFIX.length)
    for (const b of [bytes, closed]) {
      expect(b.includes(Buffer.from(secret))).toBe(false)
      expect(b.includes(Buffer.from(token))).toBe(false)
    }
    expect(closed.includes(Buffer.from(createHash('sha256').update(token).digest('hex')))).toBe(true)
  })

  it('list() never carries the token or its hash', () => {
    const store = openTokenStore(':memory:')
    const { id, token } = store.create('scada', 'viewer')
    const listed = store.list()
    expect(listed).toEqual([{ id, name: 'scada', role: 'viewer', createdAt: expect.any(Number) }])
    const text = JSON.stringify(listed)
    expect(text).not.toContain(token)
    expect(text).not.toContain(createHash('sha256').update(token).digest('hex'))
    store.close()
  })

  it('revoke stops a token at once, keeps it listed, and is false the second time', () => {
    let t = 1000
    const store = openTokenStore(':memory:', { now: () => t })
    const { id, token } = store.create('old', 'engineer')
    t = 2000
    expect(store.revoke(id)).toBe(true)
    expect(store.verify(token)).toBeUndefined()
    expect(store.list()).toEqual([{ id, name: 'old', role: 'engineer', createdAt: 1000, revokedAt: 2000 }])
    expect(store.revoke(id)).toBe(false)
    expect(store.revoke('tok_unknown')).toBe(false)
    store.close()
  })

  it('persists tokens and revocations across reopening', () => {
    const path = join(dir, 'tokens.db')
    const first = openTokenStore(path)
    const kept = first.create('kept', 'admin')
    const gone = first.create('gone', 'viewer')
    first.revoke(gone.id)
    first.close()

    const second = openTokenStore(path)
    expect(second.verify(kept.token)).toEqual({ id: kept.id, name: 'kept', role: 'admin' })
    expect(second.verify(gone.token)).toBeUndefined()
    expect(second.list().map((i) => [i.name, i.revokedAt !== undefined])).toEqual([
      ['kept', false],
      ['gone', true],
    ])
    second.close()
  })

  it('refuses an unknown role', () => {
    const store = openTokenStore(':memory:')
    expect(() => store.create('x', 'root' as never)).toThrow(/role must be one of viewer, operator, engineer, admin/)
    store.close()
  })

  it('orders roles viewer < operator < engineer < admin', () => {
    const table = ROLES.map((have) => ROLES.map((need) => (roleAtLeast(have, need) ? 1 : 0)).join(''))
    expect(table).toEqual(['1000', '1100', '1110', '1111'])
  })
})
