/**
 * `muni sim`: simulated Modbus field devices, from one firmware profile or a whole
 * district, driven by physical models, scenarios, faults or a recording.
 *
 * Live runs print one JSON line per device on stdout (where a client finds it) and
 * run until SIGINT/SIGTERM or `--duration`; status and problems go to stderr. Exit
 * codes: 0 after a clean stop, 1 for a bad file (district, scenario, recording) or a
 * bus that cannot start, 2 for bad usage (options, fault syntax).
 */
import { relative, resolve } from 'node:path'
import { Command, Option } from 'commander'
import { formatIssue, type ProfileIssue } from '../../shared/profile/parse.ts'
import type { ResolvedProfile } from '../../shared/profile/resolve.ts'
import { SAMPLE_DISTRICT_FILE, loadDistrictFile } from '../districts/load.ts'
import { RecordingError } from '../replay/format.ts'
import { onStopSignal } from '../replay/signals.ts'
import { loadScenarioFile } from '../scenarios/load.ts'
import { formatClock, timeFromText, type Scenario } from '../scenarios/scenario.ts'
import { targetDevices } from '../scenarios/timeline.ts'
import { dumpLines } from '../runner/dump.ts'
import type { SimProblem } from '../runner/entity.ts'
import { FAULT_FORMS, parseTargetedFault } from '../runner/fault-spec.ts'
import { SHIPPED_PROFILES_DIR, loadProfileLibrary, scenarioFileFor, shippedScenarioNames } from '../runner/load.ts'
import { planDistrict, planProfile, relocateTcp, type Parity, type SimPlan } from '../runner/plan.ts'
import { Runner, type RunnerOptions } from '../runner/runner.ts'
import { Simulation } from '../runner/simulation.ts'

interface SimOptions {
  profile?: string
  tcp?: string
  rtu?: string
  unit?: string[]
  baud?: string
  parity?: string
  stopBits?: string
  district?: string
  scenario?: string
  speed?: string
  scenarioSpeed?: string
  scenarioFrom?: string
  seed?: string
  fault?: string[]
  host?: string
  portOffset?: string
  freePorts?: boolean
  replay?: string
  dump?: boolean
  duration?: string
  step?: string
  profilesDir?: string
  unmapped?: string
}

/** Bad usage: printed by commander as `error: …`, exit code 2. */
class UsageError extends Error {}

const out = (s: string): void => void process.stdout.write(`${s}\n`)
const err = (s: string): void => void process.stderr.write(`${s}\n`)
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v]

const DEFAULT_PORT_OFFSET = 5000
const DEFAULT_DUMP_STEP_S = 60

