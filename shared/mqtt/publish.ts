/**
 * Everything a publisher hands to its MQTT client, in one value: topic, encoded payload,
 * QoS and retain flag, all taken from the contract so no call site picks them by hand.
 */
import { encode } from './decode.ts'
import type { MessageByKind } from './messages.ts'
import { TOPIC_SPECS, topicFor, type TopicKind } from './topics.ts'

/** A message ready for `client.publish(topic, payload, { qos, retain })`, or for the MQTT Will. */
export interface Outgoing {
  topic: string
  payload: Uint8Array
  qos: 1
  retain: boolean
}

/**
 * Builds the topic, encodes and fully validates the message (including payload gateway
 * and site against the topic), and picks QoS and retain from `TOPIC_SPECS`.
 * @throws Error on an invalid site or gateway id.
 * @throws InvalidMessageError (decode.ts) on a message the contract rejects.
 */
export function preparePublish<K extends TopicKind>(kind: K, site: string, gateway: string, message: MessageByKind[K]): Outgoing {
  const topic = topicFor(kind, site, gateway)
  const payload = encode(kind, message, { site, gateway })
  const spec = TOPIC_SPECS[kind]
  return { topic, payload, qos: spec.qos, retain: spec.retain }
}

/**
 * The Last Will to register at CONNECT for connection `session`: a retained `offline`
 * state without `ts` (the broker publishes it later, at an unknown time). The same
 * session goes into that connection's birth and `online` state, so the cloud can ignore
 * a Will that arrives after a newer connection's birth (Sparkplug 3.0 bdSeq).
 * @throws Error on an invalid site or gateway id; InvalidMessageError on an invalid session.
 */
export function lastWill(site: string, gateway: string, session: number): Outgoing {
  return preparePublish('state', site, gateway, { state: 'offline', session })
}
