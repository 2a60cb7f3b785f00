/**
 * mbpoll (libmodbus' command-line master) as a third-party peer: runs it once
 * and parses what it printed. Addresses are PDU addresses (`-0`), so
 * `reference` is the 0-based protocol address.
 */
import { runTool, type ToolResult } from './run-tool.ts'

export interface MbpollOutcome extends ToolResult {
  /** Values printed as `[ref]: value` (the decimal one, before any "(signed)" hint), by reference. */
  values: Map<number, string>
  /** The libmodbus error mbpoll printed (e.g. "Illegal data address", "Connection timed out", "Invalid CRC"), if any. */
  error: string | undefined
}

/** Runs `mbpoll args…` with a time limit; `-1` (poll once) and `-0` (PDU addressing) are the caller's to pass. */
export async function mbpoll(args: readonly string[], timeoutMs = 8000): Promise<MbpollOutcome> {
  const r = await runTool('mbpoll', args, { timeoutMs })
  const values = new Map<number, string>()
  for (const m of r.stdout.matchAll(/^\[(\d+)\]:\s+(\S+)/gm)) values.set(Number(m[1]), m[2] ?? '')
  const error = /(?:failed|error):\s*(.+)$/im.exec(`${r.stdout}\n${r.stderr}`)?.[1]?.trim()
  return { ...r, values, error }
}

/** Common arguments for Modbus TCP; the caller appends the host (e.g. '127.0.0.1'), which mbpoll takes last. */
export function tcpArgs(port: number, unit: number, type: string, reference: number, count = 1): string[] {
  return ['-m', 'tcp', '-p', String(port), '-a', String(unit), '-t', type, '-r', String(reference), '-c', String(count), '-0', '-1']
}