export function command(): Command {
  const cmd = new Command('sim')
    .description('serve simulated Modbus devices from profiles: one device, or a whole district with scenarios and faults')
    .addOption(new Option('--profile <id>', 'one profile behind --tcp or --rtu (e.g. cividrain-mc200@1.4)').conflicts(['district', 'replay', 'scenario']))
    .addOption(new Option('--tcp <host:port>', 'with --profile: serve Modbus TCP here (port 0: a free port, printed)').conflicts('rtu'))
    .option('--rtu <path>', 'with --profile: serve Modbus RTU on this serial device or pty end')
    .option('--unit <n>', 'with --profile: a unit id to serve, 1–247 (repeat for several; default 1)', collect)
    .option('--baud <n>', 'with --rtu: bits per second (default 9600)')
    .option('--parity <p>', 'with --rtu: none, even or odd (default even, the Modbus default)')
    .option('--stop-bits <n>', 'with --rtu: 1 or 2 (default 1)')
    .option('--district <file>', `a district description (default: the sample, ${display(SAMPLE_DISTRICT_FILE)})`)
    .option('--scenario <name|file>', `a scenario file, or a shipped one: ${shippedScenarioNames().join(', ')}`)
    .option('--speed <n>', 'simulated seconds per wall-clock second (default 1; 0 holds t = 0); with --replay, times faster than recorded')
    .option('--scenario-speed <n>', 'play the --scenario at this speed on the devices it plays on (its rain and events, and covers linked to those gauges); the rest of the district runs at --speed without it')
    .option('--scenario-from <time>', "start the --scenario part-way, at this simulated time: seconds (2700) or H:MM:SS (0:45:00), as in scenario files. The devices it plays on start in exactly the state a run from 0 has then (stepped there at start, as fast as the machine goes)")
    .option('--seed <s>', "seed of the models' noise (default: the scenario's, else 1)")
    .option('--fault <[device=]kind[:param]>', `a device fault (repeatable; without DEVICE= on every device): ${FAULT_FORMS.join(' | ')}`, collect)
    .option('--host <addr>', 'district TCP buses listen on this address (default 127.0.0.1)')
    .option('--port-offset <n>', `district TCP buses listen on their port + N (default ${DEFAULT_PORT_OFFSET}: 502 → ${502 + DEFAULT_PORT_OFFSET}; buses sharing a port take the next ones)`)
    .option('--free-ports', 'district TCP buses listen on ports the OS picks (printed)')
    .option('--replay <file>', 'serve the values of a recording (muni record) by device id, with its timing')
    .option('--dump', 'no servers: print the register images as NDJSON, every --step simulated seconds up to --duration')
    .option('--duration <s>', 'live: stop after S wall-clock seconds; --dump: simulated seconds to dump (default: the scenario’s duration, else 0)')
    .option('--step <s>', `--dump: simulated seconds between images (default ${DEFAULT_DUMP_STEP_S})`)
    .addOption(new Option('--unmapped <answer>', 'what a read of registers no profile point maps gets: exception (02, as most devices; default) or zeros').choices(['exception', 'zeros']))
    .option('--profiles-dir <dir>', `firmware profiles folder (default ${display(SHIPPED_PROFILES_DIR)}, or $MUNI_PROFILES_DIR)`)
    .addHelpText(
      'after',
      `
Examples:
  muni sim --profile cividrain-mc200@1.4 --tcp 127.0.0.1:5020 --unit 1 --unit 2 --fault exception:4
  muni sim --profile hydrolux-rl80@2.3 --rtu /tmp/ttyA --baud 9600 --parity none --unit 1 --unit 2
  muni sim --district simulators/districts/sample.yaml --scenario storm --speed 60 --fault wl-cwm-01=no-response
  muni sim --scenario storm --scenario-speed 60      (the storm at 60× on the gauges, the rest live)
  muni sim --scenario storm --scenario-speed 60 --scenario-from 0:45:00   (the same, 15 simulated minutes before the rain)
  muni sim --replay storm.ndjson --speed 10
  muni sim --dump --scenario pipe-burst --seed 7 --duration 3600 --step 60

Live runs print one JSON line per device on stdout:
  {"device","gateway","bus","profile","unit","transport":"tcp","host","port"}
  {"device","gateway","bus","profile","unit","transport":"rtu","path","baud","parity","stopBits"}
With --scenario-speed, the lines of the devices that play the scenario also carry "scenarioSpeed": N.
With --rtu, "path" is the PATH given. RTU buses of a district whose path is not a serial device here
get a socat pty pair; "path" is then the end for clients to open.
Stops cleanly on SIGINT/SIGTERM (exit 0). Exit 1: a bad file or a bus that cannot start; 2: bad usage.`,
    )
    .action(async (opts: SimOptions) => {
      try {
        process.exitCode = await sim(opts)
      } catch (e) {
        if (e instanceof UsageError) cmd.error(`error: ${e.message}`, { exitCode: 2, code: 'muni.sim.usage' })
        throw e
      }
    })
  return cmd
}

