import { describe, expect, it } from 'vitest'
import { filters, TOPIC_KINDS } from '../../shared/mqtt/index.ts'
import { defaultFilters, filterProblem } from './filters.ts'

describe('defaultFilters', () => {
  it('covers every kind a gateway publishes, from every gateway, and leaves requests to gateways out', () => {
    expect(defaultFilters()).toEqual(TOPIC_KINDS.filter((k) => k !== 'command').map((k) => filters.all(k)))
  })
})

describe('filterProblem (MQTT 3.1.1 §4.7.1)', () => {
  it.each([
    ['muni/v1/+/+/telemetry', undefined],
    ['#', undefined],
    ['muni/#', undefined],
    ['+', undefined],
    ['', 'a topic filter cannot be empty'],
    ['muni/#/x', '# must be a whole level and the last one'],
    ['muni/v1#', '# must be a whole level and the last one'],
    ['muni/v1+/x', '+ must be a whole level'],
    ['a\u0000b', 'a topic filter cannot contain U+0000'],
  ])('%j → %s', (filter, problem) => expect(filterProblem(filter)).toBe(problem))
})
