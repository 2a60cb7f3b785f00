/**
 * The broker's counters, as a plain object the service renders as Prometheus text
 * (`cloud/metrics.ts`: a name ending in `Total` is a counter, a nested object a
 * counter by `kind`, anything else a gauge).
 */

/** What `broker.stats()` returns: a snapshot. */
export interface BrokerStats {
  /** CONNECTs accepted (CONNACK 0). */
  connectsTotal: number
  /** Clients connected now. */
  clients: number
  /** PUBLISH packets accepted from clients (after ACL and ingest hook), Wills excluded. */
  messagesInTotal: number
  /** Payload bytes of those packets. */
  bytesInTotal: number
  /** Wills published for clients that went away without DISCONNECT. */
  willsTotal: number
  /** Refusals: `connect` (CONNACK ≠ 0), `publish` (connection closed), `subscribe` (SUBACK 0x80). */
  denials: { connect: number; publish: number; subscribe: number }
  /** Ingest hook failures (the message was not acknowledged; the client redelivers). */
  ingestFailuresTotal: number
}

/** The live counters behind `BrokerStats`. */
export class Counters {
  connectsTotal = 0
  messagesInTotal = 0
  bytesInTotal = 0
  willsTotal = 0
  ingestFailuresTotal = 0
  readonly denials = { connect: 0, publish: 0, subscribe: 0 }

  snapshot(clients: number): BrokerStats {
    return {
      connectsTotal: this.connectsTotal,
      clients,
      messagesInTotal: this.messagesInTotal,
      bytesInTotal: this.bytesInTotal,
      willsTotal: this.willsTotal,
      denials: { ...this.denials },
      ingestFailuresTotal: this.ingestFailuresTotal,
    }
  }
}
