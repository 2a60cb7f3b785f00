/**
 * `muni record` as a user runs it: the real bin spawned (it must exit by itself, and flush
 * on SIGINT), and `main()` in-process for the error paths.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PACKAGE_ROOT } from '../../edge/cli/main.ts'
import { examples, filters, preparePublish } from '../../shared/mqtt/index.ts'
import { freePort, startAedes, within, type AedesBroker } from '../test-support/broker.ts'
import { muni } from '../../edge/cli/test-support/run-muni.ts'

/** Spawns `node edge/cli/muni.mjs …` with stderr piped (not a TTY). */
function spawnMuni(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['edge/cli/muni.mjs', ...args], { cwd: PACKAGE_ROOT, env: { ...process.env, MUNI_MQTT_PASSWORD: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })))
  return {
    child,
    stderr: () => stderr,
    /** Resolves with the exit; kills the child and rejects after `ms`. */
    exit: (ms = 15_000) => within(exited, ms, () => `muni ${args.join(' ')} to exit (stderr so far: ${stderr})`).catch((err: unknown) => {
      child.kill('SIGKILL')
      throw err
    }),
  }
}


const telemetry = (seq: number) => preparePublish('telemetry', 'north', 'gw-01', { ...structuredClone(examples.telemetry), seq })
const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [])

let dir: string
let broker: AedesBroker | undefined
let pub: MqttClient | undefined
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-record-cli-'))
})
afterEach(async () => {
  await pub?.endAsync(true)
  pub = undefined
  await broker?.close()
  broker = undefined
  rmSync(dir, { recursive: true, force: true })
  process.exitCode = undefined
})

async function publishTelemetry(url: string, from: number, to: number, auth: { username?: string; password?: string } = {}): Promise<void> {
  pub ??= await within(mqtt.connectAsync(url, { reconnectPeriod: 0, ...auth }), 5000, 'publisher')
  for (let seq = from; seq <= to; seq++) {
    const m = telemetry(seq)
    await pub.publishAsync(m.topic, Buffer.from(m.payload), { qos: 1 })
  }
}

describe('muni record', () => {
  it('with --count 3 exits by itself (code 0) after exactly 3 messages, never printing the password', async () => {
    broker = await startAedes({ authenticate: (_c, user, password, done) => done(null, user === 'ann' && password?.toString() === 'hunter2') })
    const out = join(dir, 'rec.ndjson')
    const run = spawnMuni(['record', '--broker', `mqtt://ann:hunter2@127.0.0.1:${broker.port}`, '--out', out, '--count', '3'])
    await broker.subscribed(filters.allTelemetry(), 15_000)
    await publishTelemetry(broker.url, 1, 6, { username: 'ann', password: 'hunter2' })
    const { code, stderr } = await run.exit()
    expect(code, stderr).toBe(0)
    expect(lines(out)).toHaveLength(4)
    expect(stderr).toMatch(new RegExp(`^record: mqtt://127\\.0\\.0\\.1:${broker.port} → .*rec\\.ndjson, topics muni/v1/\\+/\\+/telemetry .*; until 3 message\\(s\\), stop with Ctrl-C\\n`))
    expect(stderr).toMatch(/record: 3 message\(s\) in [\d.]+m?s → .*rec\.ndjson\n$/)
    expect(stderr + readFileSync(out, 'utf8')).not.toContain('hunter2')
  }, 30_000)

  it('on SIGINT flushes and closes the recording and exits 0', async () => {
    broker = await startAedes()
    const out = join(dir, 'rec.ndjson')
    const run = spawnMuni(['record', '--broker', broker.url, '--out', out, '--topic', filters.allTelemetry()])
    await broker.subscribed(filters.allTelemetry(), 15_000)
    await publishTelemetry(broker.url, 1, 5)
    await within((async () => { while (lines(out).length < 6) await new Promise((r) => setTimeout(r, 10)) })(), 5000, 'messages in the file')
    run.child.kill('SIGINT')
    const { code, stderr } = await run.exit()
    expect(code, stderr).toBe(0)
    expect(stderr).toMatch(/record: 5 message\(s\) in /)
    const recorded = lines(out).slice(1).map((l) => JSON.parse(l) as { payload: { seq: number } })
    expect(recorded.map((r) => r.payload.seq)).toEqual([1, 2, 3, 4, 5])
    expect(readFileSync(out, 'utf8').endsWith('\n')).toBe(true)
  }, 30_000)

  it('stops after --duration', async () => {
    broker = await startAedes()
    const out = join(dir, 'rec.ndjson')
    const started = performance.now()
    const r = await within(muni('record', '--broker', broker.url, '--out', out, '--duration', '0.3'), 5000, 'record --duration')
    expect(r.code, r.err).toBe(0)
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)
    expect(lines(out)).toHaveLength(1)
    expect(r.err).toMatch(/record: 0 message\(s\) in /)
  })

  it('a broker that refuses the credentials: clear message, exit 1, no password echoed, no file', async () => {
    broker = await startAedes({ authenticate: (_c, _u, _p, done) => done(Object.assign(new Error('no'), { returnCode: 5 as const }), false) })
    const out = join(dir, 'rec.ndjson')
    const r = await within(muni('record', '--broker', broker.url, '--out', out, '--username', 'ann', '--password', 'hunter2'), 10_000, 'record')
    expect(r.code).toBe(1)
    expect(r.err).toBe(`record: broker ${broker.url} refused the connection: not authorized, CONNACK code 5 (check --username and --password or MUNI_MQTT_PASSWORD)\n`)
    expect(existsSync(out)).toBe(false)
  })

  it('an unreachable broker or an invalid option: exit 1 with the reason', async () => {
    const port = await freePort()
    const r = await within(muni('record', '--broker', `mqtt://u:hunter2@127.0.0.1:${port}`, '--out', join(dir, 'x.ndjson')), 10_000, 'record')
    expect(r.code).toBe(1)
    expect(r.err).toMatch(new RegExp(`^record: cannot connect to broker mqtt://127\\.0\\.0\\.1:${port}: connection refused`))
    expect(r.err).not.toContain('hunter2')
    const bad = await muni('record', '--broker', 'mqtt://h', '--out', join(dir, 'x.ndjson'), '--count', '0')
    expect(bad.code).toBe(1)
    expect(bad.err).toContain("option '--count <n>' argument '0' is invalid. must be a whole number above 0")
    const noUrl = await muni('record', '--broker', 'mqtt://ann:hunter2@', '--out', join(dir, 'x.ndjson'))
    expect(noUrl.code).toBe(1)
    expect(noUrl.err).not.toContain('hunter2')
  })

  it('has --help', async () => {
    const r = await muni('record', '--help')
    expect(r.code).toBe(0)
    expect(r.out).toContain('Usage: muni record [options]')
    expect(r.out).toContain('--count <n>')
  })
})
