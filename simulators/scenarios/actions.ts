/**
 * What a scheduled event means to each model: the scenario's action vocabulary
 * (`burst`, `open-cover`, …) translated into the models' events. Faults are not a
 * model's business — a simulated device applies them to its Modbus answers — so
 * they come back as they are.
 */
import type { CoverEvent } from '../models/manhole-cover.ts'
import type { PipeEvent } from '../models/pipe-pressure.ts'
import type { FaultParams, PlannedEvent } from './scenario.ts'

/** The pipe-pressure model's event for `e`, or `undefined` when `e` is not for that model. */
export function pipeEventOf(e: PlannedEvent): PipeEvent | undefined {
  switch (e.action) {
    case 'burst':
      return { type: 'burst', ...e.params }
    case 'valve-slam':
      return { type: 'valve-slam', ...e.params }
    case 'recover':
      return { type: 'recover', ...e.params }
    default:
      return undefined
  }
}

/** The manhole-cover model's event for `e`, or `undefined` when `e` is not for that model. */
export function coverEventOf(e: PlannedEvent): CoverEvent | undefined {
  switch (e.action) {
    case 'impact':
      return e.params?.spikeDeg === undefined ? { type: 'impact' } : { type: 'impact', spikeDeg: e.params.spikeDeg }
    case 'open-cover':
      return { type: 'open', ...e.params }
    case 'close-cover':
      return { type: 'close' }
    default:
      return undefined
  }
}

/** The fault to show from now on (`mode: none` clears), or `undefined` when `e` is not a fault. */
export function faultOf(e: PlannedEvent): FaultParams | undefined {
  return e.action === 'fault' ? e.params : undefined
}
