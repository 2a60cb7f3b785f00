/** Commander run so that it returns an exit code instead of exiting the process. */
import { CommanderError, type Command } from 'commander'

/** Parses `argv` (user arguments) with `cmd` and returns the exit code its action set (0 when none). */
export async function parseToExitCode(cmd: Command, argv: readonly string[]): Promise<number> {
  returnInsteadOfExit(cmd)
  try {
    process.exitCode = undefined
    await cmd.parseAsync([...argv], { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    throw err
  }
}

/** Commander exits the process on --help and errors; make it throw instead, at every depth. */
function returnInsteadOfExit(cmd: Command): Command {
  cmd.exitOverride()
  for (const sub of cmd.commands) returnInsteadOfExit(sub)
  return cmd
}
