/**
 * The command dispatcher: one decoded `CommandRequest` in, exactly one `CommandResponse`
 * out (docs/wire-contract.md, "Commands"). It checks what can be checked without the
 * device — expiry, device, point, access, value — and only then calls the gateway
 * (`CommandContext`), whose failures become `device_error` (or the code the gateway
 * chose: `timeout`, `busy`, `out_of_range`…). It never throws and never rejects.
 *
 * Pure apart from the context it is given; the agent implements the context on the
 * polling engine (`write`, `readNow`, `setPollInterval` have this shape) and the uplink
 * (`rebirth`).
 */
import type { Value } from '../../shared/codec/index.ts'
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  validateMessage,
  type CommandError,
  type CommandRequest,
  type CommandResponse,
  type Reading,
} from '../../shared/mqtt/index.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import { checkWrite } from './check-write.ts'
import { commandError, failed, succeeded } from './responses.ts'

/** What the gateway did, or why not: the polling engine's `Checked<T>` has this shape. */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CommandError }

/** A device as the dispatcher needs it. */
export interface CommandDevice {
  readonly profile: ResolvedProfile
}

/** The gateway, as the dispatcher sees it. Implemented by the agent. */
export interface CommandContext {
  /** Devices of this gateway by id (a `Map` will do). */
  readonly devices: { get(id: string): CommandDevice | undefined }
  /** Writes one point (already checked against the profile); `readBack` becomes the response's `result`. */
  write(device: string, point: string, value: Value): Promise<Outcome<{ readonly readBack?: Reading }>>
  /** Polls every point of the device now; the reading becomes the response's `result`. */
  readNow(device: string): Promise<Outcome<Reading>>
  /** Changes the device's poll interval until restart; `out_of_range` when the bus cannot keep up. */
  setInterval(device: string, intervalMs: number): Outcome<unknown> | Promise<Outcome<unknown>>
  /** Publishes the birth again, same session (Sparkplug 3.0 "Node Control/Rebirth"). */
  rebirth(): unknown
  /** ms since the epoch: expiry and the response's `ts`. */
  now(): number
}

/** True when the request arrived after `ts + timeoutMs` (docs/wire-contract.md: answer `expired`, do nothing). */
export function isExpired(req: Pick<CommandRequest, 'ts' | 'timeoutMs'>, now: number): boolean {
  return req.ts + (req.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS) < now
}

/**
 * Validates and runs one request. Always resolves, with exactly one response carrying the
 * request's id. Nothing is executed for an expired or refused request.
 */
export async function handleCommand(req: CommandRequest, ctx: CommandContext): Promise<CommandResponse> {
  let response: CommandResponse
  try {
    response = await dispatch(req, ctx)
  } catch (e) {
    response = failed(req.id, now(ctx), commandError('device_error', `${req.type} failed: ${reason(e)}`))
  }
  // What goes out must pass the contract (a gateway cannot publish what the cloud rejects);
  // a bad result from the gateway is answered, not dropped.
  const violations = validateMessage('command/response', response)
  if (violations.length > 0) {
    const listed = violations.slice(0, 3).map((v) => `${v.path || '(root)'}: ${v.reason}`).join('; ')
    response = failed(req.id, now(ctx), commandError('device_error', `the gateway produced an invalid answer to ${req.type}: ${listed}`))
  }
  return response
}

async function dispatch(req: CommandRequest, ctx: CommandContext): Promise<CommandResponse> {
  const at = now(ctx)
  if (isExpired(req, at)) {
    const timeoutMs = req.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
    return failed(req.id, at, commandError('expired', `arrived ${at - req.ts - timeoutMs} ms after ts + timeoutMs (${timeoutMs} ms); not executed`))
  }
  if (req.type === 'rebirth') {
    await ctx.rebirth()
    return succeeded(req.id, now(ctx))
  }
  const device = ctx.devices.get(req.device)
  if (device === undefined) return failed(req.id, at, commandError('unknown_device', `no device ${req.device} on this gateway`))
  switch (req.type) {
    case 'write': {
      const check = checkWrite(device.profile, req.point, req.value)
      if (!check.ok) return failed(req.id, at, check.error)
      const out = await ctx.write(req.device, req.point, req.value)
      return out.ok ? succeeded(req.id, now(ctx), out.value.readBack) : failed(req.id, now(ctx), out.error)
    }
    case 'read': {
      const out = await ctx.readNow(req.device)
      return out.ok ? succeeded(req.id, now(ctx), out.value) : failed(req.id, now(ctx), out.error)
    }
    case 'set-interval': {
      const out = await ctx.setInterval(req.device, req.intervalMs)
      return out.ok ? succeeded(req.id, now(ctx)) : failed(req.id, now(ctx), out.error)
    }
  }
}

function now(ctx: CommandContext): number {
  return Math.floor(ctx.now())
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
