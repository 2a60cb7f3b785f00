/**
 * What arrives on the gateway's command topic, turned into what to do about it, and
 * every answer turned into a message the contract accepts (docs/wire-contract.md,
 * "Commands": every request gets exactly one response; an undecodable one is answered
 * `invalid` when its id is readable, otherwise only logged and counted).
 */
import { decode, preparePublish, type CommandRequest, type CommandResponse, type Outgoing } from '../../shared/mqtt/index.ts'
import { commandError, failed, invalidRequestResponse } from '../commands/index.ts'

export type Inbound =
  /** A valid request for this gateway: run it. */
  | { readonly kind: 'request'; readonly request: CommandRequest }
  /** Rejected by `decode`, id readable: publish this answer. */
  | { readonly kind: 'invalid'; readonly response: CommandResponse; readonly why: string }
  /** Cannot be answered (no readable id, or not a command for this gateway). */
  | { readonly kind: 'unanswerable'; readonly why: string }

/** Classifies one message from the command subscription. */
export function inbound(topic: string, payload: Uint8Array, site: string, gateway: string, now: number): Inbound {
  const r = decode(topic, payload)
  if (!r.ok) {
    const first = r.violations[0]
    const why = first === undefined ? 'rejected' : `${first.path || '(root)'}: ${first.reason}`
    const response = invalidRequestResponse(payload, r.violations, now)
    return response === undefined ? { kind: 'unanswerable', why: `no readable id; ${why}` } : { kind: 'invalid', response, why }
  }
  if (r.kind !== 'command' || r.topic.site !== site || r.topic.gateway !== gateway) return { kind: 'unanswerable', why: `a ${r.kind} message for ${r.topic.site}/${r.topic.gateway}` }
  return { kind: 'request', request: r.message }
}

/**
 * The message answering `request` (or an `invalid` answer, when `request` is undefined).
 * A handler that answered with another id, or with something the contract rejects, is
 * replaced by a `device_error` for the right id — never by silence. `problem` says why.
 */
export function responseMessage(
  response: CommandResponse,
  request: CommandRequest | undefined,
  site: string,
  gateway: string,
  now: number,
): { message: Outgoing; problem?: string } {
  if (request !== undefined && response.id !== request.id) {
    const problem = `the command handler answered ${request.id} with id ${response.id}`
    return { message: preparePublish('command/response', site, gateway, failed(request.id, now, commandError('device_error', 'the gateway answered with another id'))), problem }
  }
  try {
    return { message: preparePublish('command/response', site, gateway, response) }
  } catch (e) {
    const problem = `the answer to ${response.id} does not pass the contract: ${e instanceof Error ? e.message : String(e)}`
    return { message: preparePublish('command/response', site, gateway, failed(response.id, now, commandError('device_error', 'the gateway could not encode its answer'))), problem }
  }
}
