/**
 * A hand-written profile for the polling tests: fast and slow points in every
 * table, a sentinel, a float (for NaN), writable registers, a writable bit of a
 * register (read-modify-write) and a writable coil.
 */
import { resolveProfile, type ResolvedProfile } from '../../../shared/profile/resolve.ts'
import type { Profile } from '../../../shared/profile/schema.ts'

export const PUMP_STATION: Profile = {
  id: 'testco-ps1@1.0',
  kind: 'water-level',
  vendor: 'TestCo',
  model: 'PS1',
  firmware: '1.0',
  protocol: 'modbus',
  heartbeatS: 60,
  points: [
    { name: 'open', table: 'discrete', address: 0, type: 'bool' },
    { name: 'level_m', table: 'input', address: 0, type: 'uint16', scale: 0.001, range: { min: 0, max: 10 }, sentinels: [65535], deadband: 0.005 },
    { name: 'flow_lps', table: 'input', address: 1, type: 'float32' },
    { name: 'battery_pct', table: 'input', address: 3, type: 'uint16', range: { min: 0, max: 100 }, sentinels: [65535], poll: 'slow' },
    { name: 'setpoint_m', table: 'holding', address: 0, type: 'uint16', scale: 0.001, range: { min: 0, max: 5 }, access: 'readwrite', poll: 'slow' },
    { name: 'heater_enable', table: 'holding', address: 1, type: 'bit', bit: 0, access: 'readwrite', poll: 'slow' },
    { name: 'pump_enable', table: 'holding', address: 1, type: 'bit', bit: 2, access: 'readwrite', poll: 'slow' },
    { name: 'lock', table: 'coil', address: 0, type: 'bool', access: 'readwrite', poll: 'slow' },
  ],
}

/** The profile resolved, with quirks overridden when given. */
export function pumpStation(quirks?: Profile['quirks']): ResolvedProfile {
  return resolveProfile(quirks ? { ...PUMP_STATION, quirks: { ...PUMP_STATION.quirks, ...quirks } } : PUMP_STATION)
}
