import { describe, expect, it } from 'vitest'
import { preparePublish } from '../../shared/mqtt/index.ts'
import { PendingQueue, type PendingMessage } from './pending.ts'

const event = (n: number): PendingMessage => ({
  kind: 'events',
  message: preparePublish('events', 'north', 'gw-01', { device: 'pp-1', ts: n, event: 'available' }),
})
const tsOf = (m: PendingMessage): number => (JSON.parse(new TextDecoder().decode(m.message.payload)) as { ts: number }).ts

describe('PendingQueue', () => {
  it('hands each message out once per connection, oldest first, until it is settled', () => {
    const q = new PendingQueue(10)
    q.add(event(1))
    q.add(event(2))
    const first = q.take(1)
    expect(first.map(tsOf)).toEqual([1, 2])
    expect(q.take(1)).toEqual([])
    first[0]!.settle()
    expect(q.size).toBe(1)
    q.add(event(3))
    expect(q.take(1).map(tsOf)).toEqual([3])
  })

  it('sends everything unacknowledged again, in order, on the next connection', () => {
    const q = new PendingQueue(10)
    for (const n of [1, 2, 3]) q.add(event(n))
    const sent = q.take(1)
    sent[1]!.settle()
    q.requeueAll()
    expect(q.take(2).map(tsOf)).toEqual([1, 3])
  })

  it('a failed publish goes again on the next take', () => {
    const q = new PendingQueue(10)
    q.add(event(1))
    q.take(1)[0]!.unsend()
    expect(q.take(1).map(tsOf)).toEqual([1])
  })

  it('drops the oldest past its capacity and counts it', () => {
    const q = new PendingQueue(2)
    expect(q.add(event(1))).toBeUndefined()
    q.add(event(2))
    const dropped = q.add(event(3))
    expect(dropped === undefined ? undefined : tsOf(dropped)).toBe(1)
    expect(q.dropped).toBe(1)
    expect(q.take(1).map(tsOf)).toEqual([2, 3])
  })
})
