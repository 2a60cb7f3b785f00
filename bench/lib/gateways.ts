/**
 * What the bench load generators share: connect G gateways (mqtt.js, QoS 1, persistent
 * sessions, no reconnects) and publish each one's retained birth of N water-level devices
 * `d0…d{N-1}` (hydrolux-rl80@2.3).
 */
import mqtt, { type MqttClient } from 'mqtt'
import { encode, topics, type Birth } from '../../shared/mqtt/index.ts'

export interface BenchGateway {
  site: string
  gateway: string
  username?: string
  password?: string
}

function birth(g: BenchGateway, devices: number, agent: string): Birth {
  return {
    gateway: g.gateway,
    site: g.site,
    session: 1,
    ts: Date.now(),
    agent: { name: agent, version: '0' },
    devices: Array.from({ length: devices }, (_, i) => ({ device: `d${i}`, profile: 'hydrolux-rl80@2.3', firmware: '2.3', kind: 'water-level' as const, bus: 'rs485-1', unit: i + 1 })),
  }
}

/** Connects every gateway and publishes its birth; resolves with the clients in the same order. */
export async function connectGateways(url: string, gateways: readonly BenchGateway[], devices: number, agent: string): Promise<MqttClient[]> {
  const clients = await Promise.all(
    gateways.map(
      (g) =>
        new Promise<MqttClient>((resolve, reject) => {
          const c = mqtt.connect(url, { clientId: `bench-${g.gateway}`, clean: false, reconnectPeriod: 0, ...(g.username !== undefined ? { username: g.username, password: g.password } : {}) })
          c.once('connect', () => resolve(c))
          c.once('error', reject)
        }),
    ),
  )
  await Promise.all(clients.map((c, i) => c.publishAsync(topics.birth(gateways[i]!.site, gateways[i]!.gateway), Buffer.from(encode('birth', birth(gateways[i]!, devices, agent))), { qos: 1, retain: true })))
  return clients
}
