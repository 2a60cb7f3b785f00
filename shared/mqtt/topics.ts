/**
 * The MQTT topic namespace of wire contract v1: `muni/v1/{site}/{gateway}/{kind}`.
 *
 * This file is the only place a topic string is built or parsed; call sites use
 * `topics.*`, `filters.*` and `parseTopic`, never string concatenation
 * (zigbee2mqtt keeps its whole MQTT API in one place for the same reason).
 *
 * Pure: no I/O, no MQTT client.
 */

/** First topic level of every muni-iot topic. */
export const TOPIC_ROOT = 'muni'

/** Second topic level: the wire-contract major version. A breaking change gets `v2` and runs beside `v1`. */
export const TOPIC_VERSION = 'v1'

/**
 * Site and gateway ids (and device ids, see `messages.ts`): an ASCII letter or digit,
 * then up to 63 letters, digits, `_` or `-`. This excludes the MQTT wildcards `+`
 * and `#`, the level separator `/`, `$` (broker topics such as `$SYS`, MQTT 3.1.1
 * §4.7.2) and the empty string.
 */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'
const ID_RE = new RegExp(ID_PATTERN)

/**
 * Message kinds, each the topic suffix after `muni/v1/{site}/{gateway}/`.
 * `command/response` is the one two-level suffix.
 */
export const TOPIC_KINDS = ['telemetry', 'state', 'birth', 'events', 'command', 'command/response'] as const
/** One of `TOPIC_KINDS`. */
export type TopicKind = (typeof TOPIC_KINDS)[number]

/** How a kind travels: what the publisher passes to the MQTT client, and who is on each end. */
export interface TopicSpec {
  /** MQTT QoS. Everything is QoS 1 (at least once); receivers dedupe (see docs/wire-contract.md). */
  readonly qos: 1
  /** Whether the broker keeps the last message for late subscribers. */
  readonly retain: boolean
  /** The side that publishes; the other side subscribes. */
  readonly publisher: 'edge' | 'cloud'
  /** One line for the topic table. */
  readonly description: string
}

/** Delivery rules of every kind: the topic table of docs/wire-contract.md, as data. */
export const TOPIC_SPECS: Readonly<Record<TopicKind, TopicSpec>> = Object.freeze({
  telemetry: { qos: 1, retain: false, publisher: 'edge', description: 'batches of device readings (values + errors)' },
  state: { qos: 1, retain: true, publisher: 'edge', description: 'gateway online/offline; the offline message is the MQTT Last Will' },
  birth: { qos: 1, retain: true, publisher: 'edge', description: 'gateway and device inventory, published on every connect' },
  events: { qos: 1, retain: false, publisher: 'edge', description: 'device availability events' },
  // A retained command would run again whenever the gateway resubscribes: never retain commands.
  command: { qos: 1, retain: false, publisher: 'cloud', description: 'requests to the gateway' },
  'command/response': { qos: 1, retain: false, publisher: 'edge', description: "the gateway's answers, correlated by request id" },
})

/** A parsed topic; `kind` decides the payload type (see `MessageByKind` in `messages.ts`). */
export type ParsedTopic<K extends TopicKind = TopicKind> = {
  [P in K]: { kind: P; site: string; gateway: string }
}[K]

/** True when `id` is a valid site, gateway or device id (`ID_PATTERN`). */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_RE.test(id)
}

function assertId(what: 'site' | 'gateway', id: unknown): string {
  if (!isValidId(id)) {
    // A bad id here is a programming or configuration error, never data from the wire.
    throw new Error(`invalid ${what} id ${JSON.stringify(id)}: must match ${ID_PATTERN}`)
  }
  return id
}

function assertKind(kind: unknown): TopicKind {
  if (!(TOPIC_KINDS as readonly unknown[]).includes(kind)) {
    throw new Error(`invalid topic kind ${JSON.stringify(kind)}: must be one of ${TOPIC_KINDS.join(', ')}`)
  }
  return kind as TopicKind
}

