/**
 * Parsing of the edge tools' bus and range arguments. Each parser returns the
 * value or a message that says exactly what was wrong, for the CLI to print.
 */
import type { Parity } from './scan.ts'

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string }

const PARITIES: readonly Parity[] = ['none', 'even', 'odd']

/** `HOST:PORT`, `[::1]:502`. */
export function parseHostPort(s: string): Parsed<{ host: string; port: number }> {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s.trim())
  const host = m?.[1] ?? m?.[2]
  const port = Number(m?.[3])
  if (!m || host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, error: `--tcp wants HOST:PORT (port 1..65535), not "${s}"` }
  return { ok: true, value: { host, port } }
}

/** `1-247`, `1,7,42`, `1-5,9`: unit ids 1..247 (Modbus over Serial Line v1.02 §2.2), sorted, without repeats. */
export function parseUnits(s: string): Parsed<number[]> {
  const out = new Set<number>()
  for (const part of s.split(',').map((x) => x.trim())) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part)
    const from = Number(m?.[1])
    const to = m?.[2] === undefined ? from : Number(m[2])
    if (!m || from < 1 || to > 247 || from > to) return { ok: false, error: `--units wants ids or ranges within 1..247 like 1-247 or 1,7,42, not "${s}"` }
    for (let u = from; u <= to; u++) out.add(u)
  }
  return { ok: true, value: [...out].sort((a, b) => a - b) }
}

/** One unit id, 1..247. */
export function parseUnit(s: string): Parsed<number> {
  const n = Number(s)
  return Number.isInteger(n) && n >= 1 && n <= 247 ? { ok: true, value: n } : { ok: false, error: `--unit wants a unit id 1..247, not "${s}"` }
}

/** `9600,19200`. */
export function parseBauds(s: string, flag = '--bauds'): Parsed<number[]> {
  const list = s.split(',').map((x) => Number(x.trim()))
  if (list.length === 0 || list.some((b) => !Number.isInteger(b) || b < 300 || b > 4_000_000)) return { ok: false, error: `${flag} wants baud rates like 9600,19200, not "${s}"` }
  return { ok: true, value: list }
}

/** `none,even,odd`. */
export function parseParities(s: string, flag = '--parities'): Parsed<Parity[]> {
  const list = s.split(',').map((x) => x.trim())
  const bad = list.filter((p) => !(PARITIES as readonly string[]).includes(p))
  if (bad.length > 0) return { ok: false, error: `${flag} wants ${PARITIES.join(', ')}, not "${bad.join(',')}"` }
  return { ok: true, value: list as Parity[] }
}

/** `1` or `2`. */
export function parseStopBits(s: string): Parsed<1 | 2> {
  return s === '1' || s === '2' ? { ok: true, value: Number(s) as 1 | 2 } : { ok: false, error: `--stop-bits wants 1 or 2, not "${s}"` }
}

/** A positive timeout in ms. */
export function parseTimeout(s: string): Parsed<number> {
  const n = Number(s)
  return Number.isFinite(n) && n > 0 && n <= 60_000 ? { ok: true, value: n } : { ok: false, error: `--timeout wants milliseconds 1..60000, not "${s}"` }
}
