import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { tempDir } from '../outbox/test-support/outbox-helpers.ts'
import { FileSessionStore, MemorySessionStore } from './session-store.ts'

const here = dirname(fileURLToPath(import.meta.url))
const ROOT = join(here, '..', '..')

let dir: ReturnType<typeof tempDir>
beforeEach(() => (dir = tempDir('muni-session-')))
afterEach(() => dir.remove())

describe('FileSessionStore', () => {
  it('starts a new file at the current time in ms, then counts +1, across instances', () => {
    const file = dir.file('session.json')
    const a = new FileSessionStore(file, { now: () => 1_764_052_800_123 })
    expect(a.current()).toBeUndefined()
    expect(a.next()).toBe(1_764_052_800_123)
    expect(a.next()).toBe(1_764_052_800_124)
    const b = new FileSessionStore(file, { now: () => 0 })
    expect(b.current()).toBe(1_764_052_800_124)
    expect(b.next()).toBe(1_764_052_800_125)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ session: 1_764_052_800_125 })
  })

  it('leaves no temporary file behind', () => {
    const store = new FileSessionStore(dir.file('session.json'))
    store.next()
    store.next()
    expect(readdirSync(dir.path)).toEqual(['session.json'])
  })

  it.each([
    { name: 'not JSON', text: '{"sess' },
    { name: 'no session field', text: '{"n":3}' },
    { name: 'a negative session', text: '{"session":-1}' },
    { name: 'a fractional session', text: '{"session":1.5}' },
  ])('an unreadable file ($name) restarts from the current time and says so', ({ text }) => {
    const file = dir.file('session.json')
    writeFileSync(file, text)
    const store = new FileSessionStore(file, { now: () => 42_000 })
    expect(store.next()).toBe(42_000)
    expect(store.recovered).toContain(file)
    expect(new FileSessionStore(file).current()).toBe(42_000)
  })

  it('throws when it cannot persist (missing folder), so the caller knows the number is not durable', () => {
    const store = new FileSessionStore(join(dir.path, 'missing', 'session.json'))
    expect(() => store.next()).toThrow(/ENOENT/)
  })

  it('never goes back after kill -9: the file holds at least the last session the writer reported', async () => {
    const file = dir.file('session.json')
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(here, '__fixtures__', 'session-writer.ts'), file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      const deadline = Date.now() + 15_000
      while (out.split('\n').length < 50 + round * 7) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`session writer did not get going: ${err}`)
        await new Promise((r) => setTimeout(r, 5))
      }
      child.kill('SIGKILL')
      await exited
      const printed = out.split('\n').slice(0, -1).map(Number)
      const last = printed[printed.length - 1]!
      const stored = new FileSessionStore(file).current()
      expect(stored).toBeDefined()
      // The kill may land after a write and before its print (stored = last + 1), never before a printed one.
      expect(stored! - last).toBeGreaterThanOrEqual(0)
      expect(stored! - last).toBeLessThanOrEqual(1)
      expect(existsSync(file)).toBe(true)
    }
  }, 60_000)
})

describe('MemorySessionStore', () => {
  it('counts from the start given', () => {
    const s = new MemorySessionStore(7)
    expect([s.next(), s.next()]).toEqual([7, 8])
  })
})
