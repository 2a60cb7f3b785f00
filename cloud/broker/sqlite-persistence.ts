/**
 * An Aedes persistence on SQLite (better-sqlite3, WAL), so that what a broker owes its
 * clients survives a broker restart: persistent sessions (the subscriptions of
 * `clean: false` clients), QoS 1/2 messages queued for them while they are away
 * (a command for an offline gateway), retained messages (births, states), stored
 * Wills and the QoS 2 receive state.
 *
 * Shape: every mutation is written to SQLite before its promise resolves. Reads that
 * Aedes makes on every PUBLISH (which persistent subscriptions match a topic) and on
 * every SUBSCRIBE (which retained messages match a filter) are served by the
 * reference in-memory implementation (`aedes-persistence`), which is loaded from
 * SQLite at `setup()` and kept in step with it: the topic-matching rules are then
 * exactly Aedes' own. The outgoing queue, the incoming QoS 2 store and the Wills live
 * in SQLite only.
 *
 * Durability: `journal_mode=WAL`, `synchronous=NORMAL` by default: a committed write
 * survives the process being killed (kill -9); a power cut may lose the last
 * transactions before a checkpoint. `synchronous: 'FULL'` makes each commit durable
 * against power loss too, at the cost of an fsync per write.
 *
 * Conformance: `aedes-persistence/abstract.js` runs against this class
 * (`persistence-abstract.mjs`, spawned by `persistence-abstract.test.ts`).
 */
import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import { deserialize, serialize } from 'node:v8'
import Database from 'better-sqlite3'

const require = createRequire(import.meta.url)

/** What this file uses of the reference in-memory persistence (CommonJS, untyped as a deep import). */
interface MemoryPersistence {
  setup(broker: unknown): Promise<void>
  storeRetained(packet: Packet): Promise<void>
  createRetainedStream(pattern: string): Readable
  createRetainedStreamCombi(patterns: string[]): Readable
  addSubscriptions(client: ClientRef, subs: Subscription[]): Promise<void>
  removeSubscriptions(client: ClientRef, topics: string[]): Promise<void>
  subscriptionsByClient(client: ClientRef): Promise<Subscription[]>
  countOffline(): Promise<{ subsCount: number; clientsCount: number }>
  subscriptionsByTopic(topic: string): Promise<Array<Subscription & { clientId: string }>>
  cleanSubscriptions(client: ClientRef): Promise<void>
  getClientList(topic: string): Readable
  destroy(): Promise<void>
}
const MemoryPersistenceClass = require('aedes-persistence/asyncPersistence.js') as new () => MemoryPersistence
// aedes-packet, as aedes-persistence re-exports it (the reference normalises queued packets with it).
const AedesPacket = (require('aedes-persistence') as { Packet: new (original: object, broker?: unknown) => Packet }).Packet

/** A packet as Aedes hands it to a persistence (aedes-packet fields plus whatever MQTT carried). */
export interface Packet {
  cmd?: string
  topic?: string
  payload?: Buffer | string
  qos?: number
  retain?: boolean
  messageId?: number | undefined
  brokerId?: string | undefined
  brokerCounter?: number
  clientId?: string
  [key: string]: unknown
}
interface ClientRef {
  id: string
}
interface Subscription {
  topic: string
  qos: number
  rh?: unknown
  rap?: unknown
  nl?: unknown
  subscriptionIdentifier?: unknown
  clientId?: string
}
interface BrokerRef {
  id: string
}

