/**
 * Commands from the cloud (docs/wire-contract.md, "Commands"): validation and dispatch
 * (`handleCommand`), redelivery (`RecentCommands`), and the response builders. Pure
 * apart from the `CommandContext` the agent passes in; the uplink delivers requests and
 * publishes the answers.
 *
 *   const onCommand = rememberingHandler((req) => handleCommand(req, ctx))
 *   new Uplink({ …, onCommand })
 */
export { handleCommand, isExpired, type CommandContext, type CommandDevice, type Outcome } from './handle.ts'
export { checkWrite, type WriteCheck } from './check-write.ts'
export { RecentCommands, rememberingHandler, DEFAULT_REMEMBERED_COMMANDS } from './recent.ts'
export { invalidRequestResponse, readableId, succeeded, failed, commandError, clipMessage } from './responses.ts'
