/**
 * A mosquitto that can be stopped and started again on the same port with its state:
 * `persistence true` in a folder the test owns, so a subscriber's persistent session
 * (clean session off) and the messages queued for it survive the restart, as on a
 * production broker. (simulators/test-support/broker.ts `startMosquitto` is the
 * throw-away kind: a free port, no persistence.)
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { within } from '../../../simulators/test-support/broker.ts'

export interface PersistentMosquitto {
  readonly url: string
  /** SIGTERM (mosquitto saves its state), then waits for the exit. */
  stop(): Promise<void>
}

/** Starts mosquitto on 127.0.0.1:`port` with its state in `dir`; resolves once it runs. */
export async function startPersistentMosquitto(dir: string, port: number, timeoutMs = 10_000): Promise<PersistentMosquitto> {
  const conf = join(dir, 'mosquitto.conf')
  // max_queued_messages 0: no limit, so nothing queued for the subscriber is dropped (CONVENTIONS.md: the default 1000 drops).
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}/\nmax_queued_messages 0\nset_tcp_nodelay true\nlog_dest stderr\nlog_type all\n`)
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  try {
    await within(
      Promise.race([
        (async () => {
          while (!/mosquitto version \S+ running/.test(log) && child.exitCode === null && child.signalCode === null) await new Promise((r) => setTimeout(r, 20))
        })(),
        exited.then(() => Promise.reject(new Error(`mosquitto exited: ${log.trim()}`))),
      ]),
      timeoutMs,
      () => `mosquitto on port ${port}: ${log.trim()}`,
    )
  } catch (e) {
    await stop()
    throw e
  }
  return { url: `mqtt://127.0.0.1:${port}`, stop }
}
