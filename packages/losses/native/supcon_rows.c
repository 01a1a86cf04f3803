/*
 * The fused SupCon row kernel in WebAssembly SIMD (128-bit): for every anchor row of the dot
 * products it computes the row statistics and, in place, the scaled gradient dL/dD. It mirrors
 * fusedSupConRows in ../src/fused.ts, which is the reference the tests compare it with.
 *
 * Build: node native/build.mjs (needs clang-14 and wasm-ld-14: Debian's clang-14 and lld-14, or
 * its emscripten); the result is committed as
 * ../src/native/supcon_rows_wasm.ts so that nothing at install or test time needs a compiler.
 *
 * Memory is owned by JavaScript: it grows the exported memory and passes byte offsets; the
 * kernel allocates nothing.
 */
#include <wasm_simd128.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/* exp(x) for 4 lanes: x = k ln2 + r, |r| <= ln2/2, exp(r) by its Taylor series to r^7
 * (relative error below 2e-7 over the range), 2^k through the exponent bits. Inputs below
 * -87 give 0 (the anchor itself is masked with -inf); above 88 they saturate. */
static inline v128_t exp4(v128_t x) {
  const v128_t lo = wasm_f32x4_splat(-87.0f), hi = wasm_f32x4_splat(88.0f);
  v128_t under = wasm_f32x4_lt(x, lo);
  x = wasm_f32x4_pmax(wasm_f32x4_pmin(x, hi), lo);
  v128_t k = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  /* r = x - k ln2 in two parts for accuracy. */
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(k, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(k, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.0f / 5040.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 720.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  v128_t ki = wasm_i32x4_trunc_sat_f32x4(k);
  v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(ki, wasm_i32x4_splat(127)), 23);
  v128_t out = wasm_f32x4_mul(p, scale);
  return wasm_v128_andnot(out, under);
}

static inline float hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3);
}

static inline float hmax(v128_t v) {
  float a = wasm_f32x4_extract_lane(v, 0), b = wasm_f32x4_extract_lane(v, 1);
  float c = wasm_f32x4_extract_lane(v, 2), d = wasm_f32x4_extract_lane(v, 3);
  a = a > b ? a : b;
  c = c > d ? c : d;
  return a > c ? a : c;
}

/* Zeroes n floats (its own function: there is no memset to call). */
__attribute__((noinline, no_builtin("memset"))) static void zero_row(float *d, int n) {
  for (int r = 0; r < n; r++) d[r] = 0.0f;
}

/*
 * dots:    [anchors, rows] float32, rows = batch * views + memory (a multiple of 4 is not
 *          required): columns 0..batch*views-1 are the batch's views (view-major), the last
 *          `memory` columns extra contrast samples that are never anchors.
 * labels:  [batch + memory] int32 or 0; mask: [batch, batch + memory] float32 weights when labels
 *          is 0. Column c belongs to sample c % batch (c < batch*views) or batch + c - batch*views.
 * flags:   bit 0: 'in' (else 'out'); bit 1: denominator 'only-negatives' (Z sums the negatives,
 *          weight 0, alone; else every column but the anchor's own); bit 2: mask weights below 0
 *          mark columns that are left out of the row altogether (neither positive nor negative:
 *          positives dropped by a positives cap).
 * coef:    [anchors] float32: the weight of each anchor's loss in the final mean.
 * stats:   [anchors, 5] float64 out: max, Z = sum exp(s - max), W = sum of positive weights,
 *          'out': sum w s; 'in': posMax and posZ = sum w exp(s - posMax) (in slots 3, 4).
 * scratch: [rows + 4] float32 for the positive weights of one row.
 * On return dots holds coef_i * (dloss_i / ds) / T, with the anchor's own entry 0.
 *
 * A row with a logit s = d / T (the anchor's own entry aside, left-out columns included) that is
 * NaN or +-inf in float32 has no meaningful loss: its Z, slots 3 and 4 and its whole gradient row
 * are NaN, so that neither the loss nor the gradient comes back finite (the max alone would skip
 * NaN, and -inf would vanish from Z without a trace).
 */
