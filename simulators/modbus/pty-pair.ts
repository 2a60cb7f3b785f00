/**
 * A virtual serial cable: two linked ptys made by socat
 * (`socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`). Bytes written to
 * one end come out of the other, with no timing of their own: put the RTU server
 * on one end and any serial master (mbpoll, pymodbus, the edge) on the other.
 * Needs the `socat` binary (Debian package socat).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PtyPair {
  /** Path of one end (a symlink to /dev/pts/N). */
  readonly a: string
  /** Path of the other end. */
  readonly b: string
  /** Kills socat, waits for it to exit, and removes the links' folder. */
  close(): Promise<void>
}

/** Starts socat and resolves once both links exist; rejects (and cleans up) after `timeoutMs`. */
export async function openPtyPair(timeoutMs = 5000): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'muni-pty-'))
  const a = join(dir, 'a')
  const b = join(dir, 'b')
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  const close = async (): Promise<void> => {
    await stopChild(child)
    rmSync(dir, { recursive: true, force: true })
  }
  const deadline = performance.now() + timeoutMs
  // socat creates the links before it prints "starting data transfer loop"; both must exist.
  while (!(existsSync(a) && existsSync(b) && log.includes('starting data transfer loop'))) {
    if (child.exitCode !== null || performance.now() > deadline) {
      await close()
      throw new Error(`socat did not create the pty pair within ${timeoutMs} ms: ${log.trim().slice(-500)}`)
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  return { a, b, close }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
