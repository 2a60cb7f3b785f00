import { Readable } from 'node:stream'
import { inspect } from 'node:util'
import { describe, expect, it } from 'vitest'
import { hashPasswordCli } from './hash-password-cli.ts'
import { DEFAULT_SCRYPT, hashPassword, parsePasswordHash, PasswordHash } from './password.ts'

const parse = (s: string): PasswordHash => {
  const h = parsePasswordHash(s)
  if (typeof h === 'string') throw new Error(h)
  return h
}

describe('password hashes', () => {
  it('hashes with scrypt and a fresh salt, and verifies only the right password', async () => {
    const a = await hashPassword('s3cret', { N: 1024 })
    const b = await hashPassword('s3cret', { N: 1024 })
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/)
    expect(a).not.toBe(b)
    expect(await parse(a).verify('s3cret')).toBe(true)
    expect(await parse(a).verify(Buffer.from('s3cret'))).toBe(true)
    expect(await parse(a).verify('s3cret ')).toBe(false)
    expect(await parse(a).verify('')).toBe(false)
  })

  it('uses N=2^15, r=8, p=1 by default', async () => {
    expect(DEFAULT_SCRYPT).toMatchObject({ N: 32768, r: 8, p: 1 })
    expect(await hashPassword('x')).toMatch(/^scrypt\$32768\$8\$1\$/)
  })

  it.each([
    ['bcrypt$2b$10$abc', 'must be scrypt$N$r$p$salt$hash'],
    ['scrypt$1024$8$1$c2FsdHNhbHQ=', 'must be scrypt$N$r$p$salt$hash'],
    ['scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', 'N must be a power of two'],
    ['scrypt$4194304$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', 'N must be a power of two from 2 to 1048576'],
    ['scrypt$1024$64$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==', 'r must be an integer from 1 to 32'],
    ['scrypt$1024$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==', 'the salt must be at least 8 bytes'],
    ['scrypt$1024$8$1$c2FsdHNhbHQ=$aGFzaA==', 'the hash must be at least 16 bytes'],
    ['scrypt$1024$8$1$not base64!$aGFzaGhhc2hoYXNoaGFzaA==', 'must be scrypt$N$r$p$salt$hash'],
  ])('refuses %s without quoting it', (encoded, reason) => {
    const r = parsePasswordHash(encoded)
    expect(r).toEqual(expect.stringContaining(reason))
    expect(r).not.toContain(encoded.split('$').at(-1))
  })

  it('never prints a parsed hash', async () => {
    const h = parse(await hashPassword('pw', { N: 1024 }))
    expect([String(h), JSON.stringify({ h }), inspect(h), `${h}`]).toEqual(['[scrypt hash]', '{"h":"[scrypt hash]"}', '[scrypt hash]', '[scrypt hash]'])
  })

  it('has a CLI that reads the password from standard input', async () => {
    let out = ''
    let err = ''
    const io = { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } }
    expect(await hashPasswordCli(Readable.from(['correct horse\n']), io.out, io.err)).toBe(0)
    expect(await parse(out.trim()).verify('correct horse')).toBe(true)
    expect(await hashPasswordCli(Readable.from(['']), io.out, io.err)).toBe(2)
    expect(err).toContain('no password on standard input')
  })
})
