/**
 * Starts the pymodbus 3.0 TCP server of `../__fixtures__/pymodbus-server.py` as a
 * child process (third-party peer for the TCP driver) and stops it. The child
 * exits by itself when its stdin closes, so a crashed test leaves nothing behind.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('../__fixtures__/pymodbus-server.py', import.meta.url))

/** One unit's tables: coils and discrete inputs as 0/1, registers as words; protocol address N is element N. */
export interface PyUnitImage {
  co?: number[]
  di?: number[]
  hr?: number[]
  ir?: number[]
}

export interface PyServer {
  readonly port: number
  stop(): Promise<void>
}

/** Starts the server; rejects (after killing it) when it does not report its port within `timeoutMs`. */
export async function startPymodbusServer(config: { units: Record<number, PyUnitImage>; failing?: number[] }, timeoutMs = 10_000): Promise<PyServer> {
  const child = spawn('/usr/bin/python3', [SCRIPT, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.stdin.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
    await exited
    clearTimeout(timer)
  }
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`pymodbus server gave no port within ${timeoutMs} ms: ${stderr.slice(-500)}`)), timeoutMs)
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (line === undefined) return
        clearTimeout(timer)
        resolve((JSON.parse(line) as { port: number }).port)
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`pymodbus server exited ${code}: ${stderr.slice(-500)}`))
      })
    })
    return { port, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
