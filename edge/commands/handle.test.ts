import { describe, expect, it } from 'vitest'
import { validateMessage, type CommandRequest, type CommandResponse } from '../../shared/mqtt/index.ts'
import { handleCommand, isExpired } from './handle.ts'
import { fakeContext, NOW, readingOf, type Call } from './test-support/fixtures.ts'

const base = { id: 'cmd-1', ts: NOW - 1_000 }
const write = (point: string, value: number | boolean | string, device = 'pv-01'): CommandRequest => ({ type: 'write', ...base, device, point, value })

interface Case {
  name: string
  req: CommandRequest
  /** `ok` or the error code. */
  expect: 'ok' | NonNullable<Extract<CommandResponse, { ok: false }>['error']>['code']
  calls: Call[]
  /** A part of the message, for refusals. */
  message?: string
}

const cases: Case[] = [
  // writes: accepted
  { name: 'write a coil', req: write('alarm_enable', true), expect: 'ok', calls: [{ method: 'write', args: ['pv-01', 'alarm_enable', true] }] },
  { name: 'write a scaled holding register inside its range', req: write('setpoint_bar', 7.5), expect: 'ok', calls: [{ method: 'write', args: ['pv-01', 'setpoint_bar', 7.5] }] },
  { name: 'write the top of the range', req: write('setpoint_bar', 10), expect: 'ok', calls: [{ method: 'write', args: ['pv-01', 'setpoint_bar', 10] }] },
  { name: 'write a string that fits', req: write('serial', 'AB12'), expect: 'ok', calls: [{ method: 'write', args: ['pv-01', 'serial', 'AB12'] }] },
  { name: 'write a bit point', req: write('valve_open', false), expect: 'ok', calls: [{ method: 'write', args: ['pv-01', 'valve_open', false] }] },
  // writes: refused before the device
  { name: 'unknown device', req: write('alarm_enable', true, 'nope-9'), expect: 'unknown_device', calls: [], message: 'nope-9' },
  { name: 'unknown point', req: write('no_such_point', 1), expect: 'unknown_point', calls: [], message: 'no_such_point' },
  { name: 'read-only point (access: read)', req: write('firmware_word', 3), expect: 'not_writable', calls: [], message: 'read-only' },
  { name: 'read-only point in the input table', req: write('pressure_bar', 3), expect: 'not_writable', calls: [] },
  { name: 'readwrite declared on an input register', req: write('level_m', 1, 'odd-01'), expect: 'not_writable', calls: [], message: 'input table' },
  { name: 'above the range', req: write('setpoint_bar', 10.01), expect: 'out_of_range', calls: [], message: 'setpoint_bar' },
  { name: 'below the range', req: write('setpoint_bar', -0.01), expect: 'out_of_range', calls: [] },
  { name: 'a string longer than its registers', req: write('serial', 'TOO-LONG'), expect: 'out_of_range', calls: [], message: 'exceeds' },
  { name: 'a sentinel raw value', req: write('counter_limit', 65535), expect: 'out_of_range', calls: [], message: 'sentinel' },
  { name: 'beyond the raw type', req: write('counter_limit', 70000), expect: 'out_of_range', calls: [], message: 'uint16' },
  { name: 'not a finite number', req: write('counter_limit', Number.NaN), expect: 'out_of_range', calls: [] },
  { name: 'non-ASCII string', req: write('serial', 'é'), expect: 'out_of_range', calls: [] },
  { name: 'number for a bool', req: write('alarm_enable', 1), expect: 'invalid', calls: [], message: 'takes a boolean' },
  { name: 'string for a number', req: write('setpoint_bar', '5'), expect: 'invalid', calls: [], message: 'takes a number' },
  { name: 'boolean for a bit point is fine, a number is not', req: write('valve_open', 0), expect: 'invalid', calls: [] },
  // other types
  { name: 'read', req: { type: 'read', ...base, device: 'pv-01' }, expect: 'ok', calls: [{ method: 'readNow', args: ['pv-01'] }] },
  { name: 'read of an unknown device', req: { type: 'read', ...base, device: 'gone-1' }, expect: 'unknown_device', calls: [] },
  { name: 'set-interval', req: { type: 'set-interval', ...base, device: 'pv-01', intervalMs: 5_000 }, expect: 'ok', calls: [{ method: 'setInterval', args: ['pv-01', 5_000] }] },
  { name: 'set-interval of an unknown device', req: { type: 'set-interval', ...base, device: 'gone-1', intervalMs: 5_000 }, expect: 'unknown_device', calls: [] },
  { name: 'rebirth', req: { type: 'rebirth', ...base }, expect: 'ok', calls: [{ method: 'rebirth', args: [] }] },
  // expiry: checked first, nothing runs
  { name: 'expired write (default timeout 30 s)', req: { ...write('alarm_enable', true), ts: NOW - 30_001 }, expect: 'expired', calls: [], message: 'not executed' },
  { name: 'write exactly at ts + timeoutMs still runs', req: { ...write('alarm_enable', true), ts: NOW - 30_000 }, expect: 'ok', calls: [{ method: 'write', args: ['pv-01', 'alarm_enable', true] }] },
  { name: 'expired with its own timeoutMs', req: { type: 'read', id: 'cmd-1', ts: NOW - 1_000, timeoutMs: 999, device: 'pv-01' }, expect: 'expired', calls: [] },
  { name: 'expired rebirth', req: { type: 'rebirth', id: 'cmd-1', ts: NOW - 200, timeoutMs: 100 }, expect: 'expired', calls: [] },
  { name: 'expired set-interval', req: { type: 'set-interval', id: 'cmd-1', ts: 0, device: 'pv-01', intervalMs: 1_000 }, expect: 'expired', calls: [] },
  { name: 'expiry wins over an unknown device', req: { ...write('x', 1, 'gone-1'), ts: 0 }, expect: 'expired', calls: [] },
]