EXPORT(supcon_rows)
void supcon_rows(float *dots, int anchors, int batch, int views, int memory, const int32_t *labels, const float *mask, int flags,
                 float invT, const float *coef, double *stats, float *scratch) {
  const int bv = batch * views;
  const int rows = bv + memory;
  const int samples = batch + memory;
  const int rows4 = rows & ~3;
  const int variantIn = flags & 1, onlyNeg = (flags >> 1) & 1, excl = (flags >> 2) & 1;
  const v128_t vInvT = wasm_f32x4_splat(invT);
  const v128_t ninf = wasm_f32x4_splat(-__builtin_inff());
  const v128_t fmax = wasm_f32x4_splat(__FLT_MAX__);
  const v128_t zero = wasm_f32x4_splat(0.0f);
  const float nan = __builtin_nanf("");
  for (int i = 0; i < anchors; i++) {
    float *d = dots + (int64_t)i * rows;
    const int img = i % batch;
    if (labels) {
      const int32_t li = labels[img];
      for (int k = 0; k < batch; k++) scratch[k] = labels[k] == li ? 1.0f : 0.0f;
      for (int v = 1; v < views; v++)
        for (int k = 0; k < batch; k++) scratch[v * batch + k] = scratch[k];
      for (int m = 0; m < memory; m++) scratch[bv + m] = labels[batch + m] == li ? 1.0f : 0.0f;
    } else {
      const float *row = mask + (int64_t)img * samples;
      for (int k = 0; k < batch; k++) scratch[k] = row[k];
      for (int v = 1; v < views; v++)
        for (int k = 0; k < batch; k++) scratch[v * batch + k] = scratch[k];
      for (int m = 0; m < memory; m++) scratch[bv + m] = row[batch + m];
    }
    scratch[i] = 0.0f;
    /* Scale to logits, mask self with -inf; max over the row and over its positives. */
    d[i] = -__builtin_inff();
    /* vfinite counts, per lane, the logits with |s| <= FLT_MAX (false for NaN and +-inf). */
    v128_t vmax = ninf, vpmax = ninf, vW = zero, vfinite = wasm_i32x4_splat(0);
    int r = 0;
    if (!excl && !onlyNeg) {
      for (; r < rows4; r += 4) {
        v128_t s = wasm_f32x4_mul(wasm_v128_load(d + r), vInvT);
        wasm_v128_store(d + r, s);
        v128_t w = wasm_v128_load(scratch + r);
        vmax = wasm_f32x4_pmax(vmax, s);
        vW = wasm_f32x4_add(vW, w);
        vpmax = wasm_f32x4_pmax(vpmax, wasm_v128_bitselect(s, ninf, wasm_f32x4_gt(w, zero)));
        vfinite = wasm_i32x4_sub(vfinite, wasm_f32x4_le(wasm_f32x4_abs(s), fmax));
      }
    } else {
      /* Left-out columns become -inf logits with weight 0 (after the finiteness count); with
       * 'only-negatives' the max is the negatives' (the positives may lie far above them). */
      for (; r < rows4; r += 4) {
        v128_t s = wasm_f32x4_mul(wasm_v128_load(d + r), vInvT);
        v128_t w = wasm_v128_load(scratch + r);
        vfinite = wasm_i32x4_sub(vfinite, wasm_f32x4_le(wasm_f32x4_abs(s), fmax));
        if (excl) {
          v128_t out = wasm_f32x4_lt(w, zero);
          s = wasm_v128_bitselect(ninf, s, out);
          w = wasm_v128_bitselect(zero, w, out);
          wasm_v128_store(scratch + r, w);
        }
        wasm_v128_store(d + r, s);
        vmax = wasm_f32x4_pmax(vmax, onlyNeg ? wasm_v128_bitselect(s, ninf, wasm_f32x4_eq(w, zero)) : s);
        vW = wasm_f32x4_add(vW, w);
        vpmax = wasm_f32x4_pmax(vpmax, wasm_v128_bitselect(s, ninf, wasm_f32x4_gt(w, zero)));
      }
    }
    float max = hmax(vmax), pmax = hmax(vpmax), W = hsum(vW);
    int finite = wasm_i32x4_extract_lane(vfinite, 0) + wasm_i32x4_extract_lane(vfinite, 1) +
                 wasm_i32x4_extract_lane(vfinite, 2) + wasm_i32x4_extract_lane(vfinite, 3);
    for (; r < rows; r++) {
      float s = d[r] * invT;
      float w = scratch[r];
      finite += __builtin_fabsf(s) <= __FLT_MAX__;
      if (excl && w < 0) {
        s = -__builtin_inff();
        w = 0.0f;
        scratch[r] = 0.0f;
      }
      d[r] = s;
      if (s > max && (!onlyNeg || w == 0)) max = s;
      W += w;
      if (w > 0 && s > pmax) pmax = s;
    }
    double *st = stats + 5 * i;
    st[0] = max;
    st[2] = W;
    /* Every logit but the anchor's own (-inf) must be finite. */
    if (finite != rows - 1) {
      const v128_t vnan = wasm_f32x4_splat(nan);
      for (r = 0; r < rows4; r += 4) wasm_v128_store(d + r, vnan);
      for (; r < rows; r++) d[r] = nan;
      st[1] = nan;
      st[3] = nan;
      st[4] = nan;
      continue;
    }
    /* Nothing to normalise over (one row, or no negative for 'only-negatives'): a zero row. */
    if (rows == 1 || max == -__builtin_inff()) {
      zero_row(d, rows);
      st[1] = 0;
      st[3] = 0;
      st[4] = 0;
      continue;
    }
    /* e = exp(s - max) over the row (the negatives only for 'only-negatives'); for 'in' the
     * weights become w exp(s - pmax). */
    /* Without positives pmax is -inf: shift by 0 instead, so that -inf logits (self, left-out
     * columns) give exp 0, not exp(NaN). */
    const float pm = pmax > -__builtin_inff() ? pmax : 0.0f;
    const v128_t vm = wasm_f32x4_splat(max), vpm = wasm_f32x4_splat(pm);
    v128_t vZ = zero, vacc = zero;
    for (r = 0; r < rows4; r += 4) {
      v128_t s = wasm_v128_load(d + r);
      v128_t w = wasm_v128_load(scratch + r);
      v128_t e = exp4(wasm_f32x4_sub(s, vm));
      if (onlyNeg) e = wasm_v128_and(e, wasm_f32x4_eq(w, zero));
      vZ = wasm_f32x4_add(vZ, e);
      if (variantIn) {
        v128_t we = wasm_f32x4_mul(w, exp4(wasm_f32x4_sub(s, vpm)));
        vacc = wasm_f32x4_add(vacc, we);
        wasm_v128_store(scratch + r, we);
      } else {
        /* w * s with s = -inf only where w = 0 (self): select to avoid 0 * inf. */
        vacc = wasm_f32x4_add(vacc, wasm_v128_bitselect(wasm_f32x4_mul(w, s), zero, wasm_f32x4_gt(w, zero)));
      }
      wasm_v128_store(d + r, e);
    }
    float Z = hsum(vZ), acc = hsum(vacc);
    for (; r < rows; r++) {
      float s = d[r];
      float w = scratch[r];
      float e = wasm_f32x4_extract_lane(exp4(wasm_f32x4_splat(s - max)), 0);
      if (onlyNeg && w != 0) e = 0.0f;
      Z += e;
      if (variantIn) {
        float we = w * wasm_f32x4_extract_lane(exp4(wasm_f32x4_splat(s - pm)), 0);
        acc += we;
        scratch[r] = we;
      } else if (w > 0) {
        acc += w * s;
      }
      d[r] = e;
    }
    st[1] = Z;
    st[3] = variantIn ? pmax : acc;
    st[4] = variantIn ? acc : 0;
    /* Gradient: coef/T * (e/Z - w/W) for 'out', coef/T * (e/Z - w e'/posZ) for 'in'. */
    const float c = coef[i] * invT;
    const float a = c / Z;
    const float b = W > 0 ? c / (variantIn ? acc : W) : 0.0f;
    const v128_t va = wasm_f32x4_splat(a), vb = wasm_f32x4_splat(b);
    for (r = 0; r < rows4; r += 4) {
      v128_t g = wasm_f32x4_sub(wasm_f32x4_mul(wasm_v128_load(d + r), va), wasm_f32x4_mul(wasm_v128_load(scratch + r), vb));
      wasm_v128_store(d + r, g);
    }
    for (; r < rows; r++) d[r] = d[r] * a - scratch[r] * b;
    d[i] = 0.0f;
  }
}

