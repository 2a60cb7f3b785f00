/**
 * What survives a broker restart with a SQLite persistence: the persistent session of
 * an offline gateway (its subscription), the QoS 1 command queued for it while it was
 * away, and retained messages (births, states). Once with a clean close and restart in
 * this process, once with the broker as a child process killed with SIGKILL.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { topics } from '../../shared/mqtt/topics.ts'
import { Cleanup, connectAs, inbox, start, tempDir, USERS, within, writeCredentials } from './test-support/setup.ts'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const { gw1, cloud } = USERS
const command1 = topics.command(gw1.site, gw1.gateway)
const birth1 = topics.birth(gw1.site, gw1.gateway)
const session = { clientId: 'muni-edge-gw-01', clean: false } as const

/** The gateway subscribes with a persistent session, publishes its retained birth, and leaves (DISCONNECT). */
async function gatewayGoesAway(url: string): Promise<void> {
  const g = await connectAs(cleanup, url, gw1, session)
  await g.subscribeAsync(command1, { qos: 1 })
  await g.publishAsync(birth1, '{"birth":1}', { qos: 1, retain: true })
  await new Promise<void>((resolve) => g.end(false, () => resolve()))
}

/** The gateway comes back with its session: it must get the command queued for it, and the cloud the retained birth. */
async function afterRestart(url: string): Promise<void> {
  const g = await connectAs(cleanup, url, gw1, session)
  const got = inbox(g)
  await got.waitFor(1)
  expect(got.messages).toEqual([{ topic: command1, payload: '{"op":"reboot"}', retain: false }])
  const c = await connectAs(cleanup, url, cloud)
  const births = inbox(c)
  await c.subscribeAsync('muni/v1/+/+/birth', { qos: 1 })
  await births.waitFor(1)
  expect(births.messages).toEqual([{ topic: birth1, payload: '{"birth":1}', retain: true }])
}

describe('durability across broker restarts', () => {
  it('keeps the session, the queued command and retained messages through close and restart', async () => {
    const db = join(tempDir(cleanup), 'broker.sqlite')
    const first = await start(cleanup, { persistencePath: db })
    await gatewayGoesAway(first.broker.url)
    const c = await connectAs(cleanup, first.broker.url, cloud)
    await c.publishAsync(command1, '{"op":"reboot"}', { qos: 1 })
    await first.broker.close()

    const second = await start(cleanup, { persistencePath: db })
    await afterRestart(second.broker.url)
  })

  it('keeps them when the broker process is killed with SIGKILL', async () => {
    const dir = tempDir(cleanup)
    const db = join(dir, 'broker.sqlite')
    const child = spawn(process.execPath, ['--import', 'tsx', 'cloud/broker/test-support/broker-process.ts', db, await writeCredentials(dir)], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    cleanup.add(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    let stdout = ''
    const port = await within(
      new Promise<number>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString()
          const m = /PORT (\d+)/.exec(stdout)
          if (m?.[1] !== undefined) resolve(Number(m[1]))
        })
        child.once('exit', () => reject(new Error(`broker process exited: ${stderr}`)))
      }),
      20_000,
      () => `the broker process to listen (${stderr})`,
    )
    const url = `mqtt://127.0.0.1:${port}`
    await gatewayGoesAway(url)
    const c = await connectAs(cleanup, url, cloud)
    await c.publishAsync(command1, '{"op":"reboot"}', { qos: 1 })
    // Aedes writes the PUBACK before it queues the message for offline subscribers
    // (see README.md): wait until the queue row is committed, as another process sees it.
    const reader = new Database(db, { readonly: true })
    try {
      const until = Date.now() + 5_000
      while ((reader.prepare('SELECT COUNT(*) AS n FROM outgoing').get() as { n: number }).n === 0) {
        if (Date.now() > until) throw new Error('the command was never queued')
        await new Promise((r) => setTimeout(r, 10))
      }
    } finally {
      reader.close()
    }
    child.kill('SIGKILL')
    await within(exited, 5_000, 'the broker process to die')
    expect(child.signalCode).toBe('SIGKILL')

    const second = await start(cleanup, { persistencePath: db })
    await afterRestart(second.broker.url)
  }, 30_000)
})
