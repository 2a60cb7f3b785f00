/**
 * Process-level guarantee of webhook delivery (as pino tests exit behaviour, and
 * engine.test.ts the alarm log): a child process (test-support/webhook-child.ts) raises
 * alarms and delivers them to a real receiver; the receiver starts refusing (503) so a
 * backlog builds; the child is killed with SIGKILL; a new child on the same database, with
 * the receiver answering 200, delivers every announced transition — at least once, in
 * order, and exactly once after dedupe by event id.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { openStateDb } from '../state/db.ts'
import { AlarmStore } from './store.ts'
import { startReceiver, type Receiver } from './test-support/webhook-receiver.ts'

const SECRET = 'whsec-crash-0123456789abcdef'
const SCRIPT = fileURLToPath(new URL('./test-support/webhook-child.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

interface Child {
  child: ChildProcess
  lines: string[]
  until(predicate: (lines: string[]) => boolean, ms?: number): Promise<void>
  kill(): Promise<void>
}

let dir: string
const children = new Set<ChildProcess>()
const receivers: Receiver[] = []
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'muni-webhooks-crash-'))))
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL')
  children.clear()
  for (const r of receivers.splice(0)) await r.close()
  rmSync(dir, { recursive: true, force: true })
})

function run(mode: 'produce' | 'drain', db: string, url: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, db, url, SECRET, mode], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(child)
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  let exit: string | undefined
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = `exited (code ${code}, signal ${signal}); stderr: ${stderr}`
      children.delete(child)
      resolve()
    }),
  )
  return {
    child,
    lines,
    until: (predicate, ms = 20_000) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + ms
        const check = (): void => {
          if (predicate(lines)) resolve()
          else if (exit !== undefined) reject(new Error(`child ${exit}`))
          else if (Date.now() > deadline) reject(new Error(`child: timed out after ${ms} ms; ${lines.length} lines; stderr: ${stderr}`))
          else setTimeout(check, 10)
        }
        check()
      }),
    kill: async () => {
      child.kill('SIGKILL')
      await exited
    },
  }
}

it('kill -9 with a backlog behind a 503ing receiver: after a restart every announced transition arrives, in order, once after dedupe', async () => {
  let refusing = false
  const rx = await startReceiver(SECRET, (_r, n) => {
    if (n === 10) refusing = true
    return { status: refusing ? 503 : 200 }
  })
  receivers.push(rx)
  const db = join(dir, 'state.db')
  const first = run('produce', db, `${rx.url}/hook`)
  await first.until((lines) => lines.includes('R'))
  // The restart's process, loading while the first one works, held until that one is dead.
  const second = run('drain', db, `${rx.url}/hook`)
  // A backlog: many transitions logged while the receiver refuses, and the refusals retried.
  await first.until((lines) => lines.filter((l) => l.startsWith('T ')).length >= 80 && lines.filter((l) => l.endsWith(' retry')).length >= 5)
  await first.kill()
  expect(first.child.signalCode).toBe('SIGKILL')
  const deliveredBefore = rx.delivered()
  expect(deliveredBefore).toHaveLength(10)

  const log = (() => {
    const s = openStateDb(db)
    try {
      return new AlarmStore(s).transitions(0, 1_000_000)
    } finally {
      s.close()
    }
  })()
  const announced = log.filter((t) => t.announce).map((t) => t.id)
  const quiet = new Set(log.filter((t) => !t.announce).map((t) => t.id))
  expect(quiet.size).toBeGreaterThan(0)
  expect(announced.length).toBeGreaterThan(deliveredBefore.length + 30)
  // Everything the child reported durable is in the log.
  const reported = first.lines.filter((l) => l.startsWith('T ')).map((l) => Number(l.slice(2)))
  const logged = new Set(log.map((t) => t.id))
  for (const id of reported) expect(logged.has(id)).toBe(true)

  refusing = false
  await second.until((lines) => lines.includes('L'))
  second.child.stdin?.write('go\n')
  await rx.until(() => new Set(rx.delivered()).size >= announced.length, 20_000)
  // The backoff went on from the database: the first attempt after the restart is not attempt 1.
  const firstAttempt = second.lines.find((l) => l.startsWith('A '))?.split(' ')
  expect(Number(firstAttempt?.[2])).toBeGreaterThan(1)
  await second.kill()

  const delivered = rx.delivered()
  expect(rx.requests.every((r) => r.valid)).toBe(true)
  expect(rx.requests.filter((r) => quiet.has(r.eventId))).toEqual([])
  // At least once, in order: the 2xx-answered ids never go back (a repeat is the same id again)…
  for (let i = 1; i < delivered.length; i++) expect(delivered[i]).toBeGreaterThanOrEqual(delivered[i - 1] as number)
  // …and after dedupe by event id, exactly the announced transitions, each once, in log order.
  expect([...new Set(delivered)]).toEqual(announced)
}, 40_000)
