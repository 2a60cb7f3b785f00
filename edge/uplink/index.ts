/**
 * The MQTT uplink of the edge agent (docs/wire-contract.md, "Connection lifecycle"):
 * session counter, Last Will, birth and online state, command delivery, and the drain of
 * the durable outbox. Choices and their reasons: edge/uplink/README.md.
 */
export { Uplink, UPLINK_DEFAULTS, type UplinkOptions, type UplinkOutbox, type UplinkStats, type BirthSource } from './uplink.ts'
export { FileSessionStore, MemorySessionStore, type SessionStore, type FileSessionStoreOptions } from './session-store.ts'
export { type BrokerOptions, type TlsFiles, type UplinkLogger } from './connect-options.ts'
export { type BatchOptions, flushDecision } from './batching.ts'
export { backoffDelay, BACKOFF_DEFAULTS, type BackoffOptions } from './backoff.ts'
