/**
 * Theil–Sen line fit: the slope is the median of the slopes of all sample pairs, the
 * intercept the median of yᵢ − slope·xᵢ (Sen 1968). Its breakdown point is
 * 1 − 1/√2 ≈ 29.3 %: up to that share of wild samples (a splash, a spike) cannot
 * move the line arbitrarily, where one outlier is enough to drag least squares.
 * O(n²) in time for n samples; callers keep n bounded (the trend rule keeps ≤ 40).
 */

export interface Fit {
  slope: number
  intercept: number
  /**
   * 1 − SS_res / SS_tot of the robust line, clamped to [0, 1]: the share of the
   * variation the line explains. 0 for fewer than 3 samples or a constant series.
   */
  r2: number
  /**
   * A robust R²: 1 − (MAD of the residuals / MAD of the values)², clamped to [0, 1]
   * (MAD = median absolute deviation). Like the fit itself it ignores a minority of
   * wild samples, where `r2` collapses under one spike. 0 when more than half the
   * values are equal (no variation to explain).
   */
  confidence: number
  /**
   * Kendall's τ of (x, y): (concordant − discordant pairs) / all pairs, from the same
   * pairwise slopes as the fit. +1 when y only rises with x, about 0 for noise.
   */
  tau: number
  n: number
}

/** The median of a non-empty list (mean of the two middle values for even lengths). */
export function median(values: readonly number[] | Float64Array): number {
  return medianInPlace(Float64Array.from(values))
}

/** `median`, partially reordering `a` (a scratch array the caller owns). */
function medianInPlace(a: Float64Array): number {
  const mid = a.length >> 1
  const hi = select(a, mid)
  if (a.length % 2 === 1) return hi
  // After selecting `mid`, everything left of it is ≤ it: the lower middle is their maximum.
  let lo = Number.NEGATIVE_INFINITY
  for (let i = 0; i < mid; i++) if ((a[i] as number) > lo) lo = a[i] as number
  return (lo + hi) / 2
}

/** Hoare's quickselect: the k-th smallest, partially ordering `a` in place; expected O(n). */
function select(a: Float64Array, k: number): number {
  let left = 0
  let right = a.length - 1
  while (left < right) {
    const pivot = a[(left + right) >> 1] as number
    let i = left
    let j = right
    while (i <= j) {
      while ((a[i] as number) < pivot) i++
      while ((a[j] as number) > pivot) j--
      if (i <= j) {
        const t = a[i] as number
        a[i] = a[j] as number
        a[j] = t
        i++
        j--
      }
    }
    if (k <= j) right = j
    else if (k >= i) left = i
    else return a[k] as number
  }
  return a[k] as number
}

/**
 * Kendall's τ of samples in time order: (concordant − discordant pairs) / pairs with
 * distinct times — the `tau` of `theilSen` over the same points, without the fit (no
 * allocation), so a caller can rule a fit out cheaply.
 */
export function kendallTau(samples: ReadonlyArray<{ t: number; v: number }>): number {
  let agree = 0
  let pairs = 0
  const n = samples.length
  for (let i = 0; i < n; i++) {
    const a = samples[i] as { t: number; v: number }
    for (let j = i + 1; j < n; j++) {
      const b = samples[j] as { t: number; v: number }
      const dx = b.t - a.t
      if (dx === 0) continue
      pairs++
      agree += Math.sign((b.v - a.v) / dx)
    }
  }
  return pairs === 0 ? 0 : agree / pairs
}

/** Fits y = intercept + slope·x; undefined with fewer than 2 distinct x. */
export function theilSen(xs: readonly number[], ys: readonly number[]): Fit | undefined {
  const n = Math.min(xs.length, ys.length)
  const all = new Float64Array((n * (n - 1)) / 2)
  let k = 0
  let agree = 0
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = (xs[j] as number) - (xs[i] as number)
      if (dx === 0) continue
      const m = ((ys[j] as number) - (ys[i] as number)) / dx
      all[k++] = m
      agree += Math.sign(m)
    }
  }
  if (k === 0) return undefined
  const tau = agree / k
  const slope = medianInPlace(k === all.length ? all : all.subarray(0, k))
  const scratch = new Float64Array(n)
  for (let i = 0; i < n; i++) scratch[i] = (ys[i] as number) - slope * (xs[i] as number)
  const intercept = medianInPlace(scratch)
  let mean = 0
  for (let i = 0; i < n; i++) mean += ys[i] as number
  mean /= n
  let ssTot = 0
  let ssRes = 0
  for (let i = 0; i < n; i++) {
    const y = ys[i] as number
    ssTot += (y - mean) ** 2
    ssRes += (y - (intercept + slope * (xs[i] as number))) ** 2
  }
  const r2 = n < 3 || ssTot === 0 ? 0 : Math.min(1, Math.max(0, 1 - ssRes / ssTot))
  for (let i = 0; i < n; i++) scratch[i] = ys[i] as number
  const yMed = medianInPlace(scratch)
  for (let i = 0; i < n; i++) scratch[i] = Math.abs((ys[i] as number) - yMed)
  const madY = medianInPlace(scratch)
  for (let i = 0; i < n; i++) scratch[i] = Math.abs((ys[i] as number) - (intercept + slope * (xs[i] as number)))
  const madRes = medianInPlace(scratch)
  const confidence = n < 3 || madY === 0 ? 0 : Math.min(1, Math.max(0, 1 - (madRes / madY) ** 2))
  return { slope, intercept, r2, confidence, tau, n }
}
