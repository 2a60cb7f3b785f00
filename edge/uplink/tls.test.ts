/**
 * mqtts:// with the CA, client certificate and key read from files, against Aedes behind
 * a TLS server that requires a client certificate. The files are read at every attempt:
 * a gateway whose CA file was wrong connects once the file is fixed, without a restart.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { createServer, type TLSSocket } from 'node:tls'
import { Aedes } from 'aedes'
import { afterEach, describe, expect, it } from 'vitest'
import { requireBinary, type Binary } from '../../shared/test-support/binaries.ts'
import { tempDir } from '../outbox/test-support/outbox-helpers.ts'
import { Cleanup, CLIENT_ID, startGateway, until } from './test-support/harness.ts'
import { kernelNoDelay, PYTHON } from './test-support/nodelay.ts'

const OPENSSL: Binary = { package: 'openssl', probe: ['openssl', 'version'] }

const cleanup = new Cleanup()
afterEach(() => cleanup.run())

/** A CA, a server certificate for 127.0.0.1 and a client certificate for gw-01 (EC P-256, valid 2 days). */
function makePki(file: (name: string) => string): void {
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' })
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  for (const ca of ['ca', 'other-ca']) openssl('req', '-x509', ...key, '-keyout', file(`${ca}.key`), '-out', file(`${ca}.crt`), '-days', '2', '-subj', `/CN=muni-test-${ca}`)
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\n')
  for (const [name, cn, ext] of [['server', '127.0.0.1', ['-extfile', file('server.ext')]], ['client', 'gw-01', []]] as const) {
    openssl('req', ...key, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${cn}`)
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file(`${name}.crt`), '-days', '2', ...ext)
  }
}

describe('TLS', () => {
  it('connects with the CA, certificate and key from files, re-read at every attempt, TCP_NODELAY on', async (ctx) => {
    requireBinary(ctx, OPENSSL)
    requireBinary(ctx, PYTHON)
    const pki = tempDir('muni-tls-')
    cleanup.add(() => pki.remove())
    makePki(pki.file)

    const aedes = await Aedes.createBroker()
    const peers: Array<{ cn: string | undefined; port: number | undefined }> = []
    const server = createServer(
      { key: readFileSync(pki.file('server.key')), cert: readFileSync(pki.file('server.crt')), ca: readFileSync(pki.file('ca.crt')), requestCert: true, rejectUnauthorized: true },
      (socket: TLSSocket) => {
        peers.push({ cn: String(socket.getPeerCertificate().subject?.CN), port: socket.remotePort })
        aedes.handle(socket)
      },
    )
    server.on('tlsClientError', () => {})
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    cleanup.add(() => new Promise<void>((resolve) => aedes.close(() => resolve())))
    cleanup.add(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const port = (server.address() as AddressInfo).port
    const url = `mqtts://127.0.0.1:${port}`

    // First with a CA that did not sign the broker's certificate: refused, and retried.
    copyFileSync(pki.file('other-ca.crt'), pki.file('trusted.crt'))
    const gw = startGateway(url, cleanup, {
      broker: { url, clientId: CLIENT_ID, tls: { ca: pki.file('trusted.crt'), cert: pki.file('client.crt'), key: pki.file('client.key') } },
    })
    await until('two refused attempts', () => gw.uplink.stats().attempts >= 2)
    expect(gw.uplink.stats().state).not.toBe('online')
    expect(gw.log.join('\n')).toMatch(/certificate/i)

    // The operator fixes the file; the next attempt reads it.
    copyFileSync(pki.file('ca.crt'), pki.file('trusted.crt'))
    await until('online over TLS', () => gw.uplink.stats().state === 'online', 10_000)
    expect(peers.at(-1)?.cn).toBe('gw-01')
    const clientPort = peers.at(-1)?.port
    expect(await kernelNoDelay(clientPort!, port)).toBe(true)
  })
})
