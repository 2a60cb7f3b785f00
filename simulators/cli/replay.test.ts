/**
 * `muni replay` as a user runs it: the real bin spawned with stderr piped (not a TTY, so
 * plain progress lines), and `main()` in-process for the error paths.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { PACKAGE_ROOT } from '../../edge/cli/main.ts'
import { examples, preparePublish, topics } from '../../shared/mqtt/index.ts'
import { formatEntry, formatHeader } from '../replay/format.ts'
import { collect, freePort, startAedes, within, type AedesBroker, type Collector } from '../test-support/broker.ts'
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

let dir: string
let broker: AedesBroker | undefined
let sub: Collector | undefined
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'muni-replay-cli-'))
})
afterEach(async () => {
  await sub?.close()
  sub = undefined
  await broker?.close()
  broker = undefined
  rmSync(dir, { recursive: true, force: true })
  process.exitCode = undefined
})

/** A recording of `n` telemetry batches `gapMs` apart. */
function recording(n: number, gapMs: number, extraLines: string[] = []): string {
  const file = join(dir, 'rec.ndjson')
  const header = formatHeader({ format: 'muni-recording', version: 1, startedAt: Date.now(), broker: 'mqtt://field-broker:1883', filters: ['muni/v1/+/+/telemetry'], retainAsPublished: true })
  const messages = Array.from({ length: n }, (_, i) =>
    formatEntry({ t: i * gapMs, topic: topics.telemetry('north', 'gw-01'), qos: 1, retain: false, payload: preparePublish('telemetry', 'north', 'gw-01', { ...structuredClone(examples.telemetry), seq: i + 1 }).payload }),
  )
  writeFileSync(file, [header, ...messages, ...extraLines].join('\n') + '\n')
  return file
}

describe('muni replay', () => {
  it('prints plain progress lines and a summary when stderr is not a TTY, and delivers every message (exit 0)', async () => {
    broker = await startAedes()
    sub = await collect(broker.url, '#')
    const file = recording(40, 100)
    const run = spawnMuni(['replay', file, '--broker', broker.url, '--speed', '2'])
    const { code, stderr } = await run.exit(30_000)
    expect(code, stderr).toBe(0)
    const out = stderr.split('\n').filter((l) => l !== '')
    expect(out[0]).toBe(`replay: 40 message(s) from ${file} to ${broker.url} at 2× speed (recorded over 3.9s)`)
    const progress = out.filter((l) => /^replay: \d+\/40 /.test(l))
    expect(progress.length).toBeGreaterThanOrEqual(5)
    for (const l of progress) expect(l).toMatch(/^replay: \d+\/40 \(\d+%\) [\d.]+ msg\/s ETA (\d+s|\?)$/)
    expect(progress.at(-1)).toMatch(/^replay: 40\/40 \(100%\) /)
    expect(out.at(-1)).toMatch(new RegExp(`^replay: 40 message\\(s\\) in [\\d.]+s \\([\\d.]+ msg/s\\) to ${broker.url.replace(/[.]/g, '\\.')}$`))
    expect(stderr).not.toMatch(/\u001b\[/) // no terminal escapes when not a TTY
    expect(await sub.waitFor(40, 5000)).toHaveLength(40)
  }, 40_000)

  it('SIGTERM before the end stops cleanly with exit 143 and a summary', async () => {
    broker = await startAedes()
    sub = await collect(broker.url, '#')
    const run = spawnMuni(['replay', recording(100, 200), '--broker', broker.url])
    await sub.waitFor(3, 20_000)
    run.child.kill('SIGTERM')
    const { code, stderr } = await run.exit()
    expect(code, stderr).toBe(143)
    expect(stderr).toMatch(/replay: stopped after \d+ acknowledged message\(s\) in .* \(recording holds 100\)\n$/)
  }, 40_000)

  it('a corrupt recording line: file:line: reason on stderr, exit 1, nothing published', async () => {
    broker = await startAedes()
    sub = await collect(broker.url, '#')
    const file = recording(3, 10, ['{"t":50,"topic":"muni/v1/north/gw-01/telemetry","qos":1,"retain":false}'])
    const r = await within(muni('replay', file, '--broker', broker.url, '--fast'), 10_000, 'replay')
    expect(r.code).toBe(1)
    expect(r.err).toBe(`${file}:5: no payload: one of payload, payloadText or payloadBase64 is required\n`)
    await new Promise((res) => setTimeout(res, 100))
    expect(sub.messages).toHaveLength(0)
  })

  it('a missing file, an unreachable broker, --speed with --fast: exit 1 with the reason', async () => {
    const missing = await muni('replay', join(dir, 'nope.ndjson'), '--broker', 'mqtt://127.0.0.1:1')
    expect(missing).toMatchObject({ code: 1, err: `${join(dir, 'nope.ndjson')}: cannot read: no such file\n` })
    const port = await freePort()
    const down = await within(muni('replay', recording(1, 0), '--broker', `mqtt://ann:hunter2@127.0.0.1:${port}`), 10_000, 'replay')
    expect(down.code).toBe(1)
    expect(down.err).toMatch(new RegExp(`^replay: cannot connect to broker mqtt://127\\.0\\.0\\.1:${port}: connection refused`))
    expect(down.err).not.toContain('hunter2')
    const both = await muni('replay', recording(1, 0), '--broker', 'mqtt://h', '--speed', '2', '--fast')
    expect(both.code).toBe(1)
    expect(both.err).toMatch(/option '--speed <n>' cannot be used with option '--fast'/)
    const zero = await muni('replay', recording(1, 0), '--broker', 'mqtt://h', '--speed', '0')
    expect(zero.code).toBe(1)
    expect(zero.err).toContain('must be a number above 0')
  })

  it('has --help', async () => {
    const r = await muni('replay', '--help')
    expect(r.code).toBe(0)
    expect(r.out).toContain('Usage: muni replay [options] <file>')
    expect(r.out).toMatch(/--speed <n>[\s\S]*--fast[\s\S]*--loop/)
  })
})
