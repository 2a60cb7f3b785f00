/**
 * The Aedes hooks that make the broker muni-iot's: who may connect (credentials,
 * [MQTT-3.1.3-8], the Will's topic), what each identity may publish and subscribe to
 * (`acl.ts`), and the ingest hook that runs before the PUBACK.
 *
 * Why the ingest hook runs in `authorizePublish`, not in `published`: in Aedes 1.2 a
 * QoS 1 PUBACK is written *before* the message is routed (lib/handlers/publish.js,
 * `enqueuePublish` case 1: `write(client, new PubAck(packet), …)` then
 * `broker.publish()`), and `published` is the last step of `broker.publish()`
 * (aedes.js `publishFuncsQoS`). So `published` runs after the PUBACK is on the wire and
 * cannot hold it. `authorizePublish` runs before `enqueuePublish`; when its callback
 * gets an error, Aedes closes the connection without any acknowledgement (MQTT 3.1.1
 * has no negative PUBACK; [MQTT-3.3.5-2]), and the client sends the same packet again
 * on its next connection (QoS 1: at least once). A PUBLISH is therefore:
 *   ACL → ingest hook → PUBACK → routed to subscribers and stored.
 * The same holds for a denied publish: Aedes closes the connection (there is no other
 * way to refuse a QoS 1 message in MQTT 3.1.1).
 *
 * Backpressure: Aedes handles the packets of one socket read together and reads the
 * socket again only when all of them are done (lib/client.js `nextBatch`), so while
 * the hook is pending nothing more is read from that client and TCP flow control
 * slows it down. Ordering per client: every message other than telemetry (birth, state,
 * events, responses) waits until all earlier messages of its client were ingested;
 * telemetry waits only for the earlier non-telemetry messages, so the telemetry batches of
 * one socket read are ingested together (one group commit in the store) — batches carry
 * their own seq and sample times, and storage is idempotent, so their order does not matter.
 *
 * Which messages reach the hook: every PUBLISH a client sends (QoS 0, 1 and 2), and
 * the Will of a client that went away (a gateway's `offline` state is its Will). Not
 * the broker's own messages (`$SYS/…`, `aedes.publish()`): Aedes does not run
 * `authorizePublish` for them. A Will whose hook fails is published all the same —
 * there is no client left to redeliver it — and the failure is logged and counted.
 */
import type { AedesOptions, Client, ConnectPacket, PublishPacket } from 'aedes'
import { parseTopic } from '../../shared/mqtt/topics.ts'
import { describeIdentity, mayReceive, publishDenial, subscribeDenial, type Identity } from './acl.ts'
import type { Credential } from './credentials.ts'
import { dummyHash } from './password.ts'
import type { Counters } from './stats.ts'

/** Where a message handed to the ingest hook came from. */
export interface PublishOrigin {
  /** The sender's MQTT client id. */
  clientId: string | undefined
  /** Who it authenticated as; undefined for a Will the broker found in storage after a restart. */
  identity: Identity | undefined
  /** True when the message is the client's Last Will, published because the client went away. */
  will: boolean
}

/** Called before the broker acknowledges a message; reject to leave it unacknowledged. */
export type OnPublish = (packet: PublishPacket, clientId: string | undefined, origin: PublishOrigin) => Promise<void> | void

export interface HookOptions {
  credentials: ReadonlyMap<string, Credential>
  allowAnonymous: boolean
  onPublish: OnPublish | undefined
  counters: Counters
  log: (line: string) => void
}

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3. */
const CONNACK_TEXT: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
}

interface ConnectFacts {
  clientId: string
  username: string | undefined
  will: PublishPacket | undefined
  emptyIdPersistent: boolean
  refusal?: string
}

const q = (s: string | undefined): string => JSON.stringify(s ?? '')

