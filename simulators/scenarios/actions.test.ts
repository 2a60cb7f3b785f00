import { describe, expect, it } from 'vitest'
import { coverEventOf, faultOf, pipeEventOf } from './actions.ts'
import type { PlannedEvent } from './scenario.ts'

const at = { atS: 0, index: 0, select: { device: 'x' } }

describe('scenario actions → model events', () => {
  it.each<[PlannedEvent, unknown, unknown, unknown]>([
    [{ ...at, action: 'burst', params: { dropBar: 1.2, fallS: 4 } }, { type: 'burst', dropBar: 1.2, fallS: 4 }, undefined, undefined],
    [{ ...at, action: 'valve-slam', params: { surgeBar: 2 } }, { type: 'valve-slam', surgeBar: 2 }, undefined, undefined],
    [{ ...at, action: 'recover' }, { type: 'recover' }, undefined, undefined],
    [{ ...at, action: 'impact', params: { spikeDeg: 3 } }, undefined, { type: 'impact', spikeDeg: 3 }, undefined],
    [{ ...at, action: 'impact' }, undefined, { type: 'impact' }, undefined],
    [{ ...at, action: 'open-cover', params: { displaced: true } }, undefined, { type: 'open', displaced: true }, undefined],
    [{ ...at, action: 'close-cover' }, undefined, { type: 'close' }, undefined],
    [{ ...at, action: 'fault', params: { mode: 'exception', code: 2 } }, undefined, undefined, { mode: 'exception', code: 2 }],
  ])('%j', (e, pipe, cover, fault) => {
    expect(pipeEventOf(e)).toEqual(pipe)
    expect(coverEventOf(e)).toEqual(cover)
    expect(faultOf(e)).toEqual(fault)
  })
})
