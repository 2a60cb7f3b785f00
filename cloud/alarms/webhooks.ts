/**
 * Signed webhooks for alarm transitions (issue 6). The transition log is the outbox: the
 * engine commits every transition before anyone hears of it, and each target keeps a
 * durable cursor into the log (`webhook-store.ts`). Per target, strictly in log order and
 * one request at a time:
 *
 *   read after cursor ─► skip unannounced / filtered ─► POST signed JSON ─┬─ 2xx: cursor = id (durable) ─► next
 *                                                                        ├─ 408/429/5xx/no answer: attempts+1, next_at (durable), wait
 *                                                                        └─ other: webhook_failures row + cursor = id ─► next
 *
 * Delivery is at-least-once: a kill between the receiver's 2xx and the cursor write sends
 * that event again, with the same `x-muni-event-id`; receivers dedupe on it. Targets run
 * independently, so a slow or dead receiver delays only itself. Policy, payload and
 * filters are in `webhook-policy.ts`, signatures in `webhook-signature.ts`.
 */
import type { StateDb } from '../state/db.ts'
import type { Alarm } from './lifecycle.ts'
import type { Severity } from './rules.ts'
import type { StoredTransition } from './store.ts'
import {
  alarmAsOf,
  backoffDelay,
  DEFAULT_BACKOFF,
  outcomeOf,
  parseRetryAfter,
  payloadOf,
  redactUrl,
  targetHears,
  validateTargets,
  type Backoff,
  type WebhookTarget,
} from './webhook-policy.ts'
import { EVENT_ID_HEADER, sign, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-signature.ts'
import { WebhookStore, type WebhookCursor, type WebhookFailure } from './webhook-store.ts'

export { validateTargets, redactUrl, type Backoff, type TransitionType, type WebhookPayload, type WebhookTarget } from './webhook-policy.ts'
export { sign, verifySignature, DEFAULT_TOLERANCE_S, EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-signature.ts'
export type { WebhookFailure } from './webhook-store.ts'

/** The log (`AlarmEngine` fits). */
export interface TransitionSource {
  /** Logged transitions with id > `afterId`, oldest first, at most `limit`. */
  transitions(afterId: number, limit: number): StoredTransition[]
  /** Every transition of one alarm id: the payload's alarm is rebuilt as of the transition. */
  history?(alarmId: string): StoredTransition[]
  /** Fallback without `history`: the alarm as of delivery (when `alarmId` is still its key's current one). */
  get?(alarmId: string): Alarm | undefined
  /** The newest log id; found by probing `transitions` when absent. */
  lastId?(): number
}

export interface WebhookDeliveryOptions {
  /** The cloud's state database: cursors and failures live beside the log. */
  db: StateDb
  source: TransitionSource
  targets: readonly WebhookTarget[]
  fetch?: typeof fetch
  /** Cloud clock, ms: `x-muni-timestamp`, `next_at`, Retry-After dates. */
  now?: () => number
  log?: (line: string) => void
  /** [0, 1) for the jitter (default Math.random). */
  random?: () => number
  /** Default 1 s × 2 per attempt, at most 5 min. */
  backoff?: Backoff
  /** Give up on an event after this many retryable failures; default: never (see README § Webhooks). */
  maxAttempts?: number
  /** Per request, including reading the response (default 10 s). */
  timeoutMs?: number
  /** Safety-net poll when nobody calls `notify()` (default 5 s). */
  pollMs?: number
  /** Where a target seen for the first time starts: the log's end (default: no history flood) or its beginning. */
  startFrom?: 'end' | 'beginning'
  /** How long `stop()` waits for requests in flight before aborting them (default 5 s). */
  stopGraceMs?: number
  /** Every attempt's outcome (metrics, tests). */
  onAttempt?: (a: WebhookAttempt) => void
}

export interface WebhookAttempt {
  target: string
  transitionId: number
  /** 1 for the first try of this event. */
  attempt: number
  outcome: 'delivered' | 'retry' | 'failed'
  status?: number
  error?: string
  /** Wait before the next attempt (retry only). */
  delayMs?: number
}

export interface WebhookTargetStats {
  target: string
  /** Since start. */
  delivered: number
  /** Given up since start (rows in `webhook_failures`). */
  failed: number
  /** An event is failing and being retried. */
  retrying: boolean
  /** Failed attempts at the pending event. */
  attempts: number
  /** The newest log id done for this target. */
  cursor: number
  /** Log end − cursor (log ids, announced or not). */
  lag: number
  lastError?: string
}

interface Run {
  target: WebhookTarget
  url: string
  auth?: string
  label: string
  cursor: WebhookCursor
  /** Transitions read ahead of the cursor (the log is append-only: they never change). */
  ahead: StoredTransition[]
  delivered: number
  failed: number
  woken: boolean
  wake?: () => void
  inflight?: AbortController
  done?: Promise<void>
}

const READ_BATCH = 200
const STOPPING = Symbol('stopping')

export class WebhookDelivery {
  readonly #o: WebhookDeliveryOptions
  readonly #now: () => number
  readonly #log: (line: string) => void
  readonly #random: () => number
  #store: WebhookStore | undefined
  #runs: Run[] = []
  #end = 0
  #stopping = false

  constructor(options: WebhookDeliveryOptions) {
    this.#o = options
    this.#now = options.now ?? Date.now
    this.#log = options.log ?? (() => {})
    this.#random = options.random ?? Math.random
  }

  /** Throws on invalid targets (`validateTargets`); creates the tables, opens each target's cursor (a new target at the log's end, or 0) and starts sending. */
  start(): void {
    if (this.#store) return
    const issues = validateTargets(this.#o.targets)
    if (issues.length > 0) throw new Error(`webhooks: ${issues.join('; ')}`)
    const store = new WebhookStore(this.#o.db)
    const at = this.#now()
    this.#end = this.#o.source.lastId?.() ?? probeEnd(this.#o.source)
    const startId = this.#o.startFrom === 'beginning' ? 0 : this.#end
    this.#stopping = false
    this.#runs = this.#o.targets.map((target) => {
      const u = new URL(target.url)
      const auth = u.username || u.password ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}` : undefined
      u.username = ''
      u.password = ''
      const cursor = store.open(target.name, startId, at)
      return { target, url: u.toString(), ...(auth ? { auth } : {}), label: `webhook ${target.name} (${redactUrl(target.url)})`, cursor, ahead: [], delivered: 0, failed: 0, woken: false }
    })
    this.#store = store
    for (const r of this.#runs) {
      this.#log(`${r.label}: from transition ${r.cursor.lastId}${r.cursor.attempts > 0 ? `, retrying ${r.cursor.pendingId} (${r.cursor.attempts} attempt(s))` : ''}`)
      r.done = this.#loop(r)
    }
  }

  /** New transitions are in the log (call from the engine's `onTransition`); wakes every target not backing off. */
  notify(lastId?: number): void {
    if (lastId !== undefined && lastId > this.#end) this.#end = lastId
    for (const r of this.#runs) {
      r.woken = true
      r.wake?.()
    }
  }

  /** Stops sending: waits up to `stopGraceMs` for requests in flight, then aborts them (they are sent again after a restart). */
  async stop(): Promise<void> {
    if (!this.#store) return
    this.#stopping = true
    for (const r of this.#runs) r.wake?.()
    const all = Promise.all(this.#runs.map((r) => r.done))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#o.stopGraceMs ?? 5000)))])
    clearTimeout(timer)
    for (const r of this.#runs) r.inflight?.abort(STOPPING)
    await all
    this.#store = undefined
  }

  stats(): WebhookTargetStats[] {
    return this.#runs.map((r) => ({
      target: r.target.name,
      delivered: r.delivered,
      failed: r.failed,
      retrying: r.cursor.attempts > 0,
      attempts: r.cursor.attempts,
      cursor: r.cursor.lastId,
      lag: Math.max(0, this.#end - r.cursor.lastId),
      ...(r.cursor.lastError !== undefined ? { lastError: r.cursor.lastError } : {}),
    }))
  }

  /** Events given up on, oldest first. */
  failures(opts: { target?: string; afterId?: number; limit?: number } = {}): WebhookFailure[] {
    if (!this.#store) throw new Error('webhook delivery not started')
    return this.#store.failures(opts)
  }

  async #loop(r: Run): Promise<void> {
    const poll = this.#o.pollMs ?? 5000
    while (!this.#stopping) {
      let wait: number
      try {
        wait = await this.#step(r)
      } catch (e) {
        // A database error (locked, full): log it and try again after a poll, never die.
        this.#log(`${r.label}: ${this.#scrub(r, e)}`)
        wait = poll
      }
      if (this.#stopping) break
      if (wait > 0) await this.#sleep(r, Math.min(wait, poll))
    }
  }

  /** One step: deliver (or skip up to) the next event; returns how long to wait before the next step. */
  async #step(r: Run): Promise<number> {
    const c = r.cursor
    const now = this.#now()
    if (c.nextAt > now) return c.nextAt - now
    while (r.ahead.length > 0 && (r.ahead[0] as StoredTransition).id <= c.lastId) r.ahead.shift()
    if (r.ahead.length === 0) r.ahead = this.#o.source.transitions(c.lastId, READ_BATCH)
    const last = r.ahead.at(-1)
    if (!last) return this.#o.pollMs ?? 5000
    if (last.id > this.#end) this.#end = last.id
    let done = c.lastId
    for (const t of r.ahead) {
      const asOf = t.announce ? this.#alarmOf(t) : undefined
      if (!targetHears(r.target, t, asOf?.alarm, asOf?.peak)) {
        done = t.id
        continue
      }
      if (done !== c.lastId) this.#advance(r, done)
      return this.#send(r, t, asOf?.alarm)
    }
    this.#advance(r, done)
    return 0
  }

  #alarmOf(t: StoredTransition): { alarm: Alarm; peak?: Severity } | undefined {
    const s = this.#o.source
    if (s.history) return alarmAsOf(s.history(t.alarmId), t)
    const a = s.get?.(t.alarmId)
    return a ? { alarm: a } : undefined
  }

  async #send(r: Run, t: StoredTransition, alarm: Alarm | undefined): Promise<number> {
    const store = this.#store as WebhookStore
    const attempt = (r.cursor.pendingId === t.id ? r.cursor.attempts : 0) + 1
    const body = JSON.stringify(payloadOf(t, alarm))
    const ts = Math.floor(this.#now() / 1000)
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'muni-iot-webhooks/1',
      [EVENT_ID_HEADER]: String(t.id),
      [TIMESTAMP_HEADER]: String(ts),
      [SIGNATURE_HEADER]: sign(r.target.secret, ts, body),
      ...(r.auth ? { authorization: r.auth } : {}),
    }
    const timeoutMs = this.#o.timeoutMs ?? 10_000
    const ctl = new AbortController()
    const timer = setTimeout(() => ctl.abort(), timeoutMs)
    r.inflight = ctl
    let status: number | undefined
    let error: string | undefined
    let retryAfter: string | null = null
    try {
      const res = await (this.#o.fetch ?? fetch)(r.url, { method: 'POST', headers, body, signal: ctl.signal, redirect: 'manual' })
      status = res.status
      retryAfter = res.headers.get('retry-after')
      if (status >= 200 && status < 300) await res.body?.cancel()
      else error = `HTTP ${status}${await excerpt(res)}`
    } catch (e) {
      if (ctl.signal.reason === STOPPING) return 0 // not recorded: sent again after a restart
      status = undefined
      error = ctl.signal.aborted ? `no answer within ${timeoutMs} ms` : this.#scrub(r, e)
    } finally {
      clearTimeout(timer)
      r.inflight = undefined
    }
    const at = this.#now()
    const report = (a: Omit<WebhookAttempt, 'target' | 'transitionId' | 'attempt'>): void => this.#o.onAttempt?.({ target: r.target.name, transitionId: t.id, attempt, ...a })
    const outcome = outcomeOf(status)
    if (outcome === 'delivered') {
      this.#advance(r, t.id)
      r.delivered++
      report({ outcome: 'delivered', ...(status !== undefined ? { status } : {}) })
      return 0
    }
    const s = status !== undefined ? { status } : {}
    const reason = error ?? `HTTP ${status}`
    const exhausted = this.#o.maxAttempts !== undefined && attempt >= this.#o.maxAttempts
    if (outcome === 'give-up' || exhausted) {
      const why = outcome === 'give-up' ? reason : `${reason}; gave up after ${attempt} attempt(s)`
      store.giveUp({ target: r.target.name, transitionId: t.id, alarmId: t.alarmId, ...s, reason: why, attempts: attempt, at })
      r.cursor = { target: r.target.name, lastId: t.id, attempts: 0, nextAt: 0 }
      r.failed++
      this.#log(`${r.label}: FAILED to deliver transition ${t.id} (${t.alarmId} ${t.action.type}): ${why}; recorded in webhook_failures, moving on`)
      report({ outcome: 'failed', ...s, error: why })
      return 0
    }
    let delayMs = backoffDelay(attempt, this.#o.backoff ?? DEFAULT_BACKOFF, this.#random())
    if (status === 429 || status === 503) delayMs = Math.max(delayMs, parseRetryAfter(retryAfter, at) ?? 0)
    store.retry(r.target.name, t.id, attempt, at + delayMs, reason, at)
    r.cursor = { ...r.cursor, pendingId: t.id, attempts: attempt, nextAt: at + delayMs, lastError: reason }
    this.#log(`${r.label}: transition ${t.id} attempt ${attempt} failed (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`)
    report({ outcome: 'retry', ...s, error: reason, delayMs })
    return delayMs
  }

  #advance(r: Run, lastId: number): void {
    ;(this.#store as WebhookStore).advance(r.target.name, lastId, this.#now())
    r.cursor = { target: r.target.name, lastId, attempts: 0, nextAt: 0 }
  }

  /** Waits `ms` or until `notify()`/`stop()`; returns at once when notified since the last wait. */
  #sleep(r: Run, ms: number): Promise<void> {
    if (r.woken) {
      r.woken = false
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        r.wake = undefined
        r.woken = false
        resolve()
      }
      const timer = setTimeout(done, ms)
      r.wake = done
    })
  }

  /** An error message without the target's URL or secret (fetch errors can quote either). */
  #scrub(r: Run, e: unknown): string {
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : ''
    let m = `${e instanceof Error ? e.message : String(e)}${cause}`
    for (const s of [r.target.url, r.url, r.target.secret]) if (s) m = m.split(s).join('[redacted]')
    return m
  }
}

/** A short excerpt of an error response's body, for `last_error` and the failure row. */
async function excerpt(res: Response): Promise<string> {
  try {
    const text = (await res.text()).replace(/\s+/g, ' ').trim()
    return text ? `: ${text.slice(0, 200)}` : ''
  } catch {
    return ''
  }
}

/** The newest log id in O(log n) one-row reads: gallop past the end, then bisect. */
function probeEnd(source: TransitionSource): number {
  const after = (id: number): number | undefined => source.transitions(id, 1)[0]?.id
  let lo = 0
  let step = 1024
  for (let n = after(lo); n !== undefined; n = after(lo + step)) {
    lo = Math.max(lo, n)
    step *= 2
  }
  // lo is 0 or an existing id, and no id is > hi: narrow until they meet.
  let hi = lo + step
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    const n = after(mid)
    if (n === undefined) hi = mid
    else lo = n
  }
  return lo
}