async function sim(o: SimOptions): Promise<number> {
  const mode = o.profile !== undefined ? 'profile' : 'district'
  if (mode === 'district') {
    for (const [flag, given] of [['--tcp', o.tcp], ['--rtu', o.rtu], ['--baud', o.baud], ['--parity', o.parity], ['--stop-bits', o.stopBits]] as const) {
      if (given !== undefined) throw new UsageError(`${flag} needs --profile (a district names its own buses)`)
    }
    if ((o.unit ?? []).length > 0) throw new UsageError('--unit needs --profile (a district names its own unit ids)')
  } else {
    if (o.tcp === undefined && o.rtu === undefined && !o.dump) throw new UsageError('--profile needs --tcp HOST:PORT or --rtu PATH')
    for (const [flag, given] of [['--host', o.host], ['--port-offset', o.portOffset], ['--free-ports', o.freePorts]] as const) {
      if (given !== undefined) throw new UsageError(`${flag} applies to district TCP buses; with --profile give --tcp HOST:PORT`)
    }
  }
  if (o.replay !== undefined && (o.dump || o.scenario !== undefined)) throw new UsageError('--replay serves a recording: it takes no --scenario or --dump')
  if (o.dump && o.replay === undefined && (o.host !== undefined || o.freePorts || o.portOffset !== undefined)) throw new UsageError('--dump starts no servers: drop --host/--port-offset/--free-ports')
  if (o.step !== undefined && !o.dump) throw new UsageError('--step applies to --dump')
  if (o.scenarioSpeed !== undefined && (o.scenario === undefined || o.dump)) throw new UsageError('--scenario-speed applies to a live run with --scenario')
  if (o.scenarioFrom !== undefined && (o.scenario === undefined || o.dump)) throw new UsageError('--scenario-from applies to a live run with --scenario')

  const speed = o.speed === undefined ? 1 : number('--speed', o.speed, { min: 0 })
  if (o.replay !== undefined && !(speed > 0)) throw new UsageError('--speed must be above 0 with --replay')
  const scenarioSpeed = o.scenarioSpeed === undefined ? undefined : number('--scenario-speed', o.scenarioSpeed, { min: 0, above: true })
  let scenarioFrom: number | undefined
  try {
    scenarioFrom = o.scenarioFrom === undefined ? undefined : timeFromText(o.scenarioFrom)
  } catch (e) {
    throw new UsageError(`--scenario-from ${(e as Error).message}`)
  }
  const seed = o.seed === undefined ? undefined : /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed
  const faults = (o.fault ?? []).map((text) => {
    const r = parseTargetedFault(text)
    if (!r.ok) throw new UsageError(`--fault "${text}": ${r.reason}. Accepted: [DEVICE=]${FAULT_FORMS.join(' | ')}`)
    return r
  })

  const lib = loadProfileLibrary(o.profilesDir ?? SHIPPED_PROFILES_DIR)
  if (lib.profiles.size === 0) {
    printIssues(lib.issues)
    err(`sim: no valid profile in ${o.profilesDir ?? SHIPPED_PROFILES_DIR}`)
    return 1
  }

  if (lib.issues.length > 0) err(`sim: ${lib.issues.length} problem(s) in the profiles, those files are left out (see \`muni profiles validate\`)`)

  let plan: SimPlan
  let scenario: Scenario | undefined
  if (mode === 'profile') {
    const profile = lib.profiles.get(o.profile ?? '')
    if (!profile) throw new UsageError(`unknown profile "${o.profile}"; known: ${[...lib.profiles.keys()].sort().join(', ')}`)
    plan = profilePlan(profile, o)
  } else {
    const file = o.district ?? SAMPLE_DISTRICT_FILE
    const d = loadDistrictFile(file, { profiles: lib.profiles })
    if (!d.district) {
      printIssues(d.issues)
      err(`sim: ${d.issues.length} problem(s) in ${file}`)
      return 1
    }
    plan = planDistrict(d.district, lib.profiles)
    if (!o.dump || o.replay !== undefined) {
      const free = o.freePorts === true
      if (free && o.portOffset !== undefined) throw new UsageError('give --port-offset or --free-ports, not both')
      plan = relocateTcp(plan, {
        host: o.host ?? '127.0.0.1',
        portOffset: o.portOffset === undefined ? DEFAULT_PORT_OFFSET : number('--port-offset', o.portOffset, { min: 0, integer: true }),
        freePorts: free,
      })
    }
    if (o.scenario !== undefined) {
      const sf = scenarioFileFor(o.scenario)
      if (sf === undefined) throw new UsageError(`--scenario "${o.scenario}": no such file and no shipped scenario of that name (${shippedScenarioNames().join(', ')})`)
      const s = loadScenarioFile(sf, { devices: targetDevices(d.district) })
      if (!s.scenario) {
        printIssues(s.issues)
        err(`sim: ${s.issues.length} problem(s) in ${sf}`)
        return 1
      }
      scenario = s.scenario
      if (scenarioFrom !== undefined && scenarioFrom >= scenario.durationS) {
        throw new UsageError(`--scenario-from ${formatClock(scenarioFrom)} is not before the end of scenario ${scenario.name} (${formatClock(scenario.durationS)})`)
      }
    }
  }
  for (const f of faults) {
    if (f.device !== undefined && !plan.devices.some((d) => d.id === f.device)) {
      throw new UsageError(`--fault: no device "${f.device}"; devices: ${plan.devices.map((d) => d.id).join(', ')}`)
    }
  }

  const problems = (p: SimProblem): void => err(`sim: ${p.device}${p.point ? `.${p.point}` : ''}: ${p.message}`)
  if (o.dump) {
    const durationS = o.duration === undefined ? (scenario?.durationS ?? 0) : number('--duration', o.duration, { min: 0 })
    const stepS = o.step === undefined ? DEFAULT_DUMP_STEP_S : number('--step', o.step, { min: 0, above: true })
    let s: Simulation
    try {
      s = new Simulation({ devices: plan.devices, ...(scenario ? { scenario } : {}), ...(seed === undefined ? {} : { seed }), onProblem: problems })
    } catch (e) {
      err(`sim: ${(e as Error).message}`)
      return 1
    }
    for (const e of s.entities.values()) for (const f of faults) if (f.device === undefined || f.device === e.id) e.setFault(f.fault)
    for (const line of dumpLines(s, durationS, stepS)) out(line)
    return 0
  }
  const durationS = o.duration === undefined ? undefined : number('--duration', o.duration, { min: 0, above: true })
  return serve({ plan, speed, faults, onProblem: problems, ...(o.unmapped === undefined ? {} : { unmapped: o.unmapped as 'exception' | 'zeros' }), ...(scenario ? { scenario } : {}), ...(scenarioSpeed === undefined ? {} : { scenarioSpeed }), ...(scenarioFrom === undefined ? {} : { scenarioFrom }), ...(seed === undefined ? {} : { seed }), ...(o.replay === undefined ? {} : { replay: o.replay }) }, durationS)
}