static inline void transpose4(v128_t *r) {
  v128_t t0 = wasm_i32x4_shuffle(r[0], r[1], 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r[0], r[1], 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle(r[2], r[3], 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r[2], r[3], 2, 6, 3, 7);
  r[0] = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  r[1] = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  r[2] = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  r[3] = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

/* g + gᵀ of the square [n, n] block at the start of a row-major matrix with row stride `stride`
 * (>= n; the columns past n, the memory's, are left alone), in place: 4 x 4 blocks transposed in
 * registers, visited in 64 x 64 tiles; a remainder when n is not a multiple of 4 is done element
 * by element. */
EXPORT(symmetrize)
void symmetrize(float *g, int n, int stride) {
  const int n4 = n & ~3, T = 64;
  const int64_t ld = stride;
  for (int ti = 0; ti < n4; ti += T)
    for (int tj = ti; tj < n4; tj += T) {
      int iEnd = ti + T < n4 ? ti + T : n4, jEnd = tj + T < n4 ? tj + T : n4;
      for (int i = ti; i < iEnd; i += 4)
        for (int j = (tj == ti ? i : tj); j < jEnd; j += 4) {
          v128_t a[4], b[4];
          for (int k = 0; k < 4; k++) {
            a[k] = wasm_v128_load(g + (i + k) * ld + j);
            b[k] = wasm_v128_load(g + (j + k) * ld + i);
          }
          transpose4(b);
          for (int k = 0; k < 4; k++) a[k] = wasm_f32x4_add(a[k], b[k]);
          /* a is now the (i, j) block of g + gᵀ; its transpose is the (j, i) block. */
          for (int k = 0; k < 4; k++) wasm_v128_store(g + (i + k) * ld + j, a[k]);
          if (i != j) {
            transpose4(a);
            for (int k = 0; k < 4; k++) wasm_v128_store(g + (j + k) * ld + i, a[k]);
          }
        }
    }
  for (int i = 0; i < n; i++)
    for (int j = (i >= n4 ? i : n4); j < n; j++) {
      float s = g[i * ld + j] + g[j * ld + i];
      g[i * ld + j] = s;
      g[j * ld + i] = s;
    }
}

/* Start of the memory JavaScript may use. */
extern unsigned char __heap_base;
EXPORT(heap_base)
uintptr_t heap_base(void) { return (uintptr_t)&__heap_base; }

/* Completes the symmetric [n, n] block at the start of a row-major matrix with row stride
 * `stride` (>= n) of which columns 0..h-1 (all rows) and the block rows h..n-1 x columns h..n-1
 * are filled: the block rows 0..h-1 x columns h..n-1 is the transpose of rows h..n-1 x columns
 * 0..h-1. */
EXPORT(mirror_block)
void mirror_block(float *d, int n, int h, int stride) {
  const int m = n - h;
  const int h4 = h & ~3, m4 = m & ~3;
  const int64_t ld = stride;
  for (int i = 0; i < h4; i += 4)
    for (int j = 0; j < m4; j += 4) {
      v128_t a[4];
      for (int k = 0; k < 4; k++) a[k] = wasm_v128_load(d + (h + j + k) * ld + i);
      transpose4(a);
      for (int k = 0; k < 4; k++) wasm_v128_store(d + (i + k) * ld + h + j, a[k]);
    }
  for (int i = 0; i < h; i++)
    for (int j = (i < h4 ? m4 : 0); j < m; j++) d[i * ld + h + j] = d[(h + j) * ld + i];
}
