/**
 * The outbox's error codes. Every failure the outbox reports is an `OutboxError` with a
 * stable `code`, so the agent can react by code (move a corrupt file aside, wait for a
 * lock, count a rejected reading) without parsing messages. SQLite's own code is kept
 * in `sqliteCode`, as MQTT.js keeps reason codes on its errors.
 */
import type { Violation } from '../../shared/mqtt/index.ts'

/** Every code an `OutboxError` can carry. */
export const OUTBOX_ERROR_CODES = {
  /** The file is not a SQLite database, or SQLite found it damaged. */
  OUTBOX_CORRUPT: 'outbox database is corrupt',
  /** Another connection (normally another agent process) holds the outbox's exclusive lock. */
  OUTBOX_LOCKED: 'outbox database is locked by another process',
  /** The file is a SQLite database, but not an outbox, or one written by a newer schema. */
  OUTBOX_SCHEMA: 'outbox schema is not readable by this version',
  /** The file or its folder cannot be opened (missing folder, permissions). */
  OUTBOX_CANTOPEN: 'outbox database cannot be opened',
  /** The disk is full: nothing was stored. */
  OUTBOX_DISK_FULL: 'disk is full',
  /** Any other I/O failure reported by SQLite. */
  OUTBOX_IO: 'outbox I/O error',
  /** `append` got a reading the wire contract rejects; nothing from that call was stored. */
  OUTBOX_INVALID_READING: 'reading violates the wire contract',
  /** The constructor got options it cannot work with. */
  OUTBOX_OPTIONS: 'invalid outbox options',
  /** A method was called before `open()`, after `close()`, or `open()` twice. */
  OUTBOX_STATE: 'outbox is not in a state for this call',
} as const

/** One of `OUTBOX_ERROR_CODES`. */
export type OutboxErrorCode = keyof typeof OUTBOX_ERROR_CODES

/** A failure of the outbox, with a stable code. */
export class OutboxError extends Error {
  override name = 'OutboxError'
  /** Stable code; the message may change, the code does not. */
  readonly code: OutboxErrorCode
  /** SQLite's extended result code (e.g. `SQLITE_NOTADB`) when SQLite raised it. */
  readonly sqliteCode: string | undefined
  /** For `OUTBOX_INVALID_READING`: what is wrong, as `decode` would report it. */
  readonly violations: readonly Violation[]

  constructor(code: OutboxErrorCode, detail: string, options: { cause?: unknown; sqliteCode?: string; violations?: readonly Violation[] } = {}) {
    super(`${OUTBOX_ERROR_CODES[code]}: ${detail}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.sqliteCode = options.sqliteCode
    this.violations = options.violations ?? []
  }
}

/** SQLite result-code prefixes → outbox codes (https://www.sqlite.org/rescode.html). */
const SQLITE_CODES: ReadonlyArray<readonly [prefix: string, code: OutboxErrorCode]> = [
  ['SQLITE_NOTADB', 'OUTBOX_CORRUPT'],
  ['SQLITE_CORRUPT', 'OUTBOX_CORRUPT'],
  ['SQLITE_BUSY', 'OUTBOX_LOCKED'],
  ['SQLITE_LOCKED', 'OUTBOX_LOCKED'],
  ['SQLITE_CANTOPEN', 'OUTBOX_CANTOPEN'],
  ['SQLITE_READONLY', 'OUTBOX_CANTOPEN'],
  ['SQLITE_PERM', 'OUTBOX_CANTOPEN'],
  ['SQLITE_FULL', 'OUTBOX_DISK_FULL'],
]

/** What the agent should do about each SQLite-raised code, appended to the message. */
const ADVICE: Partial<Record<OutboxErrorCode, string>> = {
  OUTBOX_CORRUPT: 'move the file (and its -wal) aside to start an empty outbox; seq then restarts at the current time in ms (docs/wire-contract.md)',
  OUTBOX_LOCKED: 'only one agent may own an outbox file; is another agent running on it?',
  OUTBOX_CANTOPEN: 'check that the folder exists and is writable',
}

/**
 * Wraps an error thrown by better-sqlite3 (or by the file system under it) as an
 * `OutboxError` naming the file and the operation; `fallback` is the code when SQLite
 * gave none (better-sqlite3 throws a plain TypeError for a missing folder). An
 * `OutboxError` passes through.
 */
export function fromSqlite(error: unknown, path: string, operation: string, fallback: OutboxErrorCode = 'OUTBOX_IO'): OutboxError {
  if (error instanceof OutboxError) return error
  const sqliteCode = typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : undefined
  const mapped = sqliteCode === undefined ? undefined : SQLITE_CODES.find(([prefix]) => sqliteCode.startsWith(prefix))?.[1]
  const code: OutboxErrorCode = mapped ?? (sqliteCode === undefined ? fallback : 'OUTBOX_IO')
  const message = error instanceof Error ? error.message : String(error)
  const advice = ADVICE[code]
  const detail = `${operation} ${path}: ${message}${sqliteCode === undefined ? '' : ` (${sqliteCode})`}${advice === undefined ? '' : `; ${advice}`}`
  return new OutboxError(code, detail, sqliteCode === undefined ? { cause: error } : { cause: error, sqliteCode })
}
