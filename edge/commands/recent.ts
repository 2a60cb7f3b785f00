/**
 * Redelivered commands (docs/wire-contract.md: "the gateway remembers recent ids and
 * answers a repeat with its earlier response, without acting twice"). QoS 1 is at least
 * once: a command can arrive twice, e.g. when the PUBACK was lost with the connection.
 *
 * The last `capacity` ids are kept with their response (or the promise of it, while
 * the first delivery still runs), oldest forgotten first. Memory only: after a restart
 * a redelivered id runs again — by then it has usually expired, which `handleCommand`
 * checks before anything else.
 */
import type { CommandRequest, CommandResponse } from '../../shared/mqtt/index.ts'

/** How many ids are remembered unless told otherwise. */
export const DEFAULT_REMEMBERED_COMMANDS = 1_000

export class RecentCommands {
  readonly #capacity: number
  readonly #answers = new Map<string, Promise<CommandResponse>>()
  #repeats = 0

  constructor(capacity = DEFAULT_REMEMBERED_COMMANDS) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`)
    this.#capacity = capacity
  }

  /** Runs `execute` for a new id; for a remembered id, returns the earlier response (or waits for it). */
  answer(req: CommandRequest, execute: (req: CommandRequest) => Promise<CommandResponse>): Promise<CommandResponse> {
    const earlier = this.#answers.get(req.id)
    if (earlier !== undefined) {
      this.#repeats++
      return earlier
    }
    const answer = execute(req)
    this.#answers.set(req.id, answer)
    while (this.#answers.size > this.#capacity) {
      const oldest = this.#answers.keys().next()
      if (oldest.done === true) break
      this.#answers.delete(oldest.value)
    }
    return answer
  }

  /** Requests answered from memory. */
  get repeats(): number {
    return this.#repeats
  }
}

/** `execute` behind a `RecentCommands`: what the uplink's `onCommand` takes. */
export function rememberingHandler(
  execute: (req: CommandRequest) => Promise<CommandResponse>,
  capacity = DEFAULT_REMEMBERED_COMMANDS,
): (req: CommandRequest) => Promise<CommandResponse> {
  const recent = new RecentCommands(capacity)
  return (req) => recent.answer(req, execute)
}
