/**
 * The positive relation of a SupCon problem, built in JavaScript from small label arrays (no
 * O(n²) broadcast `Equal` on the backend): which contrast samples are positives of which anchor
 * image, with what weight, which are negatives, and which a positives cap leaves out.
 *
 * Samples are the batch's images 0..batch-1 (each with `views` rows of the contrast matrix, view
 * major) and then the memory's samples batch..batch+memory-1 (one row each). Column c of a row
 * of dot products belongs to sample c % batch (c < batch * views) or batch + c - batch * views.
 */

/**
 * Either per-sample labels (positives: equal labels, weight 1) or a `[batch, batch + memory]`
 * weight matrix (row: anchor image, column: sample; > 0 positive with that weight, 0 negative,
 * -1 left out when `exclusions`).
 */
export interface Relation {
  labels?: Int32Array;
  mask?: Float32Array;
  exclusions?: boolean;
}

/** Sample of each contrast column. */
export function sampleOfColumns(batch: number, views: number, memory: number): Int32Array {
  const bv = batch * views;
  const out = new Int32Array(bv + memory);
  for (let c = 0; c < bv; c++) out[c] = c % batch;
  for (let m = 0; m < memory; m++) out[bv + m] = batch + m;
  return out;
}

/** The relation's weights as a `[batch, batch + memory]` matrix (labels expanded). */
export function relationMatrix(rel: Relation, batch: number, memory: number): Float32Array {
  if (rel.mask) return rel.mask.slice();
  const samples = batch + memory;
  const l = rel.labels!;
  const out = new Float32Array(batch * samples);
  for (let i = 0; i < batch; i++)
    for (let k = 0; k < samples; k++) out[i * samples + k] = l[i] === l[k] ? 1 : 0;
  return out;
}

/**
 * Weights of multi-hot label rows: 'any' 1 where two samples share a label, 'jaccard'
 * |A∩B| / |A∪B| (0 where both are empty). `rows` are `[batch + memory, classes]` 0/1 values;
 * the result is `[batch, batch + memory]`.
 */
export function multiLabelMatrix(
  rows: ArrayLike<number>,
  batch: number,
  memory: number,
  classes: number,
  mode: 'any' | 'jaccard',
): Float32Array {
  const samples = batch + memory;
  const words = Math.max(1, Math.ceil(classes / 32));
  const bits = new Uint32Array(samples * words);
  const pop = new Int32Array(samples);
  for (let k = 0; k < samples; k++)
    for (let c = 0; c < classes; c++)
      if (rows[k * classes + c] === 1) {
        bits[k * words + (c >>> 5)] |= 1 << (c & 31);
        pop[k]++;
      }
  const popcount = (x: number) => {
    x -= (x >>> 1) & 0x55555555;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
  };
  const out = new Float32Array(batch * samples);
  for (let i = 0; i < batch; i++) {
    if (pop[i] === 0) continue;
    for (let k = 0; k < samples; k++) {
      let inter = 0;
      for (let w = 0; w < words; w++) inter += popcount(bits[i * words + w] & bits[k * words + w]);
      if (inter === 0) continue;
      out[i * samples + k] = mode === 'any' ? 1 : inter / (pop[i] + pop[k] - inter);
    }
  }
  return out;
}

/**
 * Applies a positives cap to a `[batch, batch + memory]` weight matrix in place, marking the
 * positives left out with -1. For each anchor image i in order, its candidates are the other
 * samples k with weight > 0, in index order (the batch's images, then the memory's); an image
 * takes `views` rows of the cap, a memory sample one. If they all fit in `cap` rows, all stay and
 * nothing is drawn. Otherwise a Fisher-Yates shuffle runs from the front: at step t (t = 0, 1,
 * ...), j = t + floor(u · (n - t)) with u = rng.next(), candidates t and j swap, and candidate t
 * is kept if its rows fit in what is left of the cap (else it is left out); it stops when the
 * cap is used up or the candidates are. The anchor image's own other views always stay.
 */
export function capPositives(
  mask: Float32Array,
  batch: number,
  views: number,
  memory: number,
  cap: number,
  rng: { next(): number },
): void {
  const samples = batch + memory;
  const candidates = new Int32Array(samples);
  const keep = new Uint8Array(samples);
  for (let i = 0; i < batch; i++) {
    const row = i * samples;
    let n = 0;
    let total = 0;
    for (let k = 0; k < samples; k++)
      if (k !== i && mask[row + k] > 0) {
        candidates[n++] = k;
        total += k < batch ? views : 1;
      }
    if (total <= cap) continue;
    keep.fill(0);
    let budget = cap;
    for (let t = 0; t < n && budget > 0; t++) {
      const j = t + Math.floor(rng.next() * (n - t));
      const c = candidates[j];
      candidates[j] = candidates[t];
      candidates[t] = c;
      const size = c < batch ? views : 1;
      if (size <= budget) {
        keep[c] = 1;
        budget -= size;
      }
    }
    for (let t = 0; t < n; t++) if (!keep[candidates[t]]) mask[row + candidates[t]] = -1;
  }
}

/** Per anchor image: the total positive weight over its row (self removed), and its negatives. */
export interface ImageStats {
  positive: Float64Array;
  negatives: Float64Array;
}

export function imageStats(
  rel: Relation,
  batch: number,
  views: number,
  memory: number,
): ImageStats {
  const positive = new Float64Array(batch);
  const negatives = new Float64Array(batch);
  const rows = batch * views + memory;
  if (rel.labels) {
    const l = rel.labels;
    const inBatch = new Map<number, number>();
    const inMemory = new Map<number, number>();
    for (let k = 0; k < batch; k++) inBatch.set(l[k], (inBatch.get(l[k]) ?? 0) + 1);
    for (let m = 0; m < memory; m++)
      inMemory.set(l[batch + m], (inMemory.get(l[batch + m]) ?? 0) + 1);
    for (let i = 0; i < batch; i++) {
      positive[i] = views * inBatch.get(l[i])! + (inMemory.get(l[i]) ?? 0) - 1;
      negatives[i] = rows - 1 - positive[i];
    }
    return { positive, negatives };
  }
  const m = rel.mask!;
  const samples = batch + memory;
  for (let i = 0; i < batch; i++) {
    let inBatch = 0;
    let inMemory = 0;
    let n = 0;
    for (let k = 0; k < samples; k++) {
      const w = m[i * samples + k];
      if (w > 0) {
        if (k < batch) inBatch += w;
        else inMemory += w;
      } else if (w === 0) n += k < batch ? views : 1;
    }
    // The anchor itself: one of its image's rows.
    const self = m[i * samples + i];
    positive[i] = views * inBatch + inMemory - (self > 0 ? self : 0);
    negatives[i] = self === 0 ? n - 1 : n;
  }
  return { positive, negatives };
}