/**
 * The topic of `kind` for one gateway, e.g. `topicFor('telemetry', 'north', 'gw-01')`
 * → `muni/v1/north/gw-01/telemetry`.
 * @throws Error when `site` or `gateway` does not match `ID_PATTERN` or `kind` is unknown.
 */
export function topicFor(kind: TopicKind, site: string, gateway: string): string {
  return `${prefix(site, gateway)}/${assertKind(kind)}`
}

function prefix(site: string, gateway: string): string {
  return `${TOPIC_ROOT}/${TOPIC_VERSION}/${assertId('site', site)}/${assertId('gateway', gateway)}`
}

/**
 * Topic builders, one per kind. Each throws an Error on an invalid site or gateway id.
 */
export const topics = Object.freeze({
  /** `muni/v1/{site}/{gateway}/telemetry`: edge → cloud, QoS 1. */
  telemetry: (site: string, gateway: string): string => topicFor('telemetry', site, gateway),
  /** `muni/v1/{site}/{gateway}/state`: edge → cloud, QoS 1, retained; also the Last Will topic. */
  state: (site: string, gateway: string): string => topicFor('state', site, gateway),
  /** `muni/v1/{site}/{gateway}/birth`: edge → cloud, QoS 1, retained. */
  birth: (site: string, gateway: string): string => topicFor('birth', site, gateway),
  /** `muni/v1/{site}/{gateway}/events`: edge → cloud, QoS 1. */
  events: (site: string, gateway: string): string => topicFor('events', site, gateway),
  /** `muni/v1/{site}/{gateway}/command`: cloud → edge, QoS 1, never retained. */
  command: (site: string, gateway: string): string => topicFor('command', site, gateway),
  /** `muni/v1/{site}/{gateway}/command/response`: edge → cloud, QoS 1. */
  commandResponse: (site: string, gateway: string): string => topicFor('command/response', site, gateway),
})

/**
 * Subscription filters (MQTT 3.1.1 §4.7: `+` matches one level, `#` the rest).
 * Builders that take ids throw an Error on an invalid id.
 */
export const filters = Object.freeze({
  /** One kind from every gateway of every site, e.g. `muni/v1/+/+/state`. */
  all: (kind: TopicKind): string => `${TOPIC_ROOT}/${TOPIC_VERSION}/+/+/${assertKind(kind)}`,
  /** `muni/v1/+/+/telemetry`: telemetry of every gateway. */
  allTelemetry: (): string => filters.all('telemetry'),
  /**
   * `muni/v1/{site}/{gateway}/#`: everything of one gateway, both directions. Also the
   * prefix a broker ACL confines that gateway's client to.
   */
  gateway: (site: string, gateway: string): string => `${prefix(site, gateway)}/#`,
  /** `muni/v1/{site}/{gateway}/command`: what a gateway subscribes to (a topic name is a valid filter). */
  gatewayCommands: (site: string, gateway: string): string => topicFor('command', site, gateway),
  /**
   * Everything the cloud subscribes to: every kind the edge publishes, from every
   * gateway. `command` is left out: the cloud publishes it and must not hear its own requests.
   */
  cloud: (): readonly string[] => TOPIC_KINDS.filter((k) => TOPIC_SPECS[k].publisher === 'edge').map((k) => filters.all(k)),
})

/**
 * Parses a topic name into its kind, site and gateway; `undefined` for anything that
 * is not exactly a v1 muni-iot topic: another root or version, a missing or extra
 * level, an empty level, a wildcard (`+`, `#`), an id outside `ID_PATTERN`, `$SYS/…`.
 * Never throws.
 */
export function parseTopic(topic: string): ParsedTopic | undefined {
  if (typeof topic !== 'string' || topic.length > 512) return undefined
  const levels = topic.split('/')
  if (levels.length < 5 || levels.length > 6) return undefined
  const [root, version, site, gateway, ...rest] = levels
  if (root !== TOPIC_ROOT || version !== TOPIC_VERSION) return undefined
  if (!isValidId(site) || !isValidId(gateway)) return undefined
  const suffix = rest.join('/')
  const kind = TOPIC_KINDS.find((k) => k === suffix)
  return kind === undefined ? undefined : { kind, site, gateway }
}
