/**
 * Runs the real `muni` bin (`node edge/cli/muni.mjs …`) as a child process, the way
 * a user or a supervisor does: long-running commands are read line by line from
 * stdout and stopped with SIGTERM. Every wait is bounded; `stopAll()` in an
 * `afterEach` leaves no child behind.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { runTool, type ToolResult } from './run-tool.ts'

/** The package root, where `edge/cli/muni.mjs` lives. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url))
const MUNI = 'edge/cli/muni.mjs'

export interface MuniProcess {
  readonly child: ChildProcess
  /** Resolves with the first `n` stdout lines; rejects (with stderr) after `timeoutMs` or when the process exits first. */
  lines(n: number, timeoutMs?: number): Promise<string[]>
  /** Everything printed so far. */
  stdout(): string
  stderr(): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
}

/** Runs `muni args…` to completion (with a time limit). */
export function runMuni(args: readonly string[], timeoutMs = 30_000): Promise<ToolResult> {
  return runTool(process.execPath, [`${PACKAGE_ROOT}${MUNI}`, ...args], { timeoutMs })
}

/** Starts and tracks long-running `muni` children. */
export class MuniProcesses {
  private readonly running = new Set<MuniProcess>()

  spawn(args: readonly string[]): MuniProcess {
    const child = spawn(process.execPath, [MUNI, ...args], { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    const p: MuniProcess = {
      child,
      stdout: () => out,
      stderr: () => err,
      async lines(n, timeoutMs = 20_000) {
        const deadline = performance.now() + timeoutMs
        for (;;) {
          const lines = out.split('\n').slice(0, -1)
          if (lines.length >= n) return lines.slice(0, n)
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`muni ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) after ${lines.length} of ${n} lines: ${err.trim().slice(-1500)}`)
          if (performance.now() > deadline) throw new Error(`muni ${args.join(' ')}: ${lines.length} of ${n} lines within ${timeoutMs} ms; stderr: ${err.trim().slice(-1500)}`)
          await new Promise((r) => setTimeout(r, 20))
        }
      },
      stop: async (graceMs = 5000) => {
        this.running.delete(p)
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM')
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
          await exited
          clearTimeout(timer)
        }
        const how = await exited
        return { ...how, stderr: err }
      },
    }
    this.running.add(p)
    return p
  }

  /** Stops every child still running. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((p) => p.stop()))
  }
}
