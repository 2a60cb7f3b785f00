/** Runs `muni` in-process for tests and captures what it prints (stdout, stderr) and its exit code. */
import { vi } from 'vitest'
import { main } from '../main.ts'

export interface MuniRun {
  code: number
  out: string
  err: string
}

export async function muni(...argv: string[]): Promise<MuniRun> {
  let out = ''
  let err = ''
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true))
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true))
  try {
    return { code: await main(argv), out, err }
  } finally {
    o.mockRestore()
    e.mockRestore()
  }
}
