/**
 * Commands end to end: the cloud publishes a request on a real broker, the uplink
 * delivers it to `handleCommand` over a fake gateway that records what it was asked
 * to do, and the answer comes back on `command/response`.
 */
import { afterEach, describe, expect, it, type TestContext } from 'vitest'
import type { CommandRequest } from '../../shared/mqtt/index.ts'
import { BROKERS, Cleanup, startGateway, startSite, until, type Cloud, type Gateway } from '../uplink/test-support/harness.ts'
import { handleCommand } from './handle.ts'
import { rememberingHandler } from './recent.ts'
import { fakeContext } from './test-support/fixtures.ts'

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

describe.each(BROKERS)('command round trips on $name', (brokerKind) => {
  async function setup(ctx: Pick<TestContext, 'skip'>): Promise<{ cloud: Cloud; gw: Gateway; calls: ReturnType<typeof fakeContext>['calls'] }> {
    const { proxy, cloud } = await startSite(brokerKind, ctx, cleanup)
    let gw: Gateway | undefined
    const gateway = fakeContext({ rebirth: () => gw?.uplink.rebirth(), now: () => Date.now() }, Date.now())
    gw = startGateway(proxy.url, cleanup, { onCommand: rememberingHandler((req) => handleCommand(req, gateway)) })
    await cloud.next('state', (s) => s.state === 'online')
    return { cloud, gw, calls: gateway.calls }
  }
  const at = (): { id: string; ts: number } => ({ id: `cmd-${Math.random().toString(16).slice(2, 10)}`, ts: Date.now() })

  it('write: checked, executed once, answered with the read-back', async (ctx) => {
    const { cloud, calls } = await setup(ctx)
    const req: CommandRequest = { type: 'write', ...at(), timeoutMs: 10_000, device: 'pv-01', point: 'alarm_enable', value: true }
    await cloud.command(req)
    const res = await cloud.response(req.id)
    expect(res.message).toMatchObject({ id: req.id, ok: true, result: { device: 'pv-01', values: { alarm_enable: true } } })
    expect(calls).toEqual([{ method: 'write', args: ['pv-01', 'alarm_enable', true] }])
  })

  it('read: answered with the fresh reading', async (ctx) => {
    const { cloud, calls } = await setup(ctx)
    const req: CommandRequest = { type: 'read', ...at(), device: 'pv-01' }
    await cloud.command(req)
    expect((await cloud.response(req.id)).message).toMatchObject({ ok: true, result: { device: 'pv-01', values: { pressure_bar: 3.2 } } })
    expect(calls).toEqual([{ method: 'readNow', args: ['pv-01'] }])
  })

  it('rebirth: the birth is published again with the same session and ts', async (ctx) => {
    const { cloud } = await setup(ctx)
    const first = await cloud.next('birth')
    const req: CommandRequest = { type: 'rebirth', ...at() }
    await cloud.command(req)
    expect((await cloud.response(req.id)).message).toMatchObject({ id: req.id, ok: true })
    const again = await cloud.next('birth', () => true, first.index)
    expect(again.message).toEqual(first.message)
  })

  it('set-interval: passed to the gateway', async (ctx) => {
    const { cloud, calls } = await setup(ctx)
    const req: CommandRequest = { type: 'set-interval', ...at(), device: 'pv-01', intervalMs: 5_000 }
    await cloud.command(req)
    expect((await cloud.response(req.id)).message).toMatchObject({ ok: true })
    expect(calls).toEqual([{ method: 'setInterval', args: ['pv-01', 5_000] }])
  })

  it.for([
    { name: 'unknown device', req: { type: 'read', device: 'nope-1' }, code: 'unknown_device' },
    { name: 'unknown point', req: { type: 'write', device: 'pv-01', point: 'no_such', value: 1 }, code: 'unknown_point' },
    { name: 'not writable', req: { type: 'write', device: 'pv-01', point: 'firmware_word', value: 1 }, code: 'not_writable' },
    { name: 'out of range', req: { type: 'write', device: 'pv-01', point: 'setpoint_bar', value: 99 }, code: 'out_of_range' },
    { name: 'wrong type', req: { type: 'write', device: 'pv-01', point: 'alarm_enable', value: 1 }, code: 'invalid' },
    { name: 'expired', req: { type: 'write', device: 'pv-01', point: 'alarm_enable', value: true, timeoutMs: 100, ts: Date.now() - 200_000 }, code: 'expired' },
  ])('$name: refused with $code and nothing executed', async ({ req, code }, ctx) => {
    const { cloud, calls } = await setup(ctx)
    const full = { ...at(), ...req } as CommandRequest
    await cloud.command(full)
    expect((await cloud.response(full.id)).message).toMatchObject({ id: full.id, ok: false, error: { code } })
    expect(calls).toEqual([])
  })

  it('a request that fails decode is answered invalid when its id is readable, else counted', async (ctx) => {
    const { cloud, gw, calls } = await setup(ctx)
    await cloud.command('{"type":"write","id":"bad-1","ts":1,"device":"pv-01","point":"alarm_enable"}')
    const res = await cloud.response('bad-1')
    expect(res.message).toMatchObject({ ok: false, error: { code: 'invalid' } })
    if (!res.message.ok) expect(res.message.error.message).toContain('value')
    await cloud.command('not json at all')
    const marker: CommandRequest = { type: 'read', ...at(), device: 'pv-01' }
    await cloud.command(marker)
    await cloud.response(marker.id)
    expect(cloud.of('command/response').map((r) => r.message.id)).toEqual(['bad-1', marker.id])
    expect(gw.uplink.stats().commands).toMatchObject({ received: 3, answered: 2, unanswerable: 1 })
    expect(calls).toEqual([{ method: 'readNow', args: ['pv-01'] }])
  })

  it('a redelivered request (same id) gets the earlier answer and runs once', async (ctx) => {
    const { cloud, calls } = await setup(ctx)
    const req: CommandRequest = { type: 'write', ...at(), device: 'pv-01', point: 'setpoint_bar', value: 7.5 }
    await cloud.command(req)
    const first = await cloud.response(req.id)
    await cloud.command(req)
    await until('the second answer', () => cloud.of('command/response').filter((r) => r.message.id === req.id).length === 2)
    const [a, b] = cloud.of('command/response').filter((r) => r.message.id === req.id)
    expect(b!.message).toEqual(a!.message)
    expect(first.message.ok).toBe(true)
    expect(calls).toHaveLength(1)
  })
})
