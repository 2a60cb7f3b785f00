import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort, startAedes, type AedesBroker } from '../test-support/broker.ts'
import { BrokerError, brokerTarget, closeClient, connectBroker, PASSWORD_ENV } from './connect.ts'

describe('brokerTarget', () => {
  it('takes credentials out of the URL; explicit options win; the env supplies a missing password', () => {
    expect(brokerTarget({ broker: 'mqtt://ann:s%40cret@broker.example:1883' }, {})).toEqual({ url: 'mqtt://broker.example:1883', username: 'ann', password: 's@cret' })
    expect(brokerTarget({ broker: 'mqtt://ann:x@h:1883', username: 'bob', password: 'y' }, {})).toEqual({ url: 'mqtt://h:1883', username: 'bob', password: 'y' })
    expect(brokerTarget({ broker: 'mqtt://h', username: 'bob' }, { [PASSWORD_ENV]: 'from-env' })).toEqual({ url: 'mqtt://h', username: 'bob', password: 'from-env' })
    expect(brokerTarget({ broker: 'mqtts://h:8883', username: 'u', password: 'p' }, { [PASSWORD_ENV]: 'from-env' }).password).toBe('p')
    // Anonymous: a password in the environment is not sent without a user name.
    expect(brokerTarget({ broker: 'mqtt://h' }, { [PASSWORD_ENV]: 'from-env' })).toEqual({ url: 'mqtt://h' })
  })

  it('refuses a password without a user name (MQTT 3.1.1 [MQTT-3.1.2-22])', () => {
    expect(() => brokerTarget({ broker: 'mqtt://h', password: 'hunter2' }, {})).toThrow('a password needs a user name: add --username (MQTT 3.1.1 §3.1.2.9)')
  })

  it.each(['not a url', 'http://h:1883', 'mqtt://user:hunter2@'])('refuses %j without quoting it', (broker) => {
    let err: unknown
    try {
      brokerTarget({ broker }, {})
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(BrokerError)
    expect((err as BrokerError).code).toBe('bad-url')
    expect((err as Error).message).not.toContain('hunter2')
  })
})

describe('connectBroker (real brokers)', () => {
  let broker: AedesBroker | undefined
  let silent: Server | undefined
  const silentSockets = new Set<Socket>()
  afterEach(async () => {
    await broker?.close()
    broker = undefined
    for (const s of silentSockets) s.destroy()
    await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()))
    silent = undefined
  })

  it('falls back from MQTT 5 to 3.1.1 on a broker without MQTT 5 (Aedes)', async () => {
    broker = await startAedes()
    const conn = await connectBroker(brokerTarget({ broker: broker.url }, {}), { role: 'test', preferMqtt5: true, timeoutMs: 3000 })
    expect(conn.protocolVersion).toBe(4)
    expect(conn.client.connected).toBe(true)
    await closeClient(conn.client)
  })

  it('reports a closed port as unreachable, naming the broker', async () => {
    const port = await freePort()
    const err = await connectBroker(brokerTarget({ broker: `mqtt://127.0.0.1:${port}` }, {}), { role: 'test', timeoutMs: 3000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BrokerError)
    expect((err as BrokerError).code).toBe('unreachable')
    expect((err as Error).message).toBe(`cannot connect to broker mqtt://127.0.0.1:${port}: connection refused (is the broker running on that port?) (ECONNREFUSED)`)
  })

  it('reports bad credentials with the CONNACK code and never the password', async () => {
    broker = await startAedes({
      authenticate: (_client, _user, _password, done) => done(Object.assign(new Error('no'), { returnCode: 4 as const }), false),
    })
    const target = brokerTarget({ broker: `mqtt://ann:hunter2@127.0.0.1:${broker.port}` }, {})
    for (const preferMqtt5 of [false, true]) {
      const err = await connectBroker(target, { role: 'test', preferMqtt5, timeoutMs: 3000 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(BrokerError)
      expect((err as BrokerError).reasonCode).toBe(4)
      expect((err as Error).message).toBe(`broker mqtt://127.0.0.1:${broker.port} refused the connection: bad user name or password, CONNACK code 4 (check --username and --password or ${PASSWORD_ENV})`)
      expect((err as Error).message).not.toContain('hunter2')
    }
  })

  it('gives up on a server that accepts TCP but never answers, within the timeout', async () => {
    silent = createServer((s) => void silentSockets.add(s))
    await new Promise<void>((resolve) => silent?.listen(0, '127.0.0.1', () => resolve()))
    const port = (silent.address() as { port: number }).port
    const started = performance.now()
    const err = await connectBroker(brokerTarget({ broker: `mqtt://127.0.0.1:${port}` }, {}), { role: 'test', timeoutMs: 300 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BrokerError)
    expect((err as BrokerError).code).toBe('timeout')
    expect(performance.now() - started).toBeLessThan(2000)
  })
})
