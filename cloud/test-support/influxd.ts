/**
 * A real InfluxDB 1.x (`influxd run -config FILE`, Debian 1.6.7) for integration tests:
 * loopback only, free ports, every directory in one temp dir that `stop()` removes.
 * Also the small process helper `victoria.ts` shares (spawn, wait until healthy, stop).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A server process started for a test. */
export interface TestServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string
  /** The temp dir holding everything the server wrote. */
  dir: string
  /** The server's process id (benchmarks read its CPU time from /proc). */
  pid: number | undefined
  /** Kills the server (SIGTERM, then SIGKILL after 5 s) and removes its temp dir. Idempotent. */
  stop(): Promise<void>
}

/** A free TCP port on 127.0.0.1 (the OS picks it; a race with other processes is retried by the caller). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

// Children still alive when the test process exits (a crashed worker, a missed afterAll)
// are killed and their dirs removed here, synchronously.
const live = new Set<{ child: ChildProcess; dir: string }>()
let exitHookInstalled = false
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const { child, dir } of live) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    }
  })
}

export interface SpawnServerOptions {
  /** What the errors call it, e.g. `influxd`. */
  name: string
  command: string
  /** Arguments, given the temp dir and a free port. */
  args(dir: string, port: number): string[]
  /** Called before spawning, e.g. to write a config file into the temp dir. */
  prepare?(dir: string, port: number): Promise<void> | void
  /** Path answering 2xx once the server is ready, e.g. `/ping`. */
  readyPath: string
  /** Give up after this long (default 15 s). */
  readyTimeoutMs?: number
}

/**
 * Spawns a server on a free loopback port in a fresh temp dir and resolves once
 * `readyPath` answers 2xx. Retries with new ports when the process dies early
 * (another process took the port in between).
 */
export async function spawnServer(o: SpawnServerOptions): Promise<TestServer> {
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await spawnOnce(o)
    } catch (err) {
      lastError = err
      if (!(err instanceof EarlyExitError)) throw err
    }
  }
  throw lastError
}

class EarlyExitError extends Error {}

async function spawnOnce(o: SpawnServerOptions): Promise<TestServer> {
  installExitHook()
  const dir = mkdtempSync(join(tmpdir(), `muni-${o.name}-`))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  try {
    await o.prepare?.(dir, port)
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const child = spawn(o.command, o.args(dir, port), { stdio: ['ignore', 'pipe', 'pipe'] })
  const entry = { child, dir }
  live.add(entry)
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let spawnError: Error | undefined
  child.once('error', (err) => {
    spawnError = err
  })

  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      // No pid: the spawn itself failed (e.g. ENOENT), so there is nothing to kill or wait for.
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(timer)
      }
      live.delete(entry)
      rmSync(dir, { recursive: true, force: true })
    })()
    return stopped
  }

  const deadline = Date.now() + (o.readyTimeoutMs ?? 15_000)
  for (;;) {
    if (spawnError) {
      await stop()
      throw new Error(`${o.name} could not be started: ${spawnError.message}`)
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop()
      throw new EarlyExitError(`${o.name} exited (${child.exitCode ?? child.signalCode}) before ${url}${o.readyPath} answered:\n${output}`)
    }
    try {
      const res = await fetch(url + o.readyPath, { signal: AbortSignal.timeout(1000) })
      await res.arrayBuffer()
      if (res.ok) return { url, dir, pid: child.pid, stop }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`${o.name} did not answer ${url}${o.readyPath} within ${o.readyTimeoutMs ?? 15_000} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
}

/**
 * Starts `influxd` (1.x) with HTTP on 127.0.0.1:PORT, the RPC/backup service on another
 * loopback port, meta/data/wal in a temp dir, usage reporting, the `_internal` monitor
 * store and every UDP/graphite/collectd/opentsdb listener off. Resolves once `/ping`
 * answers.
 */
export async function startInfluxd(): Promise<TestServer> {
  return spawnServer({
    name: 'influxd',
    command: 'influxd',
    readyPath: '/ping',
    async prepare(dir, port) {
      const rpc = await freePort()
      const config = [
        'reporting-disabled = true',
        `bind-address = "127.0.0.1:${rpc}"`,
        '[meta]',
        `  dir = "${join(dir, 'meta')}"`,
        '  logging-enabled = false',
        '[data]',
        `  dir = "${join(dir, 'data')}"`,
        `  wal-dir = "${join(dir, 'wal')}"`,
        '  query-log-enabled = false',
        '[monitor]',
        '  store-enabled = false',
        '[http]',
        '  enabled = true',
        `  bind-address = "127.0.0.1:${port}"`,
        '  log-enabled = false',
        '[subscriber]',
        '  enabled = false',
        '[continuous_queries]',
        '  enabled = true',
        '  log-enabled = false',
        '[[graphite]]',
        '  enabled = false',
        '[[collectd]]',
        '  enabled = false',
        '[[opentsdb]]',
        '  enabled = false',
        '[[udp]]',
        '  enabled = false',
        '',
      ].join('\n')
      writeFileSync(join(dir, 'influxdb.conf'), config)
    },
    args: (dir) => ['run', '-config', join(dir, 'influxdb.conf')],
  })
}
