import { describe, expect, it } from 'vitest'
import { formatMetrics, LatencyHistogram } from './metrics.ts'

describe('formatMetrics', () => {
  it('writes HELP and TYPE once per family, labels quoted and escaped, one sample a line', () => {
    const text = formatMetrics([
      { name: 'muni_edge_polls_total', type: 'counter', help: 'Poll sweeps.\nPer device \\ bus', samples: [{ labels: { device: 'wl-01' }, value: 3 }, { labels: { device: 'a"b\\c\nd' }, value: 0 }] },
      { name: 'muni_edge_uplink_connected', type: 'gauge', help: 'Online.', samples: [{ value: 1 }] },
      { name: 'muni_edge_age', type: 'gauge', help: 'x', samples: [{ value: Number.NaN }, { labels: { le: '+Inf' }, value: Number.POSITIVE_INFINITY }] },
    ])
    expect(text).toBe(
      [
        '# HELP muni_edge_polls_total Poll sweeps.\\nPer device \\\\ bus',
        '# TYPE muni_edge_polls_total counter',
        'muni_edge_polls_total{device="wl-01"} 3',
        'muni_edge_polls_total{device="a\\"b\\\\c\\nd"} 0',
        '# HELP muni_edge_uplink_connected Online.',
        '# TYPE muni_edge_uplink_connected gauge',
        'muni_edge_uplink_connected 1',
        '# HELP muni_edge_age x',
        '# TYPE muni_edge_age gauge',
        'muni_edge_age NaN',
        'muni_edge_age{le="+Inf"} +Inf',
        '',
      ].join('\n'),
    )
  })

  it('a family without samples keeps its HELP and TYPE', () => {
    expect(formatMetrics([{ name: 'm', type: 'gauge', help: 'h', samples: [] }])).toBe('# HELP m h\n# TYPE m gauge\n')
  })
})

describe('LatencyHistogram', () => {
  it('cumulative buckets from the new samples of the driver ring; count and sum are the driver\'s', () => {
    const h = new LatencyHistogram([0.01, 0.1])
    h.update({ count: 3, sumMs: 65, recentMs: [5, 10, 50] })
    h.update({ count: 4, sumMs: 265, recentMs: [5, 10, 50, 200] })
    h.update({ count: 4, sumMs: 265, recentMs: [5, 10, 50, 200] })
    const text = formatMetrics([{ name: 'lat', type: 'histogram', help: 'h', samples: h.samples({ bus: 'b' }) }])
    expect(text.split('\n').slice(2, -1)).toEqual([
      'lat_bucket{bus="b",le="0.01"} 2',
      'lat_bucket{bus="b",le="0.1"} 3',
      'lat_bucket{bus="b",le="+Inf"} 4',
      'lat_sum{bus="b"} 0.265',
      'lat_count{bus="b"} 4',
    ])
  })

  it('samples that fell out of the ring count only in +Inf, so buckets never exceed the count', () => {
    const h = new LatencyHistogram([1])
    h.update({ count: 10, sumMs: 10, recentMs: [1, 1] })
    expect(h.samples().map((s) => s.value)).toEqual([2, 10, 0.01, 10])
  })
})
