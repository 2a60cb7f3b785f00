import { describe, expect, it } from 'vitest'
import type { CommandRequest, CommandResponse } from '../../shared/mqtt/index.ts'
import { handleCommand } from './handle.ts'
import { RecentCommands, rememberingHandler } from './recent.ts'
import { fakeContext, NOW } from './test-support/fixtures.ts'

const read = (id: string): CommandRequest => ({ type: 'read', id, ts: NOW, device: 'pv-01' })

describe('RecentCommands', () => {
  it('answers a redelivered id with the earlier response without running it again', async () => {
    const ctx = fakeContext()
    const onCommand = rememberingHandler((req) => handleCommand(req, ctx))
    const first = await onCommand(read('cmd-1'))
    const again = await onCommand(read('cmd-1'))
    expect(again).toBe(first)
    expect(ctx.calls).toHaveLength(1)
  })

  it('a repeat that arrives while the first still runs waits for the same answer', async () => {
    let release: () => void = () => {}
    let runs = 0
    const recent = new RecentCommands()
    const execute = async (req: CommandRequest): Promise<CommandResponse> => {
      runs++
      await new Promise<void>((r) => (release = r))
      return { id: req.id, ts: NOW, ok: true }
    }
    const a = recent.answer(read('cmd-1'), execute)
    const b = recent.answer(read('cmd-1'), execute)
    release()
    expect(await b).toBe(await a)
    expect(runs).toBe(1)
    expect(recent.repeats).toBe(1)
  })

  it('forgets the oldest ids beyond its capacity', async () => {
    const ctx = fakeContext()
    const onCommand = rememberingHandler((req) => handleCommand(req, ctx), 2)
    for (const id of ['a', 'b', 'c']) await onCommand(read(id))
    await onCommand(read('c')) // remembered
    await onCommand(read('b')) // remembered
    await onCommand(read('a')) // forgotten: runs again
    expect(ctx.calls).toHaveLength(4)
  })

  it('rejects a capacity below 1', () => {
    expect(() => new RecentCommands(0)).toThrow(RangeError)
  })
})
