import { describe, expect, it } from 'vitest'
import { decode, topics, validateMessage } from '../../shared/mqtt/index.ts'
import { invalidRequestResponse, readableId } from './responses.ts'

const topic = topics.command('north', 'gw-01')
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('readableId', () => {
  it.each([
    { name: 'a valid id', payload: '{"id":"cmd-1"}', id: 'cmd-1' },
    { name: 'an id among bad fields', payload: '{"type":"explode","id":"cmd-2","ts":-1}', id: 'cmd-2' },
    { name: '64 characters', payload: `{"id":"${'a'.repeat(64)}"}`, id: 'a'.repeat(64) },
    { name: '65 characters', payload: `{"id":"${'a'.repeat(65)}"}`, id: undefined },
    { name: 'empty id', payload: '{"id":""}', id: undefined },
    { name: 'numeric id', payload: '{"id":7}', id: undefined },
    { name: 'no id', payload: '{"type":"read"}', id: undefined },
    { name: 'an array', payload: '[{"id":"cmd-1"}]', id: undefined },
    { name: 'not JSON', payload: 'id=cmd-1', id: undefined },
    { name: 'empty', payload: '', id: undefined },
  ])('$name → $id', ({ payload, id }) => {
    expect(readableId(bytes(payload))).toBe(id)
    expect(readableId(payload)).toBe(id)
  })

  it('invalid UTF-8 has no readable id', () => {
    expect(readableId(new Uint8Array([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]))).toBeUndefined()
  })
})

describe('invalidRequestResponse', () => {
  it('answers a request that fails decode with invalid, listing what is wrong', () => {
    const payload = bytes('{"type":"write","id":"cmd-9","ts":1764052890000,"device":"mc-1","point":"Bad Name","value":true,"extra":1}')
    const r = decode(topic, payload)
    expect(r.ok).toBe(false)
    if (r.ok) return
    const res = invalidRequestResponse(payload, r.violations, 1_764_052_890_100)
    expect(res).toMatchObject({ id: 'cmd-9', ts: 1_764_052_890_100, ok: false, error: { code: 'invalid' } })
    expect(validateMessage('command/response', res)).toEqual([])
    if (res !== undefined && !res.ok) {
      expect(res.error.message).toContain('/point')
      expect(res.error.message).toContain('/extra')
    }
  })

  it('keeps the message within 500 characters however many violations there are', () => {
    const violations = Array.from({ length: 100 }, (_, i) => ({ path: `/x${i}`, reason: 'r'.repeat(50) }))
    const res = invalidRequestResponse('{"id":"cmd-1"}', violations, 0)
    expect(validateMessage('command/response', res)).toEqual([])
  })

  it('cannot answer a request without a readable id', () => {
    expect(invalidRequestResponse('{"type":"read"}', [{ path: '/id', reason: 'required' }], 0)).toBeUndefined()
  })
})
