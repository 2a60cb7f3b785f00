/**
 * The broker's listeners: MQTT over TCP, over TLS, and over WebSocket (`ws`, the
 * library MQTT.js itself uses). Every accepted TCP socket gets TCP_NODELAY: without it
 * a QoS 1 round trip on loopback took p50 44 ms here, with it under 1 ms
 * (CONVENTIONS.md) — Nagle holds the small PUBACK until the peer's delayed ACK.
 *
 * Each listener keeps its open sockets, so `close()` ends them instead of waiting
 * for clients to leave.
 */
import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage } from 'node:http'
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { createServer as createTlsServer } from 'node:tls'
import { createWebSocketStream, WebSocketServer } from 'ws'

/** Hands a new connection to the broker (Aedes `handle`). */
export type Accept = (stream: Duplex, req?: IncomingMessage) => void

/** One listening endpoint. */
export interface Listener {
  readonly kind: 'tcp' | 'tls' | 'ws'
  readonly host: string
  /** The bound port (the one asked for, or the one the system chose for port 0). */
  readonly port: number
  /** `mqtt://…`, `mqtts://…` or `ws://…/path`. */
  readonly url: string
  /** Stops accepting and ends every open connection. */
  close(): Promise<void>
}

/** TLS listener: PEM files, read at start. */
export interface TlsListenOptions {
  host: string
  port: number
  /** Private key file (PEM). */
  key: string
  /** Certificate chain file (PEM). */
  cert: string
  /** CA file: when given, clients must present a certificate it signed. */
  ca?: string
}

/** Called with every accepted socket, before the broker sees it (the tests watch TCP_NODELAY here). */
export type SocketObserver = (socket: Socket, kind: Listener['kind']) => void

function track(server: Server, kind: Listener['kind'], observe: SocketObserver | undefined): Set<Socket> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    observe?.(socket, kind)
  })
  return sockets
}

async function bind(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void => reject(err)
    server.once('error', fail)
    server.listen(port, host, () => {
      server.off('error', fail)
      resolve()
    })
  })
  return (server.address() as AddressInfo).port
}

function closer(server: Server, sockets: Set<Socket>, extra?: () => void): () => Promise<void> {
  let closing: Promise<void> | undefined
  return () => {
    closing ??= new Promise<void>((resolve) => {
      extra?.()
      server.close(() => resolve())
      for (const s of sockets) s.destroy()
    })
    return closing
  }
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host)

/** MQTT over TCP. */
export async function listenTcp(host: string, port: number, accept: Accept, observe?: SocketObserver): Promise<Listener> {
  const server = createTcpServer({ noDelay: true }, (socket) => accept(socket))
  const sockets = track(server, 'tcp', observe)
  const bound = await bind(server, host, port)
  return { kind: 'tcp', host, port: bound, url: `mqtt://${urlHost(host)}:${bound}`, close: closer(server, sockets) }
}

/** MQTT over TLS. */
export async function listenTls(o: TlsListenOptions, accept: Accept, observe?: SocketObserver): Promise<Listener> {
  const server = createTlsServer(
    {
      key: readFileSync(o.key),
      cert: readFileSync(o.cert),
      ...(o.ca !== undefined ? { ca: readFileSync(o.ca), requestCert: true, rejectUnauthorized: true } : {}),
    },
    (socket) => {
      socket.setNoDelay(true)
      accept(socket)
    },
  )
  // A failed handshake is the client's problem, not the broker's.
  server.on('tlsClientError', () => {})
  const sockets = track(server, 'tls', observe)
  const bound = await bind(server, o.host, o.port)
  return { kind: 'tls', host: o.host, port: bound, url: `mqtts://${urlHost(o.host)}:${bound}`, close: closer(server, sockets) }
}

/** MQTT over WebSocket; any path is accepted (the URL names `/mqtt`, the path MQTT.js and most clients use). */
export async function listenWs(host: string, port: number, accept: Accept, observe?: SocketObserver): Promise<Listener> {
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: upgrade required\n')
  })
  const sockets = track(http, 'ws', observe)
  const wss = new WebSocketServer({ server: http })
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws)
    stream.on('error', () => stream.destroy())
    accept(stream, req)
  })
  wss.on('error', () => {})
  const bound = await bind(http, host, port)
  return {
    kind: 'ws',
    host,
    port: bound,
    url: `ws://${urlHost(host)}:${bound}/mqtt`,
    close: closer(http, sockets, () => {
      for (const c of wss.clients) c.terminate()
      wss.close()
    }),
  }
}
