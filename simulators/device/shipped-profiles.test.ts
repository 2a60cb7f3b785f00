/**
 * Every firmware profile shipped in firmware-profiles/ can be simulated: parsed
 * with the shared parser, every point's span is served, and what the device
 * serves decodes on the edge side (the shared codec) as intended, including the
 * sentinel fault, which must read back as a `sentinel` error wherever the profile
 * declares sentinels.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { decodePoint } from '../../shared/codec/index.ts'
import { FC } from '../../shared/modbus/codes.ts'
import { parseProfile } from '../../shared/profile/parse.ts'
import type { ResolvedPoint } from '../../shared/profile/resolve.ts'
import { SimulatedDevice } from './device.ts'

const root = fileURLToPath(new URL('../../firmware-profiles', import.meta.url))
const files = (function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : []))
})(root)

const READ_FC = { coil: FC.readCoils, discrete: FC.readDiscreteInputs, holding: FC.readHoldingRegisters, input: FC.readInputRegisters } as const

/** Reads one point's span through the PDU path and returns its words (bits as 0/1), or the exception code. */
function readPoint(d: SimulatedDevice, p: ResolvedPoint): number[] | number {
  const reply = d.respond(Uint8Array.of(READ_FC[p.table], p.address >> 8, p.address & 0xff, 0, p.registers))
  if (reply.kind === 'silent') return -1
  const pdu = reply.pdu
  if ((pdu[0] ?? 0) & 0x80) return pdu[1] ?? -1
  if (p.table === 'coil' || p.table === 'discrete') return Array.from({ length: p.registers }, (_, i) => ((pdu[2 + (i >> 3)] ?? 0) >> (i & 7)) & 1)
  return Array.from({ length: p.registers }, (_, i) => ((pdu[2 + 2 * i] ?? 0) << 8) | (pdu[3 + 2 * i] ?? 0))
}

describe('shipped firmware profiles', () => {
  it('are there to test', () => {
    expect(files.length).toBeGreaterThan(0)
  })

  it.each(files.map((f) => [relative(root, f), f]))('%s: every point is served, and sentinels read back as sentinels', (name, file) => {
    const parsed = parseProfile(readFileSync(file, 'utf8'), name)
    if (!parsed.ok) throw new Error(parsed.issues.map((i) => `${i.line}:${i.column} ${i.field} ${i.reason}`).join('\n'))
    const profile = parsed.resolved
    // quirks off: the pause between requests would drop back-to-back reads.
    const d = new SimulatedDevice({ profile, quirks: false })
    for (const p of profile.points) {
      const words = readPoint(d, p)
      expect(Array.isArray(words), `${p.name} answered exception ${String(words)}`).toBe(true)
    }
    d.setFault({ kind: 'sentinel' })
    for (const p of profile.points.filter((q) => q.sentinels.length > 0 && q.type !== 'bit' && q.type !== 'bool' && q.type !== 'string')) {
      const served = decodePoint(p, readPoint(d, p) as number[])
      expect(served, p.name).toMatchObject({ ok: false, error: { code: 'sentinel' } })
    }
  })
})
