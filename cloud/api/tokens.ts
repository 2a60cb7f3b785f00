/**
 * API bearer tokens, kept in SQLite. A token is shown once, at creation; the file holds
 * only its SHA-256, so a copy of the file grants nothing.
 *
 * Lookup is by hash through a unique index, with no slow KDF and no constant-time compare:
 * that is safe only because tokens are 256 random bits. Nobody can brute-force a preimage
 * of such a hash, and a timing difference in the index lookup tells an attacker about the
 * hash, never about a token they do not have. (Passwords, chosen by people, would need a
 * slow salted KDF instead.)
 */
import { createHash, randomBytes } from 'node:crypto'
import Database from 'better-sqlite3'

/** Roles, weakest first: each role may do everything the ones before it may. */
export const ROLES = ['viewer', 'operator', 'engineer', 'admin'] as const
export type Role = (typeof ROLES)[number]

/** Every token starts with this, so secret scanners and people recognise one. */
export const TOKEN_PREFIX = 'muni_'

/** Who a verified token belongs to. */
export interface Principal {
  id: string
  name: string
  role: Role
}

/** A token as listed: never the token, never its hash. */
export interface TokenInfo extends Principal {
  /** ms since the epoch. */
  createdAt: number
  /** ms since the epoch; absent while the token is active. */
  revokedAt?: number
}

export interface TokenStore {
  /** A new token; `token` is returned here and never again. */
  create(name: string, role: Role): { id: string; token: string }
  /** True when an active token was revoked; false for an unknown or already revoked id. */
  revoke(id: string): boolean
  /** Every token, active and revoked, oldest first. */
  list(): TokenInfo[]
  /** The token's owner, or undefined for an unknown, revoked or malformed token. */
  verify(token: string): Principal | undefined
  close(): void
}

/** True when `role` is `needed` or stronger. */
export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed)
}

export function isRole(v: unknown): v is Role {
  return (ROLES as readonly unknown[]).includes(v)
}

const hash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')

/** 43 base64url characters after the prefix (32 bytes). */
const TOKEN_RE = /^muni_[A-Za-z0-9_-]{43}$/

interface Row {
  id: string
  name: string
  role: string
  created_at: number
  revoked_at: number | null
}

function toInfo(r: Row): TokenInfo {
  // The CHECK constraint keeps role valid; fall back to the weakest role if someone edited the file.
  const info: TokenInfo = { id: r.id, name: r.name, role: isRole(r.role) ? r.role : 'viewer', createdAt: r.created_at }
  if (r.revoked_at !== null) info.revokedAt = r.revoked_at
  return info
}

/**
 * Opens (creating if needed) the token file at `path`, or an in-memory store for `:memory:`.
 * `now` is injectable for tests.
 */
export function openTokenStore(path: string, opts: { now?: () => number } = {}): TokenStore {
  const now = opts.now ?? Date.now
  const db = new Database(path)
  if (path !== ':memory:') db.pragma('journal_mode = WAL')
  db.exec(`
    CREATE TABLE IF NOT EXISTS tokens (
      id         TEXT PRIMARY KEY,
      name       TEXT NOT NULL,
      role       TEXT NOT NULL CHECK (role IN (${ROLES.map((r) => `'${r}'`).join(', ')})),
      hash       TEXT NOT NULL UNIQUE, -- hex SHA-256 of the token; the token itself is never stored
      created_at INTEGER NOT NULL,
      revoked_at INTEGER
    ) STRICT;
  `)
  const insert = db.prepare('INSERT INTO tokens (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)')
  const revoke = db.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
  const list = db.prepare<[], Row>('SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY created_at, rowid')
  const byHash = db.prepare<[string], Row>('SELECT id, name, role, created_at, revoked_at FROM tokens WHERE hash = ? AND revoked_at IS NULL')

  return {
    create(name, role) {
      if (!isRole(role)) throw new TypeError(`role must be one of ${ROLES.join(', ')}`)
      const id = `tok_${randomBytes(9).toString('base64url')}`
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
      insert.run(id, name, role, hash(token), now())
      return { id, token }
    },
    revoke: (id) => revoke.run(now(), id).changes > 0,
    list: () => list.all().map(toInfo),
    verify(token) {
      if (typeof token !== 'string' || !TOKEN_RE.test(token)) return undefined
      const row = byHash.get(hash(token))
      if (row === undefined) return undefined
      const { id, name, role } = toInfo(row)
      return { id, name, role }
    },
    close: () => db.close(),
  }
}
