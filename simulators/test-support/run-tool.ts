/**
 * Runs an external program (mbpoll, python3…) without blocking the event loop —
 * the servers under test live in the same process — and always within a time
 * limit: on expiry the child is killed and the result says so.
 */
import { spawn } from 'node:child_process'

export interface ToolResult {
  code: number | null
  stdout: string
  stderr: string
  /** True when the limit expired and the child was killed. */
  timedOut: boolean
}

/** Runs `cmd args`, feeding `input` to stdin when given; resolves after exit or after `timeoutMs` (then killed). */
export function runTool(cmd: string, args: readonly string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, opts.timeoutMs ?? 10_000)
    child.on('error', (err) => {
      clearTimeout(timer)
      resolve({ code: null, stdout, stderr: stderr + String(err), timedOut })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, timedOut })
    })
    // A tool that exits before reading its stdin makes the write fail with EPIPE: that is its exit, not an error of ours.
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}
