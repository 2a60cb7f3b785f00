import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { describe, expect, it } from 'vitest'
import { check, MAX_VIOLATIONS } from './violations.ts'

describe('check → violations', () => {
  it('reports an unknown field once, at the field', () => {
    const S = Type.Object({ a: Type.Number() }, { additionalProperties: false })
    expect(check(Compile(S), { a: 1, zz: 2 })).toEqual([{ path: '/zz', reason: 'unknown field' }])
  })

  it('reports two list items failing one union apart, folded into one reason each', () => {
    const S = Type.Array(
      Type.Object({ kind: Type.Union([Type.Literal('a'), Type.Literal('b')]), v: Type.Union([Type.Number(), Type.Boolean()]) }, { additionalProperties: false }),
    )
    expect(check(Compile(S), [{ kind: 'x', v: 1 }, { kind: 'a', v: 'no' }, { kind: 'z', v: true }])).toEqual([
      { path: '/0/kind', reason: 'must be one of "a", "b"' },
      { path: '/1/v', reason: 'must be number or boolean' },
      { path: '/2/kind', reason: 'must be one of "a", "b"' },
    ])
  })

  it('keeps the errors of the discriminated branch the value chose', () => {
    const S = Type.Union([
      Type.Object({ type: Type.Literal('write'), value: Type.Number() }, { additionalProperties: false }),
      Type.Object({ type: Type.Literal('read') }, { additionalProperties: false }),
    ])
    expect(check(Compile(S), { type: 'write', value: 'x' })).toEqual([{ path: '/value', reason: 'must be number' }])
  })

  it('lists past TypeBox\'s default 8 errors, up to MAX_VIOLATIONS, and says how many more', () => {
    const S = Type.Array(Type.Number())
    const twelve = check(Compile(S), Array.from({ length: 12 }, () => 'x'))
    expect(twelve).toHaveLength(12)
    const many = check(Compile(S), Array.from({ length: MAX_VIOLATIONS + 7 }, () => 'x'))
    expect(many).toHaveLength(MAX_VIOLATIONS + 1)
    expect(many.at(-1)).toEqual({ path: '', reason: '7 more violations not listed' })
  })
})
