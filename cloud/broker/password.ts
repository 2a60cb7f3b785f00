/**
 * Password hashes for broker credentials: scrypt (RFC 7914) from `node:crypto`, one
 * random salt per entry, stored as `scrypt$N$r$p$salt$hash` (salt and hash in base64).
 *
 * - Verification compares in constant time (`timingSafeEqual`), and an unknown user
 *   is checked against a dummy hash, so the answer takes as long either way and the
 *   timing does not tell which usernames exist.
 * - Parameters read from a file are bounded (N ≤ 2^20, r ≤ 32, p ≤ 16) so a bad
 *   credentials file cannot make one CONNECT cost gigabytes of memory.
 * - A parsed hash prints as `[scrypt hash]` (String, JSON, util.inspect): a
 *   credential can be logged by mistake without leaking the hash.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/** Cost parameters of new hashes: N = 2^15, r = 8, p = 1 (~32 MiB, tens of ms per check). */
export const DEFAULT_SCRYPT = Object.freeze({ N: 32768, r: 8, p: 1, saltBytes: 16, keyBytes: 32 })

const MAX_N = 2 ** 20
const MAX_R = 32
const MAX_P = 16
const HIDDEN = '[scrypt hash]'

/** The parameters, salt and derived key of one stored hash. */
export class PasswordHash {
  readonly N: number
  readonly r: number
  readonly p: number
  readonly #salt: Buffer
  readonly #key: Buffer

  constructor(N: number, r: number, p: number, salt: Buffer, key: Buffer) {
    this.N = N
    this.r = r
    this.p = p
    this.#salt = salt
    this.#key = key
  }

  /** True when `password` derives to this hash; compares in constant time. */
  async verify(password: string | Buffer): Promise<boolean> {
    const derived = await scrypt(password, this.#salt, this.#key.length, { N: this.N, r: this.r, p: this.p, maxmem: maxmem(this.N, this.r) })
    return derived.length === this.#key.length && timingSafeEqual(derived, this.#key)
  }

  toString(): string {
    return HIDDEN
  }

  toJSON(): string {
    return HIDDEN
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return HIDDEN
  }
}

function scrypt(password: string | Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))))
}

// scrypt needs 128·N·r bytes; Node's default limit (32 MiB) is exactly N=2^15, r=8.
const maxmem = (N: number, r: number): number => 256 * N * r

/** A new `scrypt$N$r$p$salt$hash` for `plain`, with a fresh random salt. */
export async function hashPassword(plain: string, params: { N?: number; r?: number; p?: number } = {}): Promise<string> {
  const { N, r, p } = { ...DEFAULT_SCRYPT, ...params }
  const problem = paramProblem(N, r, p)
  if (problem !== undefined) throw new Error(problem)
  const salt = randomBytes(DEFAULT_SCRYPT.saltBytes)
  const key = await scrypt(plain, salt, DEFAULT_SCRYPT.keyBytes, { N, r, p, maxmem: maxmem(N, r) })
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`
}

function paramProblem(N: number, r: number, p: number): string | undefined {
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return `N must be a power of two from 2 to ${MAX_N}`
  if (!Number.isInteger(r) || r < 1 || r > MAX_R) return `r must be an integer from 1 to ${MAX_R}`
  if (!Number.isInteger(p) || p < 1 || p > MAX_P) return `p must be an integer from 1 to ${MAX_P}`
  return undefined
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const INT = /^[1-9][0-9]{0,8}$/

/**
 * Parses `scrypt$N$r$p$salt$hash`. Returns the hash, or the reason it is not one;
 * the reason never quotes the value.
 */
export function parsePasswordHash(encoded: string): PasswordHash | string {
  const parts = encoded.split('$')
  const format = 'must be scrypt$N$r$p$salt$hash with salt and hash in base64 (make one with hashPassword)'
  if (parts.length !== 6 || parts[0] !== 'scrypt') return format
  const [, n, r, p, salt, key] = parts as [string, string, string, string, string, string]
  if (!INT.test(n) || !INT.test(r) || !INT.test(p)) return format
  const problem = paramProblem(Number(n), Number(r), Number(p))
  if (problem !== undefined) return `scrypt parameters: ${problem}`
  if (!BASE64.test(salt) || !BASE64.test(key)) return format
  const saltBytes = Buffer.from(salt, 'base64')
  const keyBytes = Buffer.from(key, 'base64')
  if (saltBytes.length < 8) return 'the salt must be at least 8 bytes'
  if (keyBytes.length < 16) return 'the hash must be at least 16 bytes'
  return new PasswordHash(Number(n), Number(r), Number(p), saltBytes, keyBytes)
}

// Checked against when the username is unknown, so that answer costs a full scrypt too.
let dummy: PasswordHash | undefined

/** A hash no password matches in practice, with the default cost (for unknown users). */
export function dummyHash(): PasswordHash {
  dummy ??= new PasswordHash(DEFAULT_SCRYPT.N, DEFAULT_SCRYPT.r, DEFAULT_SCRYPT.p, randomBytes(DEFAULT_SCRYPT.saltBytes), randomBytes(DEFAULT_SCRYPT.keyBytes))
  return dummy
}
