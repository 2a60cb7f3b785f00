/**
 * The listeners: TCP on port 0 reports the bound port; every accepted socket has
 * TCP_NODELAY as the kernel sees it (getsockopt through a child process, not Node's
 * bookkeeping); MQTT over TLS and over WebSocket authenticate like TCP.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { kernelNoDelay, PYTHON } from '../../edge/uplink/test-support/nodelay.ts'
import { topics } from '../../shared/mqtt/topics.ts'
import { requireBinary, type Binary } from '../../shared/test-support/binaries.ts'
import { Cleanup, connect, connectAs, eventually, inbox, start, tempDir, USERS } from './test-support/setup.ts'

const OPENSSL: Binary = { package: 'openssl', probe: ['openssl', 'version'] }

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

const { gw1, cloud } = USERS
const telemetry1 = topics.telemetry(gw1.site, gw1.gateway)

/** A CA and a server certificate for 127.0.0.1 (EC P-256, valid 2 days). */
function makePki(dir: string): { ca: string; key: string; cert: string } {
  const file = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' })
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...key, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=muni-test-ca')
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\n')
  openssl('req', ...key, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1')
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.crt'), '-days', '2', '-extfile', file('server.ext'))
  return { ca: file('ca.crt'), key: file('server.key'), cert: file('server.crt') }
}

/** Broker-side sockets as they are accepted. */
function accepted(): { sockets: Array<{ socket: Socket; kind: string }>; onSocket: (socket: Socket, kind: string) => void } {
  const sockets: Array<{ socket: Socket; kind: string }> = []
  return { sockets, onSocket: (socket, kind) => sockets.push({ socket, kind }) }
}

describe('listeners', () => {
  it('binds port 0 to a free port and reports it', async () => {
    const { broker, lines } = await start(cleanup)
    expect(broker.port).toBeGreaterThan(0)
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`)
    expect(lines).toContain(`broker: listening on mqtt://127.0.0.1:${broker.port}`)
    await connectAs(cleanup, broker.url, gw1)
  })

  it('sets TCP_NODELAY on the socket the broker accepted (read back from the kernel)', async (ctx) => {
    requireBinary(ctx, PYTHON)
    const seen = accepted()
    const { broker } = await start(cleanup, { onSocket: seen.onSocket })
    await connectAs(cleanup, broker.url, gw1)
    await eventually(() => seen.sockets.length === 1)
    const { socket } = seen.sockets[0]!
    expect(socket.localPort).toBe(broker.port)
    expect(await kernelNoDelay(broker.port, socket.remotePort!)).toBe(true)
  })

  it('speaks MQTT over TLS with the same credentials, TCP_NODELAY on', async (ctx) => {
    requireBinary(ctx, OPENSSL)
    requireBinary(ctx, PYTHON)
    const pki = makePki(tempDir(cleanup, 'muni-broker-tls-'))
    const seen = accepted()
    const { broker } = await start(cleanup, { tls: { port: 0, key: pki.key, cert: pki.cert }, onSocket: seen.onSocket })
    const tls = broker.listeners.find((l) => l.kind === 'tls')!
    expect(tls.url).toBe(`mqtts://127.0.0.1:${tls.port}`)
    const c = await connectAs(cleanup, broker.url, cloud)
    const got = inbox(c)
    await c.subscribeAsync(telemetry1, { qos: 1 })
    const ca = readFileSync(pki.ca)
    expect(await connect(cleanup, tls.url, { username: gw1.username, password: 'wrong', ca })).toMatchObject({ ok: false, code: 4 })
    const g = await connectAs(cleanup, tls.url, gw1, { ca })
    await g.publishAsync(telemetry1, 'over tls', { qos: 1 })
    await got.waitFor(1)
    const tlsSocket = seen.sockets.filter((s) => s.kind === 'tls').at(-1)!.socket
    expect(await kernelNoDelay(tls.port, tlsSocket.remotePort!)).toBe(true)
  })

  it('speaks MQTT over WebSocket with the same credentials and ACL', async () => {
    const { broker } = await start(cleanup, { ws: { port: 0 } })
    const ws = broker.listeners.find((l) => l.kind === 'ws')!
    expect(ws.url).toBe(`ws://127.0.0.1:${ws.port}/mqtt`)
    expect(await connect(cleanup, ws.url, { username: gw1.username, password: 'wrong' })).toMatchObject({ ok: false, code: 4 })
    const c = await connectAs(cleanup, ws.url, cloud)
    const got = inbox(c)
    await c.subscribeAsync(telemetry1, { qos: 1 })
    const g = await connectAs(cleanup, ws.url, gw1)
    await g.publishAsync(telemetry1, 'over ws', { qos: 1 })
    await got.waitFor(1)
    expect(got.messages[0]?.payload).toBe('over ws')
  })

  it('closes listeners and open connections within its bound', async () => {
    const { broker } = await start(cleanup, { ws: { port: 0 } })
    const g = await connectAs(cleanup, broker.url, gw1)
    const t0 = Date.now()
    await broker.close()
    expect(Date.now() - t0).toBeLessThan(3_000)
    await eventually(() => !g.connected)
    expect((await connect(cleanup, broker.url, { username: gw1.username, password: gw1.password })).ok).toBe(false)
  })
})
