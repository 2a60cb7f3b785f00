/**
 * MQTT wire contract v1 (docs/wire-contract.md): topics, payload schemas, validation
 * and the codec. Pure TypeScript, shared by edge and cloud.
 */
export {
  TOPIC_ROOT,
  TOPIC_VERSION,
  ID_PATTERN,
  TOPIC_KINDS,
  TOPIC_SPECS,
  isValidId,
  topicFor,
  topics,
  filters,
  parseTopic,
  type TopicKind,
  type TopicSpec,
  type ParsedTopic,
} from './topics.ts'
export * from './messages.ts'
export { validateMessage, MAX_VIOLATIONS, type TopicAddress } from './validate.ts'
export { decode, encode, InvalidMessageError, type Decoded, type DecodeFailure, type DecodeResult } from './decode.ts'
export { examples, EXAMPLE_SITE, EXAMPLE_GATEWAY } from './examples.ts'
export { preparePublish, lastWill, type Outgoing } from './publish.ts'
export type { Violation } from '../schema/violations.ts'
