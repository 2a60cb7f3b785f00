/**
 * The durable session counter (docs/wire-contract.md, "Session and the Last Will";
 * Sparkplug 3.0 bdSeq): +1 before every connection attempt, persisted before the
 * CONNECT that carries it, so the birth, states and Will of one connection share a
 * number no earlier connection used — across restarts too.
 *
 * A small JSON file, `{"session": N, "updatedAt": ms}`, replaced atomically: write a
 * temporary file, fsync it, rename it over the old one, fsync the folder (a power cut
 * leaves the old or the new file, never a torn one). Not a table in the outbox file:
 * the outbox holds its SQLite file in exclusive locking mode on its own connection, and
 * its schema belongs to the outbox; a second file costs one fsync per connect.
 *
 * A missing file (first start, storage replaced) starts at the current time in ms, as
 * seq does: the cloud ignores states whose session is below the highest it has seen, so
 * a counter that restarted at 1 would make a reinstalled gateway look offline for good.
 * An unreadable file is treated the same way, and said so (`recovered`).
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

/** Where the uplink gets the session of its next connection. */
export interface SessionStore {
  /** Increments the counter, persists it, and returns the new value. Throws when it cannot persist. */
  next(): number
}

export interface FileSessionStoreOptions {
  /** ms since the epoch, for the first value of a new file (default `Date.now`). */
  now?: () => number
}

/** The session counter in a JSON file. */
export class FileSessionStore implements SessionStore {
  readonly #path: string
  readonly #now: () => number
  #last: number | undefined
  #loaded = false
  #recovered: string | undefined

  constructor(path: string, options: FileSessionStoreOptions = {}) {
    this.#path = path
    this.#now = options.now ?? Date.now
  }

  get path(): string {
    return this.#path
  }

  /** The last persisted session, or undefined when there is none yet. */
  current(): number | undefined {
    this.#load()
    return this.#last
  }

  /** Why the file was not used, when it existed but could not be read (undefined otherwise). */
  get recovered(): string | undefined {
    this.#load()
    return this.#recovered
  }

  next(): number {
    this.#load()
    const next = this.#last === undefined ? Math.floor(this.#now()) : this.#last + 1
    if (!Number.isSafeInteger(next) || next < 0) throw new Error(`session store ${this.#path}: cannot go past ${this.#last}`)
    this.#write(next)
    this.#last = next
    return next
  }

  #load(): void {
    if (this.#loaded) return
    this.#loaded = true
    let text: string
    try {
      text = readFileSync(this.#path, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
      throw e
    }
    try {
      const session = (JSON.parse(text) as { session?: unknown }).session
      if (typeof session === 'number' && Number.isSafeInteger(session) && session >= 0) {
        this.#last = session
        return
      }
      this.#recovered = `${this.#path} holds no valid session; starting from the current time`
    } catch (e) {
      this.#recovered = `${this.#path} is not JSON (${e instanceof Error ? e.message : String(e)}); starting from the current time`
    }
  }

  #write(session: number): void {
    const dir = dirname(this.#path)
    const tmp = join(dir, `.${basename(this.#path)}.tmp`)
    const fd = openSync(tmp, 'w', 0o644)
    try {
      writeSync(fd, `${JSON.stringify({ session, updatedAt: Math.floor(this.#now()) })}\n`)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, this.#path)
    // The rename is durable once the folder's entry is on disk.
    const dirFd = openSync(dir, 'r')
    try {
      fsyncSync(dirFd)
    } finally {
      closeSync(dirFd)
    }
  }
}

/** A session store in memory, for tests and tools that never restart. */
export class MemorySessionStore implements SessionStore {
  #last: number | undefined
  constructor(start?: number) {
    this.#last = start === undefined ? undefined : start - 1
  }
  next(): number {
    this.#last = this.#last === undefined ? Date.now() : this.#last + 1
    return this.#last
  }
}