/** Where the database lives and how hard it syncs. */
export interface SqlitePersistenceOptions {
  /** The database file; created with its tables when missing. */
  file: string
  /** `NORMAL` (default): durable across process crashes; `FULL`: also across power loss. */
  synchronous?: 'NORMAL' | 'FULL'
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS retained (topic TEXT PRIMARY KEY, packet BLOB NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS subscriptions (
  client_id TEXT NOT NULL, topic TEXT NOT NULL, record BLOB NOT NULL,
  PRIMARY KEY (client_id, topic)) STRICT;
CREATE TABLE IF NOT EXISTS outgoing (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL,
  broker_id TEXT, broker_counter INTEGER, message_id INTEGER, packet BLOB NOT NULL) STRICT;
CREATE INDEX IF NOT EXISTS outgoing_client ON outgoing (client_id, seq);
CREATE TABLE IF NOT EXISTS incoming (
  client_id TEXT NOT NULL, message_id INTEGER NOT NULL, packet BLOB NOT NULL,
  PRIMARY KEY (client_id, message_id)) STRICT;
CREATE TABLE IF NOT EXISTS wills (client_id TEXT PRIMARY KEY, broker_id TEXT, packet BLOB NOT NULL) STRICT;
`

/** Rows per page when streaming a client's outgoing queue. */
const PAGE = 256

/** The packet's data: own properties that are not functions (Aedes' QoSPacket carries a write callback). */
const encode = (packet: object): Buffer => serialize(Object.fromEntries(Object.entries(packet).filter(([, v]) => typeof v !== 'function')))
const decode = (blob: Buffer): Packet => deserialize(blob) as Packet
const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const intOf = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null)

type Statements = ReturnType<typeof prepare>
interface Open {
  s: Statements
  mem: MemoryPersistence
  db: Database.Database
}

interface OutgoingRow {
  seq: number
  message_id: number | null
  packet: Buffer
}

/** The persistence object to pass to Aedes as `persistence`. */
export class SqlitePersistence {
  readonly #options: SqlitePersistenceOptions
  #db: Database.Database | undefined
  #mem: MemoryPersistence | undefined
  #broker: BrokerRef | undefined
  #destroyed = false
  #statements: Statements | undefined

  constructor(options: SqlitePersistenceOptions) {
    this.#options = options
  }

  /** The broker (Aedes reads this; the abstract tests change its `id`). */
  get broker(): BrokerRef | undefined {
    return this.#broker
  }

  async setup(broker: BrokerRef): Promise<void> {
    this.#broker = broker
    const db = new Database(this.#options.file)
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${this.#options.synchronous ?? 'NORMAL'}`)
    db.pragma('busy_timeout = 5000')
    db.exec(SCHEMA)
    this.#db = db
    this.#statements = prepare(db)
    const mem = new MemoryPersistenceClass()
    await mem.setup(broker)
    for (const row of db.prepare('SELECT packet FROM retained').all() as Array<{ packet: Buffer }>) {
      await mem.storeRetained(decode(row.packet))
    }
    const byClient = new Map<string, Subscription[]>()
    for (const row of db.prepare('SELECT client_id, topic, record FROM subscriptions ORDER BY rowid').all() as Array<{ client_id: string; topic: string; record: Buffer }>) {
      const subs = byClient.get(row.client_id) ?? []
      subs.push({ topic: row.topic, ...(deserialize(row.record) as Omit<Subscription, 'topic'>) })
      byClient.set(row.client_id, subs)
    }
    for (const [id, subs] of byClient) await mem.addSubscriptions({ id }, subs)
    this.#mem = mem
  }

  #open(): Open {
    if (this.#destroyed || this.#statements === undefined || this.#mem === undefined || this.#db === undefined) {
      throw new Error(this.#destroyed ? 'the broker persistence is closed' : 'the broker persistence is not set up')
    }
    return { s: this.#statements, mem: this.#mem, db: this.#db }
  }

  // --- retained -----------------------------------------------------------

  async storeRetained(packet: Packet): Promise<void> {
    const { s, mem } = this.#open()
    const copy = { ...packet }
    const empty = copy.payload === undefined || copy.payload.length === 0
    if (empty) s.retainedDel.run(copy.topic)
    else s.retainedPut.run(copy.topic, encode(copy))
    await mem.storeRetained(copy)
  }

  createRetainedStream(pattern: string): Readable {
    return this.#stream(({ mem }) => mem.createRetainedStream(pattern))
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return this.#stream(({ mem }) => mem.createRetainedStreamCombi(patterns))
  }

  /** A stream from `make`, or one that fails when the persistence is closed (Aedes expects a stream, not a throw). */
  #stream(make: (open: Open) => Readable): Readable {
    let open: Open
    try {
      open = this.#open()
    } catch (err) {
      return new Readable({ objectMode: true, read() { this.destroy(err as Error) } })
    }
    return make(open)
  }

  // --- subscriptions ------------------------------------------------------

  async addSubscriptions(client: ClientRef, subs: Subscription[]): Promise<void> {
    const { s, mem, db } = this.#open()
    db.transaction(() => {
      for (const sub of subs) {
        // The record the reference keeps per client (asyncPersistence.js addSubscriptions).
        const record: Omit<Subscription, 'topic'> = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl }
        if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier
        s.subPut.run(client.id, sub.topic, serialize(record))
      }
    })()
    await mem.addSubscriptions(client, subs)
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    const { s, mem, db } = this.#open()
    db.transaction(() => {
      for (const topic of topics) s.subDel.run(client.id, topic)
    })()
    await mem.removeSubscriptions(client, topics)
  }

  async subscriptionsByClient(client: ClientRef): Promise<Subscription[]> {
    return this.#open().mem.subscriptionsByClient(client)
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return this.#open().mem.countOffline()
  }

  async subscriptionsByTopic(topic: string): Promise<Array<Subscription & { clientId: string }>> {
    return this.#open().mem.subscriptionsByTopic(topic)
  }

  async cleanSubscriptions(client: ClientRef): Promise<void> {
    const { s, mem } = this.#open()
    s.subClean.run(client.id)
    await mem.cleanSubscriptions(client)
  }

  getClientList(topic: string): Readable {
    return this.#stream(({ mem }) => mem.getClientList(topic))
  }

  // --- outgoing queue -----------------------------------------------------

  async outgoingEnqueue(sub: { clientId: string }, packet: Packet): Promise<void> {
    await this.outgoingEnqueueCombi([sub], packet)
  }

  async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: Packet): Promise<void> {
    const { s, db } = this.#open()
    if (subs.length === 0) return
    const p = new AedesPacket(packet)
    const blob = encode(p)
    db.transaction(() => {
      for (const sub of subs) s.outPut.run(sub.clientId, idOf(p.brokerId), intOf(p.brokerCounter), intOf(p.messageId), blob)
    })()
  }

  /**
   * Same rule as the reference: the first queued packet (oldest first) of the same
   * broker and counter gets the new message id; failing that, the first packet of
   * another broker (or a PUBREL) with the same message id is replaced by `packet`.
   */
  async outgoingUpdate(client: ClientRef, packet: Packet): Promise<void> {
    const { s } = this.#open()
    const brokerId = idOf(packet.brokerId)
    const counter = intOf(packet.brokerCounter)
    const messageId = intOf(packet.messageId)
    const row = s.outFind.get({ client: client.id, brokerId, counter, messageId }) as { seq: number; same: number } | undefined
    if (row === undefined) throw new Error('no such packet')
    if (row.same === 1) s.outSetId.run(messageId, row.seq)
    else s.outReplace.run(brokerId, counter, messageId, encode(packet), row.seq)
  }

  async outgoingClearMessageId(client: ClientRef, packet: Packet | number): Promise<Packet | undefined> {
    const { s } = this.#open()
    const messageId = typeof packet === 'object' && packet !== null ? intOf(packet.messageId) : null
    if (messageId === null) return undefined
    const row = s.outByMessageId.get(client.id, messageId) as OutgoingRow | undefined
    if (row === undefined) return undefined
    s.outDel.run(row.seq)
    return withMessageId(row)
  }

  /** The client's queue, oldest first, as it stands now: packets queued after this call are not included. */
  outgoingStream(client: ClientRef): Readable {
    return this.#stream(({ s }) => this.#outgoing(s, client))
  }

  #outgoing(s: Statements, client: ClientRef): Readable {
    const last = (s.outMaxSeq.get(client.id) as { seq: number | null }).seq ?? 0
    const self = this
    async function* pages(): AsyncGenerator<Packet> {
      let after = 0
      for (;;) {
        if (self.#destroyed) return
        const rows = s.outPage.all(client.id, after, last, PAGE) as OutgoingRow[]
        for (const row of rows) yield withMessageId(row)
        if (rows.length < PAGE) return
        after = rows[rows.length - 1]!.seq
      }
    }
    return Readable.from(pages())
  }

  // --- incoming QoS 2 -----------------------------------------------------

  async incomingStorePacket(client: ClientRef, packet: Packet): Promise<void> {
    const { s } = this.#open()
    const p = new AedesPacket(packet)
    p.messageId = packet.messageId
    s.inPut.run(client.id, packet.messageId, encode(p))
  }

  async incomingGetPacket(client: ClientRef, packet: Packet): Promise<Packet> {
    const { s } = this.#open()
    const row = s.inGet.get(client.id, intOf(packet.messageId)) as { packet: Buffer } | undefined
    if (row === undefined) throw new Error('no such packet')
    return decode(row.packet)
  }

  async incomingDelPacket(client: ClientRef, packet: Packet): Promise<void> {
    const { s } = this.#open()
    if (s.inDel.run(client.id, intOf(packet.messageId)).changes === 0) throw new Error('no such packet')
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    this.#open().s.inClean.run(client.id)
  }

  // --- wills --------------------------------------------------------------

  async putWill(client: ClientRef, packet: Packet): Promise<void> {
    const { s } = this.#open()
    // Like the reference, the will is stamped with the broker and client it belongs to.
    packet.brokerId = this.#broker?.id
    packet.clientId = client.id
    s.willPut.run(client.id, idOf(packet.brokerId), encode(packet))
  }

  async getWill(client: ClientRef): Promise<Packet | undefined> {
    const row = this.#open().s.willGet.get(client.id) as { packet: Buffer } | undefined
    return row === undefined ? undefined : decode(row.packet)
  }

  async delWill(client: ClientRef): Promise<Packet | undefined> {
    const { s } = this.#open()
    const will = await this.getWill(client)
    s.willDel.run(client.id)
    return will
  }

  /** Wills stored by brokers other than those in `brokers` (brokers that are gone). */
  streamWill(brokers: Record<string, unknown> = {}): Readable {
    return this.#stream(({ s }) => {
      const rows = s.willAll.all() as Array<{ broker_id: string | null; packet: Buffer }>
      return Readable.from(rows.filter((r) => r.broker_id === null || brokers[r.broker_id] === undefined).map((r) => decode(r.packet)))
    })
  }

  /** Closes the database; safe to call twice. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    await this.#mem?.destroy()
    this.#db?.close()
  }
}

function withMessageId(row: OutgoingRow): Packet {
  const p = decode(row.packet)
  if (row.message_id !== null) p.messageId = row.message_id
  return p
}

function prepare(db: Database.Database) {
  return {
    retainedPut: db.prepare('INSERT INTO retained (topic, packet) VALUES (?, ?) ON CONFLICT (topic) DO UPDATE SET packet = excluded.packet'),
    retainedDel: db.prepare('DELETE FROM retained WHERE topic = ?'),
    subPut: db.prepare('INSERT INTO subscriptions (client_id, topic, record) VALUES (?, ?, ?) ON CONFLICT (client_id, topic) DO UPDATE SET record = excluded.record'),
    subDel: db.prepare('DELETE FROM subscriptions WHERE client_id = ? AND topic = ?'),
    subClean: db.prepare('DELETE FROM subscriptions WHERE client_id = ?'),
    outPut: db.prepare('INSERT INTO outgoing (client_id, broker_id, broker_counter, message_id, packet) VALUES (?, ?, ?, ?, ?)'),
    outFind: db.prepare(`SELECT seq, (broker_id IS @brokerId) AS same FROM outgoing
      WHERE client_id = @client AND ((broker_id IS @brokerId AND broker_counter IS @counter) OR (broker_id IS NOT @brokerId AND message_id IS @messageId))
      ORDER BY seq LIMIT 1`),
    outSetId: db.prepare('UPDATE outgoing SET message_id = ? WHERE seq = ?'),
    outReplace: db.prepare('UPDATE outgoing SET broker_id = ?, broker_counter = ?, message_id = ?, packet = ? WHERE seq = ?'),
    outByMessageId: db.prepare('SELECT seq, message_id, packet FROM outgoing WHERE client_id = ? AND message_id = ? ORDER BY seq LIMIT 1'),
    outDel: db.prepare('DELETE FROM outgoing WHERE seq = ?'),
    outMaxSeq: db.prepare('SELECT MAX(seq) AS seq FROM outgoing WHERE client_id = ?'),
    outPage: db.prepare('SELECT seq, message_id, packet FROM outgoing WHERE client_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?'),
    inPut: db.prepare('INSERT INTO incoming (client_id, message_id, packet) VALUES (?, ?, ?) ON CONFLICT (client_id, message_id) DO UPDATE SET packet = excluded.packet'),
    inGet: db.prepare('SELECT packet FROM incoming WHERE client_id = ? AND message_id = ?'),
    inDel: db.prepare('DELETE FROM incoming WHERE client_id = ? AND message_id = ?'),
    inClean: db.prepare('DELETE FROM incoming WHERE client_id = ?'),
    willPut: db.prepare('INSERT INTO wills (client_id, broker_id, packet) VALUES (?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET broker_id = excluded.broker_id, packet = excluded.packet'),
    willGet: db.prepare('SELECT packet FROM wills WHERE client_id = ?'),
    willDel: db.prepare('DELETE FROM wills WHERE client_id = ?'),
    willAll: db.prepare('SELECT broker_id, packet FROM wills'),
  }
}
