/**
 * The cloud's embedded MQTT broker: Aedes with muni-iot's hooks (`hooks.ts`), a
 * durable SQLite persistence (`sqlite-persistence.ts`) and its listeners
 * (`listeners.ts`). `startBroker()` resolves once every listener is bound;
 * `close()` ends it all within `closeTimeoutMs`.
 */
import type { EventEmitter } from 'node:events'
import { Aedes } from 'aedes'
import { formatIssue } from '../../shared/yaml/issue.ts'
import { loadCredentials, type Credential } from './credentials.ts'
import { makeHooks, type OnPublish } from './hooks.ts'
import { listenTcp, listenTls, listenWs, type Listener, type SocketObserver } from './listeners.ts'
import { SqlitePersistence } from './sqlite-persistence.ts'
import { Counters, type BrokerStats } from './stats.ts'

export interface StartBrokerOptions {
  /** Address of the TCP (and TLS, WebSocket) listeners (default 127.0.0.1). */
  host?: string
  /** TCP port (default 1883; 0 picks a free one, see `Broker.port`). */
  port?: number
  /** MQTT over TLS: key and certificate files (PEM); `ca` makes client certificates mandatory. */
  tls?: { port: number; key: string; cert: string; ca?: string; host?: string }
  /** MQTT over WebSocket. */
  ws?: { port: number; host?: string }
  /** The credentials file (YAML, `credentials.ts`). */
  credentialsFile?: string
  /** Credentials already loaded (tests); used when `credentialsFile` is not given. */
  credentials?: ReadonlyMap<string, Credential>
  /**
   * Development mode: clients without (known) credentials connect and may do anything.
   * Off by default; every start logs a warning while it is on.
   */
  allowAnonymous?: boolean
  /** SQLite file of sessions, queued messages, retained messages and Wills. Without it, all of that is kept in memory only. */
  persistencePath?: string
  /** `NORMAL` (default) or `FULL` (see `SqlitePersistenceOptions`). */
  synchronous?: 'NORMAL' | 'FULL'
  /** Ingest: runs before the PUBACK; a rejection leaves the message unacknowledged (see `hooks.ts`). */
  onPublish?: OnPublish
  /** One line per notable event. Never given a password or a password hash. */
  log?: (line: string) => void
  /** Bound on `close()` (default 5,000 ms). */
  closeTimeoutMs?: number
  /** Aedes `heartbeatInterval` (default 60,000 ms); Wills left by a crashed broker are published after 4 of them. */
  heartbeatIntervalMs?: number
  /** Sees every accepted socket (tests). */
  onSocket?: SocketObserver
}

/** A running broker. */
export interface Broker {
  /** The TCP port. */
  readonly port: number
  /** `mqtt://host:port` */
  readonly url: string
  /** Every listener, TCP first. */
  readonly listeners: readonly Listener[]
  readonly aedes: Aedes
  /** Counters and the number of connected clients. */
  stats(): BrokerStats
  /** Closes listeners, clients and persistence; resolves within `closeTimeoutMs`. Safe to call twice. */
  close(): Promise<void>
}

/** The problems of a credentials file, one `file:line:column: field: reason` per line. */
export class CredentialsError extends Error {
  readonly issues: readonly string[]
  constructor(file: string, issues: readonly string[]) {
    super(`cannot use the broker credentials file ${file}:\n${issues.join('\n')}`)
    this.name = 'CredentialsError'
    this.issues = issues
  }
}

export const DEVELOPMENT_MODE_WARNING =
  'broker: WARNING: DEVELOPMENT MODE (allowAnonymous): any client may connect without credentials and publish or subscribe to every topic. Never run this outside a development machine.'

