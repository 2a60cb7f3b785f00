/**
 * Process-level guarantees, tested as pino tests its exit behaviour: a child process
 * (__fixtures__/writer.ts) works on an outbox and prints each step only after the call
 * that committed it returned; the test kills it with SIGKILL mid-stream, reopens the
 * file and checks that everything the child reported is there, exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Outbox } from './outbox.ts'
import { decodeBatch, drain, GATEWAY, keyOf, openOutbox, SITE, tempDir } from './test-support/outbox-helpers.ts'

const here = dirname(fileURLToPath(import.meta.url))
const WRITER = join(here, '__fixtures__', 'writer.ts')
const ROOT = join(here, '..', '..')
const TOPIC = `muni/v1/${SITE}/${GATEWAY}/telemetry`

interface Writer {
  child: ChildProcess
  /** Complete lines printed so far (a line cut by the kill is not one). */
  lines: string[]
  /** Resolves once `predicate` holds for the lines; rejects if the child exits first or after `ms`. */
  until(predicate: (lines: string[]) => boolean, ms?: number): Promise<void>
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>
}

const children = new Set<ChildProcess>()
let dir: ReturnType<typeof tempDir>
beforeEach(() => (dir = tempDir('muni-outbox-crash-')))
afterEach(() => {
  for (const c of children) c.kill('SIGKILL')
  children.clear()
  dir.remove()
})

