/**
 * The district description (shared/district/schema.ts) names model parameters the
 * simulators' models must understand: a contract that drifts silently otherwise.
 */
import { describe, expect, it } from 'vitest'
import { CoverModelSchema, PipeModelSchema, UnderpassModelSchema } from '../../shared/district/schema.ts'
import { SENSOR_KINDS } from '../../shared/profile/schema.ts'
import { DEFAULT_COVER } from './manhole-cover.ts'
import { DEFAULT_PIPE } from './pipe-pressure.ts'
import { QUANTITIES_BY_KIND } from './quantities.ts'
import { DEFAULT_UNDERPASS } from './water-level.ts'

/** District-only fields: how the runner wires devices together, not model parameters. */
const WIRING = new Set(['linkedLevel', 'roadOffsetM'])

describe('district model parameters ↔ models', () => {
  it.each([
    ['water-level', UnderpassModelSchema, DEFAULT_UNDERPASS],
    ['pipe-pressure', PipeModelSchema, DEFAULT_PIPE],
    ['manhole-cover', CoverModelSchema, DEFAULT_COVER],
  ] as const)('every %s parameter of the district schema is a model parameter', (_kind, schema, defaults) => {
    const names = Object.keys(schema.properties).filter((n) => !WIRING.has(n))
    expect(names.filter((n) => !(n in defaults))).toEqual([])
  })

  it('has quantities for every sensor kind', () => {
    expect(Object.keys(QUANTITIES_BY_KIND).sort()).toEqual([...SENSOR_KINDS].sort())
  })
})
