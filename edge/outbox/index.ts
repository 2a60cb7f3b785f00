/**
 * The durable outbox (store-and-forward) of the edge agent: readings are stored before
 * anything is published, batches keep their seq and bytes until the broker acknowledges
 * them, and the backlog drains historical while live readings keep flowing.
 * Policies: edge/outbox/README.md.
 */
export { Outbox, OUTBOX_DEFAULTS, type OutboxOptions, type NextBatchOptions, type OutboxBatch, type OutboxStats } from './outbox.ts'
export { OutboxError, OUTBOX_ERROR_CODES, type OutboxErrorCode } from './errors.ts'
export { SCHEMA_VERSION } from './database.ts'