describe('handleCommand', () => {
  it.each(cases)('$name → $expect', async (c) => {
    const ctx = fakeContext()
    const res = await handleCommand(c.req, ctx)
    expect(res.id).toBe(c.req.id)
    expect(res.ts).toBe(NOW)
    expect(validateMessage('command/response', res)).toEqual([])
    if (c.expect === 'ok') expect(res).toMatchObject({ ok: true })
    else {
      expect(res).toMatchObject({ ok: false, error: { code: c.expect } })
      if (c.message !== undefined && !res.ok) expect(res.error.message).toContain(c.message)
    }
    expect(ctx.calls).toEqual(c.calls)
  })

  it('answers a write with the read-back reading and a read with the fresh reading', async () => {
    const ctx = fakeContext()
    const w = await handleCommand(write('setpoint_bar', 7.5), ctx)
    expect(w).toEqual({ id: 'cmd-1', ts: NOW, ok: true, result: readingOf('pv-01', NOW - 5, { setpoint_bar: 7.5 }) })
    const r = await handleCommand({ type: 'read', ...base, device: 'pv-01' }, ctx)
    expect(r).toEqual({ id: 'cmd-1', ts: NOW, ok: true, result: readingOf('pv-01', NOW - 5, { pressure_bar: 3.2 }) })
  })

  it('a write without read-back answers ok without result', async () => {
    const ctx = fakeContext({ write: async () => ({ ok: true, value: {} }) })
    expect(await handleCommand(write('alarm_enable', true), ctx)).toEqual({ id: 'cmd-1', ts: NOW, ok: true })
  })

  it.each([
    { name: 'the device refused (Modbus exception 02)', error: { code: 'device_error', message: 'write refused by the device', cause: { code: 'exception', exception: 2 } } },
    { name: 'the device timed out', error: { code: 'timeout', message: 'no answer in 1000 ms', cause: { code: 'timeout' } } },
    { name: 'the bus queue is full', error: { code: 'busy', message: 'the command queue is full' } },
  ] as const)('passes the gateway’s failure through: $name', async ({ error }) => {
    const ctx = fakeContext({ write: async () => ({ ok: false, error }) })
    expect(await handleCommand(write('alarm_enable', true), ctx)).toEqual({ id: 'cmd-1', ts: NOW, ok: false, error })
  })

  it('a set-interval the bus cannot keep up with is out_of_range', async () => {
    const error = { code: 'out_of_range', message: 'intervalMs 5000 is below this bus’s minimum of 10000' } as const
    const ctx = fakeContext({ setInterval: () => ({ ok: false, error }) })
    expect(await handleCommand({ type: 'set-interval', ...base, device: 'pv-01', intervalMs: 5_000 }, ctx)).toMatchObject({ ok: false, error })
  })

  it.each([
    { name: 'write throws', over: { write: async () => Promise.reject(new Error('port /dev/ttyS1 closed')) } },
    { name: 'readNow throws', over: { readNow: () => { throw new Error('port /dev/ttyS1 closed') } } },
    { name: 'rebirth throws', over: { rebirth: () => { throw new Error('port /dev/ttyS1 closed') } } },
  ])('a context that throws becomes device_error with the reason: $name', async ({ name, over }) => {
    const ctx = fakeContext(over)
    const req: CommandRequest = name.startsWith('write') ? write('alarm_enable', true) : name.startsWith('read') ? { type: 'read', ...base, device: 'pv-01' } : { type: 'rebirth', ...base }
    const res = await handleCommand(req, ctx)
    expect(res).toMatchObject({ id: 'cmd-1', ok: false, error: { code: 'device_error' } })
    if (!res.ok) expect(res.error.message).toContain('port /dev/ttyS1 closed')
  })

  it('a result the contract rejects becomes device_error instead of an unpublishable answer', async () => {
    const ctx = fakeContext({ readNow: async () => ({ ok: true, value: { device: 'pv-01', ts: NOW, values: { x: 1 }, errors: { x: { code: 'timeout' } }, historical: false } }) })
    const res = await handleCommand({ type: 'read', ...base, device: 'pv-01' }, ctx)
    expect(res).toMatchObject({ ok: false, error: { code: 'device_error' } })
    expect(validateMessage('command/response', res)).toEqual([])
  })

  it('clips a long failure message to the contract’s 500 characters', async () => {
    const ctx = fakeContext({ readNow: async () => Promise.reject(new Error('x'.repeat(2_000))) })
    const res = await handleCommand({ type: 'read', ...base, device: 'pv-01' }, ctx)
    expect(validateMessage('command/response', res)).toEqual([])
    if (!res.ok) expect(res.error.message.length).toBe(500)
  })
})

describe('isExpired', () => {
  it.each([
    { ts: 1_000, timeoutMs: 100, now: 1_100, expired: false },
    { ts: 1_000, timeoutMs: 100, now: 1_101, expired: true },
    { ts: 1_000, timeoutMs: undefined, now: 31_000, expired: false },
    { ts: 1_000, timeoutMs: undefined, now: 31_001, expired: true },
    { ts: 5_000, timeoutMs: 100, now: 0, expired: false },
  ])('ts $ts + timeoutMs $timeoutMs at $now → $expired', ({ ts, timeoutMs, now, expired }) => {
    expect(isExpired(timeoutMs === undefined ? { ts } : { ts, timeoutMs }, now)).toBe(expired)
  })
})