function writer(mode: 'append' | 'churn' | 'take', path: string, tag: string): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, mode, path, tag], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  let exit: string | undefined
  const waiters = new Set<() => void>()
  const wake = (): void => waiters.forEach((w) => w())
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
    wake()
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = `exited (code ${code}, signal ${signal}); stderr: ${stderr}`
      children.delete(child)
      wake()
      resolve()
    }),
  )
  return {
    child,
    lines,
    until(predicate, ms = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms; ${lines.length} lines; stderr: ${stderr}`)), ms)
        const check = (): void => {
          if (predicate(lines)) done()
          else if (exit !== undefined) done(new Error(`writer ${exit}`))
        }
        const done = (e?: Error): void => {
          clearTimeout(timer)
          waiters.delete(check)
          if (e === undefined) resolve()
          else reject(e)
        }
        waiters.add(check)
        check()
      })
    },
    async kill() {
      child.kill('SIGKILL')
      await exited
      expect(child.signalCode).toBe('SIGKILL')
    },
  }
}

/** The numbers N of every `a N…` line. */
const appendedNs = (lines: string[]): number[] => lines.filter((l) => l.startsWith('a ')).flatMap((l) => l.slice(2).split(' ').map(Number))

/** `f SEQ BASE64` lines as seq → bytes (the last one printed for a seq). */
function frozen(lines: string[]): Map<number, Buffer> {
  const out = new Map<number, Buffer>()
  for (const l of lines) {
    const [kind, seq, b64] = l.split(' ')
    if (kind === 'f' && seq !== undefined && b64 !== undefined) out.set(Number(seq), Buffer.from(b64, 'base64'))
  }
  return out
}

const count = (lines: string[], prefix: string): number => lines.filter((l) => l.startsWith(prefix)).length
/** A random extra wait, so the kill lands at a different point of the loop each time. */
const jitter = (): Promise<void> => new Promise((r) => setTimeout(r, Math.floor(Math.random() * 30)))

describe('Outbox survives kill -9', () => {
  it('keeps every reading the writer reported committed, exactly once, across three kills', async () => {
    const path = dir.file('outbox.db')
    const reported = new Map<string, number[]>()
    for (const tag of ['r0', 'r1', 'r2']) {
      const w = writer('append', path, tag)
      await w.until((lines) => count(lines, 'a ') >= 150)
      await jitter()
      await w.kill()
      reported.set(tag, appendedNs(w.lines))
    }

    const outbox = openOutbox(path)
    const stored = drain(outbox).flatMap((b) => b.readings)
    expect(outbox.stats()).toMatchObject({ readings: 0, dropped: 0 })
    outbox.close()

    const keys = stored.map(keyOf)
    expect(new Set(keys).size, 'a reading is stored twice').toBe(keys.length)
    for (const [tag, ns] of reported) {
      const mine = stored.filter((r) => r.device.startsWith(`${tag}-`)).map((r) => r.ts)
      const have = new Set(mine)
      const lost = ns.filter((n) => !have.has(n))
      expect(lost, `${tag}: reported committed but missing`).toEqual([])
      // Only the append in progress at the kill may have committed without being reported.
      const last = Math.max(...ns)
      const unreported = mine.filter((n) => !ns.includes(n))
      expect(unreported.every((n) => n > last) && unreported.length <= 3, `${tag}: unexpected extra readings ${unreported.join(',')}`).toBe(true)
      expect(mine.length).toBeGreaterThanOrEqual(150)
    }
  }, 60_000)

  it('hands out a taken but unacknowledged batch again after kill -9, with the same seq and bytes', async () => {
    const path = dir.file('outbox.db')
    const first = writer('take', path, 't')
    await first.until((lines) => count(lines, 'f ') === 1)
    await first.kill()
    const taken = [...frozen(first.lines)]
    expect(taken).toHaveLength(1)
    const [seq, bytes] = taken[0] ?? [0, Buffer.alloc(0)]

    // A second process, killed too: still the same batch.
    const second = writer('take', path, 't')
    await second.until((lines) => count(lines, 'f ') === 1)
    await second.kill()
    expect(appendedNs(second.lines)).toEqual([]) // it found the readings already stored
    expect(frozen(second.lines).get(seq)?.equals(bytes)).toBe(true)

    const outbox: Outbox = openOutbox(path)
    const again = outbox.nextBatch({ maxReadings: 3 })
    expect(again).toMatchObject({ seq, redelivery: true })
    expect(Buffer.from(again?.payload ?? []).equals(bytes)).toBe(true)
    expect(decodeBatch({ topic: TOPIC, payload: bytes }).readings.map((r) => r.ts)).toEqual([0, 1, 2])
    expect(outbox.ack(seq)).toBe(true)
    expect(outbox.nextBatch()).toMatchObject({ seq: seq + 1, readings: 2, redelivery: false })
    outbox.close()
  }, 60_000)

  it('loses and duplicates nothing when killed while appending, taking, acking and nacking', async () => {
    const path = dir.file('outbox.db')
    const lines: string[] = []
    for (const tag of ['c0', 'c1']) {
      const w = writer('churn', path, tag)
      await w.until((l) => count(l, 'k ') >= 80)
      await jitter()
      await w.kill()
      lines.push(...w.lines.map((l) => (l.startsWith('a ') ? `a ${tag} ${l.slice(2)}` : l)))
    }
    const handedOut = frozen(lines)
    const ackedReported = new Set(lines.filter((l) => l.startsWith('k ')).map((l) => Number(l.slice(2))))

    const outbox = openOutbox(path)
    const after = drain(outbox)
    outbox.close()
    const redelivered = new Set(after.filter((b) => b.raw.redelivery).map((b) => b.seq))
    for (const b of after) {
      const before = handedOut.get(b.seq)
      if (b.raw.redelivery && before !== undefined) expect(Buffer.from(b.raw.payload).equals(before), `seq ${b.seq} bytes changed`).toBe(true)
      if (!b.raw.redelivery) expect(b.seq).toBeGreaterThan(Math.max(...handedOut.keys()))
      expect(ackedReported.has(b.seq), `acked seq ${b.seq} came back`).toBe(false)
    }

    // Where each reading ended up: in a batch the writer acked (reported or not), or
    // delivered by the drain. Exactly one place each.
    const seen = new Map<string, number>()
    const add = (device: string, ts: number): void => void seen.set(`${device}@${ts}`, (seen.get(`${device}@${ts}`) ?? 0) + 1)
    for (const [seq, payload] of handedOut) {
      if (redelivered.has(seq)) continue // counted from the drain below
      // Handed out, never redelivered: it was acked before the kill (reported or not).
      for (const r of decodeBatch({ topic: TOPIC, payload }).readings) add(r.device, r.ts)
    }
    for (const b of after) if (!handedOut.has(b.seq) || redelivered.has(b.seq)) for (const r of b.readings) add(r.device, r.ts)
    const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k)
    expect(twice, 'readings delivered twice').toEqual([])
    for (const l of lines.filter((x) => x.startsWith('a '))) {
      const [, tag, ...ns] = l.split(' ')
      for (const n of ns) expect(seen.has(`${tag}-${Number(n) % 4}@${n}`), `${tag} reading ${n} lost`).toBe(true)
    }
  }, 60_000)
})
