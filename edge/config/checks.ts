/**
 * What the schema cannot say about a gateway config, each problem at its field:
 *
 * - the broker URL: a supported scheme, a host, no credentials in it; `tls` only
 *   with an encrypted scheme, a client cert with its key, a password with a username;
 * - bus ids and device ids unique; every device on a bus that exists;
 * - RTU buses: a standard baud rate, one bus per serial port, unit ids 1–247;
 * - one unit id per bus among the enabled devices (a disabled device may keep
 *   the unit id of the one that replaced it);
 * - every device names a profile of the library, and its deadband overrides
 *   (and, on OPC UA, its nodes) name points of that profile;
 * - Modbus devices have a unit id and no nodes, OPC UA devices nodes and no unit id;
 *   an OPC UA security mode with a matching policy, a password with a username;
 * - poll intervals not below MIN_POLL_MS, slow not faster than fast, backoff
 *   not starting above its maximum.
 *
 * The checks run on the document even when parts of it break the schema, so
 * one run reports every problem: a check reads only fields that are `clean`
 * (no schema violation at or under them) and of the right type.
 *
 * Pure: no files, no environment.
 */
import { BAUD_RATES } from '../../shared/district/schema.ts'
import { escapePointer } from '../../shared/schema/violations.ts'
import type { SourceIssue } from '../../shared/yaml/issue.ts'
import type { Anchor, PathSegment } from '../../shared/yaml/positions.ts'
import { issueAt, type YamlText } from '../../shared/yaml/source.ts'
import { closest } from '../../shared/yaml/suggest.ts'
import { BROKER_SCHEMES, DEFAULTS, MIN_POLL_MS, TLS_SCHEMES } from './schema.ts'

/** What the config checks need to know of a firmware profile. */
export interface ProfileFacts {
  readonly points: readonly { readonly name: string }[]
  readonly heartbeatS?: number
}

export interface CheckOptions {
  /** The profile library by id; without it, device profiles are not checked. */
  profiles?: ReadonlyMap<string, ProfileFacts>
  /** How messages name the library: `shipped profile`, `profile in ./profiles`. */
  profileKind: string
  /** Where to see the library: "`muni profiles list` shows them". */
  profilesHint: string
}

/** Modbus over Serial Line v1.02 §2.2: 0 is broadcast, 248–255 are reserved. */
const RTU_UNITS = { min: 1, max: 247 }

