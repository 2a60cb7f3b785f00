/**
 * Who may publish and subscribe to what (pure; the broker hooks call these).
 *
 * | identity          | publish                                                        | subscribe / receive            |
 * |-------------------|----------------------------------------------------------------|--------------------------------|
 * | gateway (S, G)    | `muni/v1/S/G/{telemetry,state,birth,events,command/response}` | `muni/v1/S/G/command` only     |
 * | cloud             | `muni/v1/+/+/command` (any one gateway's command topic)       | anything                       |
 * | anonymous (dev)   | anything but `$…` topics                                      | anything                       |
 *
 * Topic names with `+` or `#` are never published [MQTT-3.3.2-2], and nobody
 * publishes to `$…` topics (`$SYS` is the broker's own, MQTT 3.1.1 §4.7.2).
 * The kinds a gateway may publish are those `TOPIC_SPECS` marks `publisher: 'edge'`,
 * and the cloud's those marked `publisher: 'cloud'`, so a new kind follows the
 * wire contract without touching this file.
 */
import { filters, parseTopic, TOPIC_SPECS } from '../../shared/mqtt/topics.ts'

/** Who a connected client is, decided once at CONNECT. */
export type Identity =
  | { readonly role: 'gateway'; readonly username: string; readonly site: string; readonly gateway: string }
  | { readonly role: 'cloud'; readonly username: string }
  /** Development mode only (`allowAnonymous`): a client that sent no username. */
  | { readonly role: 'anonymous' }

/** `gw-01 (gateway north/gw-01)`, `ingest (cloud)`, `anonymous`: for log lines. */
export function describeIdentity(id: Identity): string {
  switch (id.role) {
    case 'gateway':
      return `${id.username} (gateway ${id.site}/${id.gateway})`
    case 'cloud':
      return `${id.username} (cloud)`
    case 'anonymous':
      return 'anonymous'
  }
}

function nameProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'the topic is empty'
  if (topic.includes('+') || topic.includes('#')) return 'wildcards are not allowed in a topic name [MQTT-3.3.2-2]'
  if (topic.startsWith('$')) return 'topics starting with $ are reserved for the broker'
  return undefined
}

/** Why `id` may not publish to `topic`, or undefined when it may. */
export function publishDenial(id: Identity, topic: string): string | undefined {
  const problem = nameProblem(topic)
  if (problem !== undefined) return problem
  if (id.role === 'anonymous') return undefined
  const parsed = parseTopic(topic)
  if (parsed === undefined) return 'not a muni/v1 topic'
  const spec = TOPIC_SPECS[parsed.kind]
  if (id.role === 'cloud') {
    return spec.publisher === 'cloud' ? undefined : `the cloud publishes only ${cloudKinds()} topics, not ${parsed.kind}`
  }
  if (parsed.site !== id.site || parsed.gateway !== id.gateway) {
    return `gateway ${id.site}/${id.gateway} may publish only under muni/v1/${id.site}/${id.gateway}/`
  }
  return spec.publisher === 'edge' ? undefined : `a gateway does not publish ${parsed.kind} topics`
}

const cloudKinds = (): string =>
  Object.entries(TOPIC_SPECS)
    .filter(([, s]) => s.publisher === 'cloud')
    .map(([k]) => k)
    .join(', ')

/** Why `id` may not subscribe to `filter`, or undefined when it may. */
export function subscribeDenial(id: Identity, filter: string): string | undefined {
  if (id.role !== 'gateway') return undefined
  const own = filters.gatewayCommands(id.site, id.gateway)
  return filter === own ? undefined : `gateway ${id.site}/${id.gateway} may subscribe only to ${own}`
}

/**
 * Whether a message on `topic` may be delivered to `id`. Checked again at delivery
 * (Aedes `authorizeForward`), because Aedes stores every filter of a SUBSCRIBE packet
 * for a persistent session, the refused ones too, and queues offline messages for them.
 */
export function mayReceive(id: Identity, topic: string): boolean {
  return id.role !== 'gateway' || topic === filters.gatewayCommands(id.site, id.gateway)
}