function profilePlan(profile: ResolvedProfile, o: SimOptions): SimPlan {
  const units = (o.unit?.length ? o.unit : ['1']).map((u) => number('--unit', u, { min: 1, max: 247, integer: true }))
  const dup = units.find((u, i) => units.indexOf(u) !== i)
  if (dup !== undefined) throw new UsageError(`--unit ${dup} is given twice`)
  if (o.rtu !== undefined) {
    const parity = o.parity ?? 'even'
    if (!['none', 'even', 'odd'].includes(parity)) throw new UsageError(`--parity must be none, even or odd, not "${parity}"`)
    const stopBits = o.stopBits === undefined ? 1 : number('--stop-bits', o.stopBits, { min: 1, max: 2, integer: true })
    const baud = o.baud === undefined ? 9600 : number('--baud', o.baud, { min: 300, max: 4_000_000, integer: true })
    return planProfile(profile, units, { type: 'rtu', path: o.rtu, baud, parity: parity as Parity, stopBits: stopBits as 1 | 2, serve: 'path' })
  }
  for (const [flag, given] of [['--baud', o.baud], ['--parity', o.parity], ['--stop-bits', o.stopBits]] as const) {
    if (given !== undefined) throw new UsageError(`${flag} applies to --rtu`)
  }
  if (o.tcp === undefined) return planProfile(profile, units, { type: 'tcp', host: '127.0.0.1', port: 0 })
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(o.tcp)
  const port = m ? Number(m[3]) : NaN
  if (!m || !(port >= 0 && port <= 65535)) throw new UsageError(`--tcp "${o.tcp}" is not HOST:PORT (e.g. 127.0.0.1:5020, or port 0 for a free one)`)
  return planProfile(profile, units, { type: 'tcp', host: m[1] ?? m[2] ?? '127.0.0.1', port })
}