/** The Aedes hooks, plus the bookkeeping the broker needs from them. */
export function makeHooks(o: HookOptions) {
  const identities = new WeakMap<Client, Identity>()
  const facts = new WeakMap<Client, ConnectFacts>()
  /** Per client: done when every message so far was ingested (or failed). */
  const chains = new WeakMap<Client, Promise<unknown>>()
  /** Per client: done when the last non-telemetry message so far was ingested (or failed). */
  const gates = new WeakMap<Client, Promise<unknown>>()
  const willsInFlight = new Set<object>()
  const willWaiters: Array<() => void> = []

  const refuse = (client: Client, returnCode: 2 | 4 | 5, reason: string, done: (e: (Error & { returnCode: number }) | null, ok: boolean | null) => void): void => {
    const f = facts.get(client)
    if (f) f.refusal = reason
    o.log(`broker: connect refused: username ${q(f?.username)}, client id ${q(f?.clientId)}: ${reason} (CONNACK ${returnCode} ${CONNACK_TEXT[returnCode]})`)
    done(Object.assign(new Error(`${CONNACK_TEXT[returnCode]}: ${reason}`), { returnCode }), null)
  }

  const preConnect: NonNullable<AedesOptions['preConnect']> = (client, packet: ConnectPacket, done) => {
    facts.set(client, {
      clientId: packet.clientId,
      username: packet.username,
      will: packet.will as PublishPacket | undefined,
      // [MQTT-3.1.3-8]: a zero-byte client id with CleanSession 0 gets CONNACK 0x02. Aedes
      // would invent an id and keep a session nobody can resume; it is refused in `authenticate`,
      // the first hook that can answer with a CONNACK.
      emptyIdPersistent: packet.clientId === '' && packet.clean === false,
    })
    done(null, true)
  }

  const authenticate: NonNullable<AedesOptions['authenticate']> = (client, username, password, done) => {
    const f = facts.get(client)
    if (f?.emptyIdPersistent) return refuse(client, 2, 'an empty client id requires clean session [MQTT-3.1.3-8]', done)
    const known = username === undefined ? undefined : o.credentials.get(username)
    const decide = (identity: Identity): void => {
      const will = f?.will
      const denial = will === undefined ? undefined : publishDenial(identity, will.topic)
      if (will !== undefined && denial !== undefined) return refuse(client, 5, `Last Will on ${q(will.topic)} not allowed: ${denial}`, done)
      identities.set(client, identity)
      done(null, true)
    }
    if (known === undefined && o.allowAnonymous) return decide({ role: 'anonymous' })
    if (username === undefined || username === '') return refuse(client, 5, 'no username (anonymous clients are not allowed)', done)
    // An unknown user costs a full scrypt too, so response times do not reveal which users exist.
    ;(known?.hash ?? dummyHash())
      .verify(password ?? Buffer.alloc(0))
      .then(
        (ok) => {
          if (known === undefined) return refuse(client, 4, 'unknown user', done)
          if (!ok) return refuse(client, 4, password === undefined ? 'no password' : 'wrong password', done)
          decide(known.identity)
        },
        (err: unknown) => refuse(client, 4, `password check failed: ${(err as Error).message}`, done),
      )
  }

  const authorizeSubscribe: NonNullable<AedesOptions['authorizeSubscribe']> = (client, sub, done) => {
    const identity = identities.get(client)
    const denial = identity === undefined ? 'not authenticated' : subscribeDenial(identity, sub.topic)
    if (denial === undefined) return done(null, sub)
    o.counters.denials.subscribe++
    o.log(`broker: subscribe refused: ${identity ? describeIdentity(identity) : 'unknown'}, client id ${q(client.id)}, filter ${q(sub.topic)}: ${denial} (SUBACK 0x80)`)
    // A null subscription is SUBACK 0x80 for this filter (aedes lib/handlers/subscribe.js).
    done(null, null)
  }

  const authorizeForward: NonNullable<AedesOptions['authorizeForward']> = (client, packet) => {
    const identity = identities.get(client)
    return identity !== undefined && mayReceive(identity, packet.topic) ? packet : null
  }

  const authorizePublish: NonNullable<AedesOptions['authorizePublish']> = (client, packet, done) => {
    // A Will: the client's own (`client.will`, published as it goes away), or one read
    // from storage after a restart (stamped with `brokerId` by the persistence, which a
    // PUBLISH from the wire never carries). Its topic was checked at CONNECT.
    const will = client === null || packet === (client as unknown as { will?: unknown }).will || typeof (packet as { brokerId?: unknown }).brokerId === 'string'
    const identity = client === null ? undefined : identities.get(client)
    if (!will) {
      const denial = identity === undefined ? 'not authenticated' : publishDenial(identity, packet.topic)
      if (denial !== undefined) {
        o.counters.denials.publish++
        o.log(`broker: publish refused, closing the connection: ${identity ? describeIdentity(identity) : 'unknown'}, client id ${q(client?.id)}, topic ${q(packet.topic)}: ${denial}`)
        return done(new Error(`not authorized to publish to ${packet.topic}: ${denial}`))
      }
    }
    const accepted = (): void => {
      if (will) {
        o.counters.willsTotal++
        willsInFlight.add(packet)
      } else {
        o.counters.messagesInTotal++
        o.counters.bytesInTotal += typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length
      }
      done(null)
    }
    const hook = o.onPublish
    if (hook === undefined) return accepted()
    const clientId = client?.id ?? (packet as { clientId?: string }).clientId
    const origin: PublishOrigin = { clientId, identity, will }
    const concurrent = !will && parseTopic(packet.topic)?.kind === 'telemetry'
    const all = (client && chains.get(client)) ?? Promise.resolve()
    const previous = concurrent ? ((client && gates.get(client)) ?? Promise.resolve()) : all
    const run = previous.then(async () => {
      // An earlier message of this connection failed and closed it: do not ingest past it.
      if (!will && client?.closed) throw new Error('the connection closed before this message was ingested')
      await hook(packet, clientId, origin)
    })
    if (client) {
      const settled = run.catch(() => {})
      chains.set(client, Promise.all([all, settled]))
      if (!concurrent) gates.set(client, settled)
    }
    run.then(accepted, (err: unknown) => {
      o.counters.ingestFailuresTotal++
      const what = will ? 'Will published anyway' : 'not acknowledged, closing the connection so the client redelivers'
      o.log(`broker: ingest failed for ${q(packet.topic)} from client id ${q(clientId)} (${what}): ${(err as Error)?.message ?? String(err)}`)
      if (will) accepted()
      else done(err instanceof Error ? err : new Error(String(err)))
    })
  }

  const published: NonNullable<AedesOptions['published']> = (packet, _client, done) => {
    if (willsInFlight.delete(packet) && willsInFlight.size === 0) for (const w of willWaiters.splice(0)) w()
    done(null)
  }

  return {
    options: { preConnect, authenticate, authorizePublish, authorizeSubscribe, authorizeForward, published } satisfies AedesOptions,
    /** The identity a connected client authenticated as. */
    identityOf: (client: Client): Identity | undefined => identities.get(client),
    /** Why a client's CONNECT was refused (set by `authenticate`), with the client id and username it sent. */
    connectFacts: (client: Client): Readonly<ConnectFacts> | undefined => facts.get(client),
    /** Resolves when no Will is between its authorization and its routing (for a clean close). */
    willsSettled: (): Promise<void> => (willsInFlight.size === 0 ? Promise.resolve() : new Promise((resolve) => willWaiters.push(resolve))),
  }
}
