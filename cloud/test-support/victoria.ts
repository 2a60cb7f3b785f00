/**
 * A real VictoriaMetrics (Debian's `victoria-metrics`) for integration tests: it accepts
 * InfluxDB line protocol on `/api/v2/write`, so it stands in for an InfluxDB 2.x/3.x
 * write endpoint. Loopback only, storage in a temp dir that `stop()` removes.
 */
import { spawnServer, type TestServer } from './influxd.ts'

/** Starts `victoria-metrics` on 127.0.0.1:PORT; resolves once `/health` answers OK. */
export async function startVictoria(): Promise<TestServer> {
  return spawnServer({
    name: 'victoria-metrics',
    command: 'victoria-metrics',
    readyPath: '/health',
    args: (dir, port) => [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${dir}`,
      '-retentionPeriod=100y',
      '-loggerLevel=ERROR',
      // Without it VictoriaMetrics keeps every sample, even two with one timestamp, so a
      // redelivered reading would count twice. With it one sample per series and ms is kept,
      // but VictoriaMetrics picks which: not necessarily the last written, as InfluxDB does.
      '-dedup.minScrapeInterval=1ms',
      // Graphite/OpenTSDB/InfluxDB-UDP listeners are off unless their flags are given.
    ],
  })
}

/**
 * Makes recently ingested samples searchable now (VictoriaMetrics buffers them ~1 s).
 */
export async function forceFlush(url: string): Promise<void> {
  const res = await fetch(`${url}/internal/force_flush`, { signal: AbortSignal.timeout(10_000) })
  const body = await res.text()
  if (!res.ok) throw new Error(`victoria-metrics force_flush at ${url} failed: ${res.status} ${body}`)
}
