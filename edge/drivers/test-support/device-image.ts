/**
 * The device the driver tests talk to: a profile with every table and several
 * writable coils and registers (so FC15/16 have something to land on), and the
 * same image for the pymodbus peer. Values are spelled out here, never read back
 * from code under test.
 */
import { resolveProfile, type ResolvedProfile } from '../../../shared/profile/resolve.ts'
import type { Profile } from '../../../shared/profile/schema.ts'
import type { Table } from '../../../shared/profile/schema.ts'
import { SimulatedDevice } from '../../../simulators/device/device.ts'
import type { PyUnitImage } from './pymodbus-server.ts'

export const DRIVER_TEST_PROFILE: Profile = {
  id: 'testco-drv1@1.0',
  kind: 'pipe-pressure',
  vendor: 'TestCo',
  model: 'DRV1',
  firmware: '1.0',
  protocol: 'modbus',
  points: [
    { name: 'valve_0', table: 'coil', address: 0, type: 'bool', access: 'readwrite' },
    { name: 'valve_1', table: 'coil', address: 1, type: 'bool', access: 'readwrite' },
    { name: 'valve_2', table: 'coil', address: 2, type: 'bool', access: 'readwrite' },
    { name: 'valve_3', table: 'coil', address: 3, type: 'bool', access: 'readwrite' },
    { name: 'door_open', table: 'discrete', address: 0, type: 'bool' },
    { name: 'flooded', table: 'discrete', address: 1, type: 'bool' },
    { name: 'power_ok', table: 'discrete', address: 2, type: 'bool' },
    { name: 'in_0', table: 'input', address: 0, type: 'uint16' },
    { name: 'in_1', table: 'input', address: 1, type: 'uint16' },
    { name: 'in_2', table: 'input', address: 2, type: 'uint16' },
    { name: 'in_3', table: 'input', address: 3, type: 'uint16' },
    { name: 'in_4', table: 'input', address: 4, type: 'uint16' },
    { name: 'set_0', table: 'holding', address: 0, type: 'uint16', access: 'readwrite' },
    { name: 'set_1', table: 'holding', address: 1, type: 'uint16', access: 'readwrite' },
    { name: 'set_2', table: 'holding', address: 2, type: 'uint16', access: 'readwrite' },
    { name: 'set_3', table: 'holding', address: 3, type: 'uint16', access: 'readwrite' },
    { name: 'serial_no', table: 'holding', address: 4, type: 'uint16' },
  ],
}

export const RESOLVED: ResolvedProfile = resolveProfile(DRIVER_TEST_PROFILE)

/** The image of unit A, by table: what every read must return. */
export const IMAGE_A: Readonly<Record<Table, readonly number[]>> = {
  coil: [1, 0, 1, 0],
  discrete: [1, 0, 1],
  input: [0x1234, 0xabcd, 0, 0xffff, 7],
  holding: [100, 200, 300, 400, 4242],
}

/** Unit B differs everywhere, so that answers cannot be swapped between units unnoticed. */
export const IMAGE_B: Readonly<Record<Table, readonly number[]>> = {
  coil: [0, 1, 0, 1],
  discrete: [0, 1, 0],
  input: [0x0b0b, 1, 2, 3, 4],
  holding: [11, 22, 33, 44, 5555],
}

const NAMES: Readonly<Record<Table, readonly string[]>> = {
  coil: ['valve_0', 'valve_1', 'valve_2', 'valve_3'],
  discrete: ['door_open', 'flooded', 'power_ok'],
  input: ['in_0', 'in_1', 'in_2', 'in_3', 'in_4'],
  holding: ['set_0', 'set_1', 'set_2', 'set_3', 'serial_no'],
}

/** A simulated device serving `image`. `unmapped: 'zeros'` lets reads run to the protocol's limits. */
export function simulatedDevice(image: Readonly<Record<Table, readonly number[]>>, unmapped: 'exception' | 'zeros' = 'exception'): SimulatedDevice {
  const values: Record<string, number | boolean> = {}
  for (const table of ['coil', 'discrete', 'input', 'holding'] as const) {
    NAMES[table].forEach((name, i) => {
      const v = image[table][i] ?? 0
      values[name] = table === 'coil' || table === 'discrete' ? v === 1 : v
    })
  }
  return new SimulatedDevice({ profile: RESOLVED, values, unmapped })
}

/** The same image for the pymodbus server, padded with zeros to `size` entries per table. */
export function pyImage(image: Readonly<Record<Table, readonly number[]>>, size = 2000): PyUnitImage {
  const pad = (v: readonly number[]): number[] => [...v, ...Array<number>(size - v.length).fill(0)]
  return { co: pad(image.coil), di: pad(image.discrete), hr: pad(image.holding), ir: pad(image.input) }
}
