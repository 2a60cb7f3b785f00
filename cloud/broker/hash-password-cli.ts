/**
 * Prints a `passwordHash` for the broker's credentials file:
 *
 *   printf '%s' "$PASSWORD" | npx tsx cloud/broker/hash-password-cli.ts
 *
 * The password is read from standard input, never from the command line, where
 * any user of the machine could read it in the process list (`ps`). One trailing
 * newline is dropped, so `echo secret | …` hashes `secret`.
 */
import { pathToFileURL } from 'node:url'
import { hashPassword } from './password.ts'

/** Reads the password from `input`, writes its hash and a newline to `out`; returns the exit code. */
export async function hashPasswordCli(input: AsyncIterable<Buffer | string>, out: { write(s: string): unknown }, err: { write(s: string): unknown }): Promise<number> {
  let text = ''
  for await (const chunk of input) text += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
  const plain = text.replace(/\r?\n$/, '')
  if (plain.length === 0) {
    err.write('hash-password: no password on standard input (usage: printf %s "$PASSWORD" | npx tsx cloud/broker/hash-password-cli.ts)\n')
    return 2
  }
  out.write(`${await hashPassword(plain)}\n`)
  return 0
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await hashPasswordCli(process.stdin, process.stdout, process.stderr)
}
