/**
 * A test profile with one point per case the dispatcher distinguishes, and a fake
 * `CommandContext` that records every call it gets.
 */
import type { Value } from '../../../shared/codec/index.ts'
import type { Reading } from '../../../shared/mqtt/index.ts'
import { resolveProfile, type ResolvedProfile } from '../../../shared/profile/resolve.ts'
import type { Profile } from '../../../shared/profile/schema.ts'
import type { CommandContext, Outcome } from '../handle.ts'

export const PROFILE: ResolvedProfile = resolveProfile({
  id: 'acme-valve@1.0',
  kind: 'pipe-pressure',
  vendor: 'Acme',
  model: 'Valve',
  firmware: '1.0',
  protocol: 'modbus',
  points: [
    { name: 'pressure_bar', table: 'input', address: 0, type: 'uint16', scale: 0.01, range: { min: 0, max: 16 } },
    { name: 'alarm_enable', table: 'coil', address: 0, type: 'bool', access: 'readwrite' },
    { name: 'setpoint_bar', table: 'holding', address: 1, type: 'uint16', scale: 0.01, range: { min: 0, max: 10 }, access: 'readwrite', sentinels: [65535] },
    { name: 'serial', table: 'holding', address: 2, type: 'string', registers: 2, access: 'readwrite' },
    { name: 'firmware_word', table: 'holding', address: 4, type: 'uint16' },
    { name: 'valve_open', table: 'holding', address: 5, type: 'bit', bit: 3, access: 'readwrite' },
    { name: 'counter_limit', table: 'holding', address: 6, type: 'uint16', access: 'readwrite', sentinels: [65535] },
  ],
} satisfies Profile)

/** A profile the schema would refuse (readwrite in the input table), to test the table check on its own. */
export const ODD_PROFILE: ResolvedProfile = {
  ...PROFILE,
  id: 'acme-odd@1.0',
  points: [{ ...PROFILE.points[0]!, name: 'level_m', access: 'readwrite' }],
}

export const NOW = 1_764_052_900_000

export function readingOf(device: string, ts: number, values: Reading['values']): Reading {
  return { device, ts, values, errors: {}, historical: false }
}

export interface Call {
  method: 'write' | 'readNow' | 'setInterval' | 'rebirth'
  args: unknown[]
}

/** A context over `devices` that records calls; each method's outcome can be replaced. */
export function fakeContext(overrides: Partial<CommandContext> = {}, now = NOW): CommandContext & { calls: Call[] } {
  const calls: Call[] = []
  const ctx: CommandContext & { calls: Call[] } = {
    calls,
    devices: new Map([
      ['pv-01', { profile: PROFILE }],
      ['odd-01', { profile: ODD_PROFILE }],
    ]),
    async write(device: string, point: string, value: Value): Promise<Outcome<{ readBack?: Reading }>> {
      calls.push({ method: 'write', args: [device, point, value] })
      return { ok: true, value: { readBack: readingOf(device, now - 5, { [point]: value }) } }
    },
    async readNow(device: string): Promise<Outcome<Reading>> {
      calls.push({ method: 'readNow', args: [device] })
      return { ok: true, value: readingOf(device, now - 5, { pressure_bar: 3.2 }) }
    },
    setInterval(device: string, intervalMs: number): Outcome<void> {
      calls.push({ method: 'setInterval', args: [device, intervalMs] })
      return { ok: true, value: undefined }
    },
    rebirth(): void {
      calls.push({ method: 'rebirth', args: [] })
    },
    now: () => now,
    ...overrides,
  }
  return ctx
}