/** Starts the runner, prints the endpoints, and waits for a signal or the duration. */
async function serve(opts: RunnerOptions, durationS: number | undefined): Promise<number> {
  const runner = new Runner(opts)
  let stopping: ((why: string) => void) | undefined
  const stopped = new Promise<string>((resolve) => (stopping = resolve))
  const signal = onStopSignal((s) => stopping?.(s))
  try {
    let endpoints
    try {
      endpoints = await runner.start()
    } catch (e) {
      err(e instanceof RecordingError ? e.message : `sim: ${(e as Error).message}`)
      return 1
    }
    for (const ep of endpoints) out(JSON.stringify(ep))
    const buses = new Set(endpoints.map((e) => `${e.gateway}/${e.bus}`)).size
    const played = endpoints.filter((e) => e.scenarioSpeed !== undefined).length
    const from = opts.scenarioFrom === undefined ? '' : ` from ${formatClock(opts.scenarioFrom)}`
    const how =
      opts.replay !== undefined
        ? `replaying ${opts.replay} at ${opts.speed ?? 1}×`
        : opts.scenario && opts.scenarioSpeed !== undefined
          ? `scenario ${opts.scenario.name}${from} at ${opts.scenarioSpeed}× on ${played} device(s), the rest at speed ${opts.speed ?? 1}×, seed ${String(runner.simulation.seed)}`
          : `${opts.scenario ? `scenario ${opts.scenario.name}${from}, ` : ''}speed ${opts.speed ?? 1}×, seed ${String(runner.simulation.seed)}`
    if (opts.scenarioSpeed !== undefined && played === 0) err(`sim: scenario ${opts.scenario?.name} plays on no device of this district: everything runs at speed ${opts.speed ?? 1}×`)
    err(`sim: ${endpoints.length} device(s) on ${buses} bus(es), ${how}; ${durationS === undefined ? 'Ctrl-C to stop' : `stopping after ${durationS} s`}`)
    void runner.replayDone?.then((r) => {
      if (r.outcome === 'finished') err(`sim: replay finished: ${r.served} reading(s) served; devices keep their last values until stopped`)
    })
    const timer = durationS === undefined ? undefined : setTimeout(() => stopping?.('duration'), durationS * 1000)
    const why = await stopped
    clearTimeout(timer)
    err(`sim: stopping (${why})`)
    return 0
  } finally {
    signal.dispose()
    await runner.stop()
  }
}

/** A path relative to the working directory when inside it. */
function display(p: string): string {
  const rel = relative(process.cwd(), resolve(p))
  return rel.startsWith('..') ? resolve(p) : rel
}

function printIssues(issues: readonly ProfileIssue[]): void {
  for (const i of issues) err(i.line > 0 ? formatIssue(i) : `${i.file}: ${i.reason}`)
}

function number(flag: string, text: string, c: { min?: number; max?: number; integer?: boolean; above?: boolean }): number {
  const n = Number(text)
  const what = `${c.integer ? 'an integer' : 'a number'}${c.min !== undefined ? ` ${c.above ? 'above' : 'from'} ${c.min}` : ''}${c.max !== undefined ? ` to ${c.max}` : ''}`
  const bad =
    text.trim() === '' ||
    !Number.isFinite(n) ||
    (c.integer === true && !Number.isInteger(n)) ||
    (c.min !== undefined && (c.above ? n <= c.min : n < c.min)) ||
    (c.max !== undefined && n > c.max)
  if (bad) throw new UsageError(`${flag} must be ${what}, not "${text}"`)
  return n
}

