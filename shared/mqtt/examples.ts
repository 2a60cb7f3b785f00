/**
 * One realistic, valid message of every kind, as published by gateway `gw-01` of site
 * `north`. Tests start from these (and break them on purpose); simulators and people
 * reading the contract can too. docs/wire-contract.md carries the same kind of examples
 * as JSON, checked by a test.
 */
import type { MessageByKind } from './messages.ts'

/** The site of every example. */
export const EXAMPLE_SITE = 'north'
/** The gateway of every example. */
export const EXAMPLE_GATEWAY = 'gw-01'

/** 2025-11-25T06:40:00Z, the connect time of the examples' session. */
const T0 = 1_764_052_800_000

const all: MessageByKind = {
  telemetry: {
    gateway: EXAMPLE_GATEWAY,
    seq: 18_442,
    sentAt: T0 + 60_250,
    readings: [
      {
        device: 'mc-0042',
        ts: T0 + 60_000,
        values: { cover_open: false, tilt_deg: 0.4, battery_v: 3.61 },
        errors: {},
        historical: false,
      },
      {
        device: 'pp-0113',
        ts: T0 + 60_010,
        values: { temperature_c: 11.5 },
        errors: { pressure_bar: { code: 'sentinel', raw: 65535 } },
        historical: false,
      },
      {
        device: 'wl-0007',
        ts: T0 - 3_600_000,
        values: { level_m: 1.27 },
        errors: {},
        historical: true,
      },
    ],
  },
  state: { state: 'online', session: 57, ts: T0 + 120 },
  birth: {
    gateway: EXAMPLE_GATEWAY,
    site: EXAMPLE_SITE,
    session: 57,
    ts: T0 + 100,
    agent: { name: 'muni-edge', version: '0.1.0' },
    devices: [
      {
        device: 'mc-0042',
        profile: 'acme-mc200@1.4',
        firmware: '1.4',
        kind: 'manhole-cover',
        bus: 'rs485-1',
        unit: 3,
        location: { lat: 52.5201, lon: 13.4049 },
        asset: 'MH-N-0042',
      },
      { device: 'pp-0113', profile: 'presso-pt3@3.0', firmware: '3.0', kind: 'pipe-pressure', bus: 'tcp://10.20.0.13:502', unit: 1 },
    ],
  },
  events: {
    device: 'pp-0113',
    ts: T0 + 75_000,
    event: 'unavailable',
    reason: '3 consecutive polls without an answer',
    error: { code: 'timeout' },
  },
  command: { type: 'write', id: 'cmd-7f3a', ts: T0 + 90_000, timeoutMs: 10_000, device: 'mc-0042', point: 'alarm_enable', value: true },
  'command/response': {
    id: 'cmd-7f3a',
    ts: T0 + 90_140,
    ok: true,
    result: { device: 'mc-0042', ts: T0 + 90_130, values: { alarm_enable: true }, errors: {}, historical: false },
  },
}

/** A valid message of every kind. Treat as read-only: tests copy with `structuredClone` before editing. */
export const examples: Readonly<MessageByKind> = Object.freeze(all)
