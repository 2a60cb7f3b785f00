/**
 * The gateway as a process (STYLE.md: process-level guarantees are tested by spawning
 * children, as pino does): __fixtures__/gateway.ts runs an outbox and an uplink and
 * appends readings; the test kills it with SIGKILL and starts it again on the same files.
 * The broker must publish the killed process's Will; the new process must come back with
 * the next session; every reading the child reported as appended must reach the cloud.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { startAedes } from '../../simulators/test-support/broker.ts'
import { keyOf, tempDir } from '../outbox/test-support/outbox-helpers.ts'
import { Cleanup, startCloud, until } from './test-support/harness.ts'

const here = dirname(fileURLToPath(import.meta.url))
const ROOT = join(here, '..', '..')

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

function gateway(url: string, dir: string): { child: ChildProcess; lines: string[]; kill: () => Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, '__fixtures__', 'gateway.ts'), url, dir, 'pv-01'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let partial = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => process.stderr.write(`[gateway] ${d}`))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
  cleanup.add(kill)
  return { child, lines, kill }
}

describe('gateway process restart', () => {
  it('kill -9: the broker publishes the Will, the restart is the next session, no appended reading is lost', async () => {
    const broker = await startAedes()
    cleanup.add(() => broker.close())
    const cloud = await startCloud(broker.url)
    cleanup.add(() => cloud.close())
    const dir = tempDir('muni-restart-')
    cleanup.add(() => dir.remove())

    const first = gateway(broker.url, dir.path)
    await until('the first process online', () => first.lines.some((l) => l.startsWith('online ')), 20_000)
    const n = Number(first.lines.find((l) => l.startsWith('online '))!.split(' ')[1])
    await until('some readings delivered', () => cloud.of('telemetry').length >= 3)
    await first.kill()
    const will = await cloud.next('state', (s) => s.state === 'offline')
    expect(will.message).toEqual({ state: 'offline', session: n })

    const second = gateway(broker.url, dir.path)
    await until('the second process online', () => second.lines.some((l) => l.startsWith('online ')), 20_000)
    expect(Number(second.lines.find((l) => l.startsWith('online '))!.split(' ')[1])).toBe(n + 1)
    const online = await cloud.next('state', (s) => s.state === 'online' && s.session === n + 1)
    expect(online.index).toBeGreaterThan(will.index)

    const reported = [...first.lines, ...second.lines].filter((l) => l.startsWith('appended ')).map((l) => `pv-01@${l.split(' ')[1]}`)
    const delivered = (): Set<string> => new Set(cloud.of('telemetry').flatMap((t) => t.message.readings.map(keyOf)))
    await until(() => `every reported reading delivered (${reported.filter((k) => !delivered().has(k)).length} missing)`, () => reported.every((k) => delivered().has(k)), 15_000)
    // Redelivered batches (frozen by the killed process) come with the same bytes.
    const bytes = new Map<number, string>()
    for (const t of cloud.of('telemetry')) {
      const b = t.bytes.toString('base64')
      expect(bytes.get(t.message.seq) ?? b).toBe(b)
      bytes.set(t.message.seq, b)
    }
  }, 60_000)
})