/** Every problem the schema cannot see. `clean(pointer)` is false for fields with schema violations. */
export function checkConfig(src: YamlText, clean: (pointer: string) => boolean, options: CheckOptions): SourceIssue[] {
  const issues: SourceIssue[] = []
  const problem = (path: PathSegment[], reason: string, anchor: Anchor = 'value'): void => void issues.push(issueAt(src, path, anchor, reason))
  const lineOf = (path: PathSegment[]): number => issueAt(src, path, 'value', '').line
  const ok = (path: PathSegment[]): boolean => clean(pointer(path))
  const raw = (path: PathSegment[]): unknown => valueAt(src.value, path)
  const str = (path: PathSegment[]): string | undefined => {
    const v = raw(path)
    return typeof v === 'string' && ok(path) ? v : undefined
  }
  const int = (path: PathSegment[]): number | undefined => {
    const v = raw(path)
    return typeof v === 'number' && ok(path) ? v : undefined
  }

  // --- broker ---
  const url = str(['broker', 'url'])
  let scheme: string | undefined
  if (url !== undefined) {
    // The URL is never quoted in a message: it might carry a password.
    let u: URL | undefined
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) problem(['broker', 'url'], 'must start with mqtt://, mqtts://, ws:// or wss://')
    else {
      try {
        u = new URL(url)
      } catch {
        problem(['broker', 'url'], 'is not a valid URL')
      }
    }
    if (u) {
      const s = u.protocol.slice(0, -1).toLowerCase()
      if (!(BROKER_SCHEMES as readonly string[]).includes(s)) problem(['broker', 'url'], `scheme "${s}" is not supported; use mqtt://, mqtts://, ws:// or wss://`)
      else if (u.username !== '' || u.password !== '') problem(['broker', 'url'], 'credentials do not belong in the URL; use broker.username and broker.passwordEnv')
      else if (u.hostname === '') problem(['broker', 'url'], 'has no host')
      else scheme = s
    }
  }
  const tls = raw(['broker', 'tls'])
  if (isRecord(tls)) {
    if (scheme !== undefined && !TLS_SCHEMES.includes(scheme)) {
      problem(['broker', 'tls'], `applies only to mqtts:// and wss:// URLs; broker.url is ${scheme}:// (not encrypted)`, 'key')
    }
    if (tls.cert !== undefined && tls.key === undefined) problem(['broker', 'tls', 'cert'], 'needs tls.key, the private key of the client certificate', 'key')
    if (tls.key !== undefined && tls.cert === undefined) problem(['broker', 'tls', 'key'], 'needs tls.cert, the client certificate of this private key', 'key')
  }
  if (raw(['broker', 'passwordEnv']) !== undefined && raw(['broker', 'username']) === undefined && isRecord(raw(['broker']))) {
    // MQTT 3.1.1 §3.1.2.9: the password flag must be 0 when the user name flag is 0.
    problem(['broker', 'passwordEnv'], 'a password needs broker.username (MQTT 3.1.1 §3.1.2.9)', 'key')
  }

  // --- poll intervals and backoff ---
  const minPoll = (path: PathSegment[]): number | undefined => {
    const n = int(path)
    if (n !== undefined && n < MIN_POLL_MS) {
      problem(path, `${n} ms is below the minimum poll interval of ${MIN_POLL_MS} ms`)
      return undefined
    }
    return n
  }
  const ordered = (fastPath: PathSegment[], fast: number | undefined, slowPath: PathSegment[], slow: number | undefined, fastIs: number, slowIs: number): void => {
    if (fast === undefined && slow === undefined) return
    const f = fast ?? fastIs
    const s = slow ?? slowIs
    if (s >= f) return
    if (slow !== undefined) problem(slowPath, `${s} ms is shorter than the fast interval ${f} ms; slow points are polled less often than fast ones`)
    else problem(fastPath, `${f} ms is longer than the slow interval ${s} ms; fast points are polled more often than slow ones`)
  }
  const dFast = minPoll(['defaults', 'pollMs', 'fast'])
  const dSlow = minPoll(['defaults', 'pollMs', 'slow'])
  ordered(['defaults', 'pollMs', 'fast'], dFast, ['defaults', 'pollMs', 'slow'], dSlow, DEFAULTS.pollMs.fast, DEFAULTS.pollMs.slow)
  const fastIs = dFast ?? DEFAULTS.pollMs.fast
  const slowIs = dSlow ?? DEFAULTS.pollMs.slow
  const bInitial = int(['defaults', 'backoff', 'initialMs'])
  const bMax = int(['defaults', 'backoff', 'maxMs'])
  if (bInitial !== undefined || bMax !== undefined) {
    const i = bInitial ?? DEFAULTS.backoff.initialMs
    const m = bMax ?? DEFAULTS.backoff.maxMs
    if (i > m) {
      if (bInitial !== undefined) problem(['defaults', 'backoff', 'initialMs'], `${i} ms is longer than backoff.maxMs ${m} ms`)
      else problem(['defaults', 'backoff', 'maxMs'], `${m} ms is shorter than backoff.initialMs ${i} ms`)
    }
  }

  // --- buses ---
  const buses = listAt(src.value, ['buses'])
  const busFirst = new Map<string, number>()
  const busType = new Map<string, unknown>()
  const serialFirst = new Map<string, number>()
  buses.forEach((b, i) => {
    if (!isRecord(b)) return
    // Any written id counts as a known bus, so a device is not blamed for its bus's bad id.
    if (typeof b.id === 'string' && !busType.has(b.id)) busType.set(b.id, b.type)
    const id = str(['buses', i, 'id'])
    if (id !== undefined) {
      const prev = busFirst.get(id)
      if (prev === undefined) busFirst.set(id, i)
      else problem(['buses', i, 'id'], `duplicate bus id "${id}" (first at line ${lineOf(['buses', prev, 'id'])})`)
    }
    if (b.type === 'opcua') return checkOpcuaBus(i, b)
    if (b.type !== 'rtu') return
    const baud = int(['buses', i, 'baud'])
    if (baud !== undefined && !(BAUD_RATES as readonly number[]).includes(baud)) {
      problem(['buses', i, 'baud'], `${baud} is not a standard baud rate; use one of ${BAUD_RATES.join(', ')}`)
    }
    const path = str(['buses', i, 'path'])
    if (path !== undefined) {
      const prev = serialFirst.get(path)
      if (prev === undefined) serialFirst.set(path, i)
      else {
        const other = valueAt(src.value, ['buses', prev, 'id'])
        problem(['buses', i, 'path'], `${path} is already the port of bus "${String(other)}" (line ${lineOf(['buses', prev, 'path'])}); one serial port is one bus`)
      }
    }
    const gap = int(['buses', i, 'interFrameMs'])
    if (gap !== undefined && baud !== undefined && (BAUD_RATES as readonly number[]).includes(baud)) {
      const least = interFrameMs(baud)
      if (gap < least) {
        problem(['buses', i, 'interFrameMs'], `${gap} ms is shorter than the ${least} ms of silence that ends an RTU frame at ${baud} baud (Modbus over Serial Line v1.02 §2.5.1.1)`)
      }
    }
  })

  function checkOpcuaBus(i: number, b: Record<string, unknown>): void {
    // OPC UA Part 4 §7.20: a mode without security has no policy, and a signed channel needs one.
    const mode = str(['buses', i, 'securityMode'])
    const policy = str(['buses', i, 'securityPolicy'])
    const m = mode ?? DEFAULTS.opcua.securityMode
    const p = policy ?? DEFAULTS.opcua.securityPolicy
    if (m === 'None' && p !== 'None') problem(['buses', i, 'securityPolicy'], `${p} needs securityMode Sign or SignAndEncrypt; securityMode is None`)
    if (m !== 'None' && p === 'None') problem(['buses', i, policy === undefined ? 'securityMode' : 'securityPolicy'], `securityMode ${m} needs a securityPolicy, e.g. Basic256Sha256`)
    if (b.passwordEnv !== undefined && b.username === undefined) problem(['buses', i, 'passwordEnv'], 'a password needs username', 'key')
  }

  /** Point names of `field` (deadband, nodes) that the device's profile does not have. */
  const knownPoints = (i: number, field: 'deadband' | 'nodes', profile: ProfileFacts | undefined, profileId: string | undefined): void => {
    const map = raw(['devices', i, field])
    if (!profile || profileId === undefined || !isRecord(map)) return
    const names = profile.points.map((p) => p.name)
    for (const point of Object.keys(map)) {
      if (names.includes(point)) continue
      const guess = closest(point, names)
      problem(['devices', i, field, point], `profile ${profileId} has no point "${point}" (${guess === undefined ? `\`muni profiles show ${profileId}\` lists them` : `did you mean "${guess}"?`})`, 'key')
    }
  }

  // --- devices ---
  const devices = listAt(src.value, ['devices'])
  const deviceFirst = new Map<string, number>()
  const unitFirst = new Map<string, number>()
  const knownBuses = [...busFirst.keys()]
  devices.forEach((d, i) => {
    if (!isRecord(d)) return
    const id = str(['devices', i, 'id'])
    if (id !== undefined) {
      const prev = deviceFirst.get(id)
      if (prev === undefined) deviceFirst.set(id, i)
      else problem(['devices', i, 'id'], `duplicate device id "${id}" (first at line ${lineOf(['devices', prev, 'id'])})`)
    }

    const bus = str(['devices', i, 'bus'])
    const unit = int(['devices', i, 'unit'])
    const opcua = bus !== undefined && busType.get(bus) === 'opcua'
    if (opcua && d.unit !== undefined) problem(['devices', i, 'unit'], `bus "${bus}" is OPC UA: its devices have no unit id; name the node of each point in nodes`, 'key')
    if (opcua && d.nodes === undefined) problem(['devices', i, 'nodes'], `is required on OPC UA bus "${bus}": the node of each point, e.g. pressure_bar: "ns=1;s=Pump1.Pressure"`, 'parent')
    if (bus !== undefined && busType.has(bus) && !opcua) {
      if (d.unit === undefined) problem(['devices', i, 'unit'], `is required on Modbus bus "${bus}"`, 'parent')
      if (d.nodes !== undefined) problem(['devices', i, 'nodes'], `only OPC UA devices have nodes; bus "${bus}" is Modbus`, 'key')
    }
    if (bus !== undefined && !busType.has(bus)) {
      problem(['devices', i, 'bus'], `no bus "${bus}" (${knownBuses.length > 0 ? `buses: ${knownBuses.join(', ')}` : 'no bus is defined'})`)
    } else if (bus !== undefined && unit !== undefined) {
      if (busType.get(bus) === 'rtu' && (unit < RTU_UNITS.min || unit > RTU_UNITS.max)) {
        const what = unit === 0 ? 'the broadcast address' : 'reserved'
        problem(['devices', i, 'unit'], `unit ${unit} is ${what} on RTU bus "${bus}"; a device there has a unit id from 1 to 247 (Modbus over Serial Line v1.02 §2.2)`)
      } else if (d.enabled !== false) {
        // Two devices answering one unit id garble each other's replies.
        const key = `${bus}\u0000${unit}`
        const prev = unitFirst.get(key)
        if (prev === undefined) unitFirst.set(key, i)
        else {
          const other = valueAt(src.value, ['devices', prev, 'id'])
          problem(['devices', i, 'unit'], `unit ${unit} is already used on bus "${bus}" by "${String(other)}" (line ${lineOf(['devices', prev, 'unit'])})`)
        }
      }
    }

    const profileId = str(['devices', i, 'profile'])
    const profile = profileId === undefined ? undefined : options.profiles?.get(profileId)
    if (profileId !== undefined && options.profiles && profile === undefined) {
      problem(['devices', i, 'profile'], unknownProfile(profileId, [...options.profiles.keys()], options))
    }
    knownPoints(i, 'deadband', profile, profileId)
    knownPoints(i, 'nodes', profile, profileId)

    if (d.pollMs !== undefined && d.poll !== undefined) {
      problem(['devices', i, 'poll'], 'give either pollMs (one interval for every point) or poll (an interval per poll class), not both', 'key')
    }
    minPoll(['devices', i, 'pollMs'])
    const fast = minPoll(['devices', i, 'poll', 'fast'])
    const slow = minPoll(['devices', i, 'poll', 'slow'])
    ordered(['devices', i, 'poll', 'fast'], fast, ['devices', i, 'poll', 'slow'], slow, fastIs, slowIs)
  })
  return issues
}

/**
 * Silence that ends an RTU frame, ms: 3.5 character times of 11 bits, fixed at
 * 1.75 ms above 19200 baud (Modbus over Serial Line v1.02 §2.5.1.1), rounded up to 0.01 ms.
 */
export function interFrameMs(baud: number): number {
  return baud > 19200 ? 1.75 : Math.ceil((3.5 * 11 * 100_000) / baud) / 100
}

/** "x@1.5 is not a shipped profile; x@1.4, x@2.1 are" — the other firmware versions of the model first. */
function unknownProfile(id: string, known: readonly string[], options: CheckOptions): string {
  const model = id.split('@')[0] ?? id
  const byVersion = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true })
  const sameModel = known.filter((k) => k.split('@')[0] === model).sort(byVersion)
  const head = `${id} is not a ${options.profileKind}`
  if (sameModel.length > 0) return `${head}; ${sameModel.join(', ')} ${sameModel.length === 1 ? 'is' : 'are'}`
  const near = closest(id, known)
  return near === undefined ? `${head} (${options.profilesHint})` : `${head}; did you mean ${near}?`
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let cur = root
  for (const seg of path) {
    if (typeof seg === 'number') cur = Array.isArray(cur) ? cur[seg] : undefined
    else cur = isRecord(cur) ? cur[seg] : undefined
  }
  return cur
}

function listAt(root: unknown, path: readonly PathSegment[]): unknown[] {
  const v = valueAt(root, path)
  return Array.isArray(v) ? v : []
}

/** The JSON pointer of a field path (`['devices', 3, 'unit']` → `/devices/3/unit`). */
export function pointer(path: readonly PathSegment[]): string {
  return path.map((s) => `/${escapePointer(String(s))}`).join('')
}
