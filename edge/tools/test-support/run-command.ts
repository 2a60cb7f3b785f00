/** Runs one commander command in-process, as `muni` would, capturing stdout, stderr and the exit code. */
import { CommanderError, type Command } from 'commander'
import { vi } from 'vitest'

export interface CommandRun {
  code: number
  out: string
  err: string
}

export async function runCommand(command: Command, argv: readonly string[]): Promise<CommandRun> {
  let out = ''
  let err = ''
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true))
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true))
  process.exitCode = undefined
  try {
    await command.exitOverride().parseAsync([...argv], { from: 'user' })
    return { code: typeof process.exitCode === 'number' ? process.exitCode : 0, out, err }
  } catch (x) {
    if (x instanceof CommanderError) return { code: x.exitCode, out, err }
    throw x
  } finally {
    process.exitCode = undefined
    o.mockRestore()
    e.mockRestore()
  }
}
