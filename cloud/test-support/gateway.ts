/**
 * A stand-in gateway for cloud tests that must know exactly which messages a broker
 * acknowledged: mqtt.js with a persistent session publishes a birth, then numbered
 * telemetry batches (50 readings each, distinct sample times), and records the seq of
 * every batch whose PUBACK it received. mqtt.js keeps unacknowledged QoS 1 messages and
 * resends them (same packet, same seq) after a reconnect, as the edge agent's outbox does.
 * The real edge agent is exercised by the end-to-end demo test.
 */
import mqtt, { type MqttClient } from 'mqtt'
import { encode, topics, type Birth, type TelemetryBatch } from '../../shared/mqtt/index.ts'

export const READINGS_PER_BATCH = 50
export const DEVICES = ['wl-1', 'pp-1'] as const

export function birthOf(site: string, gateway: string): Birth {
  return {
    gateway,
    site,
    session: 1,
    ts: Date.now(),
    agent: { name: 'test-gateway', version: '0' },
    devices: [
      { device: 'wl-1', profile: 'hydrolux-rl80@2.3', firmware: '2.3', kind: 'water-level', bus: 'rs485-1', unit: 1 },
      { device: 'pp-1', profile: 'presstek-ptx40@5.2', firmware: '5.2', kind: 'pipe-pressure', bus: 'rs485-1', unit: 2 },
    ],
  }
}

/** Batch `seq`'s readings: device alternates, sample times `base + seq*1000 + i` never repeat. */
export function batchOf(gateway: string, seq: number, base: number): TelemetryBatch {
  return {
    gateway,
    seq,
    sentAt: base + seq * 1000,
    readings: Array.from({ length: READINGS_PER_BATCH }, (_, i) => ({
      device: DEVICES[i % 2] as string,
      ts: base + seq * 1000 + i,
      values: (i % 2 === 0 ? { level_m: seq + i / 100 } : { pressure_bar: 3 + i / 100 }) as Record<string, number>,
      errors: {},
      historical: false,
    })),
  }
}

export interface TestGateway {
  readonly client: MqttClient
  /** Seqs whose PUBACK arrived. */
  readonly acked: Set<number>
  /** Publishes batches first..last, at most `inFlight` unacknowledged at once; resolves when all are acknowledged. */
  publish(first: number, last: number, inFlight?: number, gapMs?: number): Promise<void>
  close(): Promise<void>
}

export async function connectGateway(url: string, o: { site: string; gateway: string; username?: string; password?: string; base: number }): Promise<TestGateway> {
  const client = mqtt.connect(url, {
    clientId: `muni-edge-${o.gateway}`,
    clean: false,
    reconnectPeriod: 200,
    connectTimeout: 5000,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
  })
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  client.on('error', () => undefined)
  await client.publishAsync(topics.birth(o.site, o.gateway), Buffer.from(encode('birth', birthOf(o.site, o.gateway))), { qos: 1, retain: true })
  const acked = new Set<number>()
  return {
    client,
    acked,
    publish: async (first, last, inFlight = 10, gapMs = 0) => {
      const pending = new Set<Promise<void>>()
      for (let seq = first; seq <= last; seq++) {
        while (pending.size >= inFlight) await Promise.race(pending)
        const payload = Buffer.from(encode('telemetry', batchOf(o.gateway, seq, o.base)))
        const p: Promise<void> = new Promise<void>((resolve) => {
          client.publish(topics.telemetry(o.site, o.gateway), payload, { qos: 1 }, (err) => {
            if (!err) acked.add(seq)
            resolve()
          })
        }).finally(() => pending.delete(p))
        pending.add(p)
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs))
      }
      await Promise.all(pending)
    },
    close: () => new Promise<void>((resolve) => client.end(true, {}, () => resolve())),
  }
}