const withTimeout = async (p: Promise<unknown>, ms: number): Promise<boolean> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
  try {
    return await Promise.race([p.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Starts the broker; rejects (with nothing left running) when credentials or a listener cannot be set up. */
export async function startBroker(options: StartBrokerOptions = {}): Promise<Broker> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const host = options.host ?? '127.0.0.1'
  const allowAnonymous = options.allowAnonymous ?? false
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000

  let credentials = options.credentials ?? new Map<string, Credential>()
  if (options.credentialsFile !== undefined) {
    const loaded = loadCredentials(options.credentialsFile)
    if (loaded.credentials === undefined) throw new CredentialsError(options.credentialsFile, loaded.issues.map(formatIssue))
    credentials = loaded.credentials
  }
  if (credentials.size === 0 && !allowAnonymous) {
    throw new Error('the broker has no credentials: give a credentials file, or allowAnonymous for development only')
  }
  if (allowAnonymous) log(DEVELOPMENT_MODE_WARNING)

  const counters = new Counters()
  const hooks = makeHooks({ credentials, allowAnonymous, onPublish: options.onPublish, counters, log })
  const persistence = options.persistencePath === undefined ? undefined : new SqlitePersistence({ file: options.persistencePath, ...(options.synchronous ? { synchronous: options.synchronous } : {}) })
  if (persistence === undefined) log('broker: no persistencePath: sessions, queued messages and retained messages are kept in memory and lost on restart')

  const aedes = await Aedes.createBroker({
    ...hooks.options,
    ...(persistence !== undefined ? { persistence } : {}),
    ...(options.heartbeatIntervalMs !== undefined ? { heartbeatInterval: options.heartbeatIntervalMs } : {}),
  })
  // Persistence failures are emitted here; without a listener EventEmitter would throw.
  ;(aedes as EventEmitter).on('error', (err: Error) => log(`broker: error: ${err.message}`))
  aedes.on('connackSent', (packet, client) => {
    if (packet.returnCode === 0) {
      counters.connectsTotal++
      return
    }
    counters.denials.connect++
    const f = hooks.connectFacts(client)
    // Refusals decided by our hooks were logged there, with their reason; these are Aedes' own (protocol version, keep alive).
    if (f?.refusal === undefined) log(`broker: connect refused: username ${JSON.stringify(f?.username ?? '')}, client id ${JSON.stringify(f?.clientId ?? '')} (CONNACK ${packet.returnCode})`)
  })

  // Aedes stores every filter of a persistent client's SUBSCRIBE, refused ones (0x80) too
  // (lib/handlers/subscribe.js storeSubscriptions), and would queue offline messages for
  // them. `authorizeForward` keeps those from the client; dropping the stored filter
  // keeps them from piling up in the queue.
  aedes.on('subscribe', (subs, client) => {
    const refused = subs.filter((s) => (s.qos as number) === 128).map((s) => s.topic)
    if (refused.length === 0 || client.clean) return
    const store = (aedes as unknown as { persistence: { removeSubscriptions(c: { id: string }, topics: string[]): Promise<void> } }).persistence
    store.removeSubscriptions(client, refused).catch((err: Error) => log(`broker: could not drop refused filters of client id ${JSON.stringify(client.id)}: ${err.message}`))
  })

  const accept = (stream: Parameters<Aedes['handle']>[0], req?: Parameters<Aedes['handle']>[1]): void => void aedes.handle(stream, req)
  const listeners: Listener[] = []
  const closeListeners = async (): Promise<void> => void (await Promise.all(listeners.map((l) => l.close())))
  try {
    listeners.push(await listenTcp(host, options.port ?? 1883, accept, options.onSocket))
    if (options.tls) listeners.push(await listenTls({ ...options.tls, host: options.tls.host ?? host }, accept, options.onSocket))
    if (options.ws) listeners.push(await listenWs(options.ws.host ?? host, options.ws.port, accept, options.onSocket))
  } catch (err) {
    await closeListeners()
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    await persistence?.destroy()
    throw err
  }
  const tcp = listeners[0]!
  log(`broker: listening on ${listeners.map((l) => l.url).join(', ')}${persistence ? `; sessions in ${options.persistencePath}` : ''}`)

  let closing: Promise<void> | undefined
  const close = async (): Promise<void> => {
    const deadline = Date.now() + closeTimeoutMs
    const left = (): number => Math.max(0, deadline - Date.now())
    // Listeners first (no new clients; open sockets end and their Wills go out), then
    // Aedes (remaining clients), then wait for those Wills to be stored before the
    // database closes under them.
    if (!(await withTimeout(closeListeners(), left()))) log('broker: close: listeners did not close in time')
    if (!(await withTimeout(new Promise<void>((resolve) => aedes.close(() => resolve())), left()))) log('broker: close: clients did not close in time')
    if (!(await withTimeout(hooks.willsSettled(), left()))) log('broker: close: Wills still in flight; closing the persistence anyway')
    await persistence?.destroy()
  }

  return {
    port: tcp.port,
    url: tcp.url,
    listeners,
    aedes,
    stats: () => counters.snapshot(aedes.connectedClients),
    close: () => (closing ??= close()),
  }
}
