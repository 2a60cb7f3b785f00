/**
 * Hand-written profiles for the simulator tests, resolved with the shared
 * `resolveProfile`, so the tests do not depend on the shipped YAML files. Each
 * point is there to exercise one codec path: bit tables, scaled integers, floats
 * in ABCD and CDAB, a 32-bit counter, a string, status bits, a writable setpoint.
 */
import { resolveProfile, type ResolvedProfile } from '../../shared/profile/resolve.ts'
import type { Profile } from '../../shared/profile/schema.ts'

export const TEST_MANHOLE: Profile = {
  id: 'testco-mh1@1.0',
  kind: 'manhole-cover',
  vendor: 'TestCo',
  model: 'MH1',
  firmware: '1.0',
  protocol: 'modbus',
  points: [
    { name: 'cover_open', table: 'discrete', address: 0, type: 'bool' },
    { name: 'water_present', table: 'discrete', address: 1, type: 'bool' },
    { name: 'lock_engaged', table: 'coil', address: 0, type: 'bool', access: 'readwrite' },
    { name: 'tilt_deg', table: 'input', address: 0, type: 'int16', scale: 0.1, range: { min: -90, max: 90 }, sentinels: [-32768] },
    { name: 'water_level_m', table: 'input', address: 1, type: 'float32', order: 'ABCD', range: { min: 0, max: 5 } },
    { name: 'battery_v', table: 'input', address: 3, type: 'float32', order: 'CDAB', sentinels: [-1] },
    { name: 'status', table: 'input', address: 5, type: 'uint16' },
    { name: 'flooded', table: 'input', address: 5, type: 'bit', bit: 0 },
    { name: 'tampered', table: 'input', address: 5, type: 'bit', bit: 3 },
    { name: 'temperature_c', table: 'input', address: 6, type: 'int16', scale: 0.1, range: { min: -40, max: 85 } },
    { name: 'report_interval_s', table: 'holding', address: 0, type: 'uint16', access: 'readwrite', range: { min: 10, max: 3600 } },
    { name: 'alarm_level_m', table: 'holding', address: 1, type: 'uint16', scale: 0.01, access: 'readwrite' },
    { name: 'open_count', table: 'holding', address: 2, type: 'uint32', order: 'CDAB' },
    { name: 'serial', table: 'holding', address: 4, type: 'string', registers: 4 },
  ],
}

export const TEST_LEVEL: Profile = {
  id: 'testco-wl2@2.0',
  kind: 'water-level',
  vendor: 'TestCo',
  model: 'WL2',
  firmware: '2.0',
  protocol: 'modbus',
  quirks: { turnaroundMs: 5 },
  points: [
    { name: 'level_m', table: 'input', address: 0, type: 'uint16', scale: 0.001, range: { min: 0, max: 10 }, sentinels: [65535] },
    { name: 'level_f', table: 'input', address: 1, type: 'float32', order: 'CDAB' },
    { name: 'setpoint_m', table: 'holding', address: 0, type: 'uint16', scale: 0.001, access: 'readwrite' },
  ],
}

/** `profile` resolved, optionally with quirks overridden (e.g. a turnaround for one test). */
export function testProfile(profile: Profile, quirks?: Profile['quirks']): ResolvedProfile {
  return resolveProfile(quirks ? { ...profile, quirks: { ...profile.quirks, ...quirks } } : profile)
}
