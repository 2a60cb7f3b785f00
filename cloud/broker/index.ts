/**
 * The cloud's embedded MQTT broker (Aedes): per-gateway credentials and topic ACL,
 * durable sessions on SQLite, and an ingest hook that runs before the PUBACK.
 * See README.md.
 */
export { startBroker, CredentialsError, DEVELOPMENT_MODE_WARNING, type Broker, type StartBrokerOptions } from './broker.ts'
export type { BrokerStats } from './stats.ts'
export type { OnPublish, PublishOrigin } from './hooks.ts'
export { describeIdentity, mayReceive, publishDenial, subscribeDenial, type Identity } from './acl.ts'
export { loadCredentials, parseCredentials, type Credential, type CredentialEntry, type LoadedCredentials } from './credentials.ts'
export { hashPassword, parsePasswordHash, PasswordHash } from './password.ts'
export { hashPasswordCli } from './hash-password-cli.ts'
export { SqlitePersistence, type SqlitePersistenceOptions } from './sqlite-persistence.ts'
