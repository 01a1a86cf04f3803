/* Per-channel kernels over [rows, channels] views: batch norm's sums and its affine passes. */
#include "common.h"

/*
 * Per-channel sums over rows r0..r1 of [rows, c] tensors, into out (float64, this part's own slots):
 *   mode 0: out[k] = sum a[r, k]
 *   mode 1: out[k] = sum a[r, k];  out[c + k] = sum a[r, k] * (b[r, k] - shift[k])
 *   mode 2: out[k] = sum (a[r, k] - shift[k])^2
 * Rows are added in float32 in chunks of 64 and the chunk sums in float64, so long sums keep
 * their precision. Four channels at a time; a channel count that is not a multiple of 4 ends in
 * scalar code.
 */
#define CHUNK 64
static void channel_sums_range(const float *a, const float *b, const float *shift, double *out, int c, int r0, int r1, int mode) {
  const int two = mode == 1;
  for (int k = 0; k < (two ? 2 * c : c); k++) out[k] = 0.0;
  const int c4 = c & ~3;
  for (int base = r0; base < r1; base += CHUNK) {
    const int end = imin(r1, base + CHUNK);
    for (int k = 0; k < c4; k += 4) {
      v128_t s1 = wasm_f32x4_splat(0.0f), s2 = s1;
      const v128_t m = mode == 0 ? s1 : wasm_v128_load(shift + k);
      const float *pa = a + (int64_t)base * c + k;
      const float *pb = b + (int64_t)base * c + k;
      if (mode == 0) {
        for (int r = base; r < end; r++, pa += c) s1 = wasm_f32x4_add(s1, wasm_v128_load(pa));
      } else if (mode == 1) {
        for (int r = base; r < end; r++, pa += c, pb += c) {
          const v128_t va = wasm_v128_load(pa);
          s1 = wasm_f32x4_add(s1, va);
          s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(va, wasm_f32x4_sub(wasm_v128_load(pb), m)));
        }
      } else {
        for (int r = base; r < end; r++, pa += c) {
          const v128_t d = wasm_f32x4_sub(wasm_v128_load(pa), m);
          s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(d, d));
        }
      }
      wasm_v128_store(out + k, wasm_f64x2_add(wasm_v128_load(out + k), wasm_f64x2_promote_low_f32x4(s1)));
      wasm_v128_store(out + k + 2,
                      wasm_f64x2_add(wasm_v128_load(out + k + 2), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(s1, s1, 2, 3, 0, 1))));
      if (two) {
        double *o2 = out + c + k;
        wasm_v128_store(o2, wasm_f64x2_add(wasm_v128_load(o2), wasm_f64x2_promote_low_f32x4(s2)));
        wasm_v128_store(o2 + 2, wasm_f64x2_add(wasm_v128_load(o2 + 2), wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(s2, s2, 2, 3, 0, 1))));
      }
    }
    for (int k = c4; k < c; k++) {
      float s1 = 0.0f, s2 = 0.0f;
      const float m = mode == 0 ? 0.0f : shift[k];
      for (int r = base; r < end; r++) {
        const float va = a[(int64_t)r * c + k];
        if (mode == 0) s1 += va;
        else if (mode == 1) {
          s1 += va;
          s2 += va * (b[(int64_t)r * c + k] - m);
        } else {
          s1 += (va - m) * (va - m);
        }
      }
      out[k] += s1;
      if (two) out[c + k] += s2;
    }
  }
}

/*
 * The sums of channel_sums_range for row groups g0..g1-1 of `groups`: group g is rows
 * [g * rows / groups, (g + 1) * rows / groups) and writes its own sums at out + g * width (width c,
 * or 2c in mode 1). The caller adds the groups in order. The groups depend on `rows` and
 * `groups` only, never on which thread runs which group, so the totals are the same bits on any
 * number of threads.
 */
EXPORT(channel_sums)
void channel_sums(const float *a, const float *b, const float *shift, double *out, int rows, int c, int g0, int g1, int groups,
                  int mode) {
  const int width = mode == 1 ? 2 * c : c;
  for (int g = g0; g < g1; g++) {
    const int r0 = (int)(((int64_t)g * rows) / groups), r1 = (int)(((int64_t)(g + 1) * rows) / groups);
    channel_sums_range(a, b, shift, out + (int64_t)g * width, c, r0, r1, mode);
  }
}

/*
 * out[r, k] = a[r, k] * k1[k] + b[r, k] * k2[k] + k3[k] for rows r0..r1 of [rows, c] tensors
 * (b may be 0: then the middle term is left out). Batch norm's normalisation (forward) and its
 * input gradient (backward) are both this.
 */
EXPORT(channel_affine)
void channel_affine(const float *a, const float *b, float *out, const float *k1, const float *k2, const float *k3, int c, int r0,
                    int r1) {
  const int c4 = c & ~3;
  for (int r = r0; r < r1; r++) {
    const float *pa = a + (int64_t)r * c;
    const float *pb = b + (int64_t)r * c;
    float *po = out + (int64_t)r * c;
    int k = 0;
    if (b) {
      for (; k < c4; k += 4) {
        v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(pa + k), wasm_v128_load(k1 + k)),
                                  wasm_f32x4_mul(wasm_v128_load(pb + k), wasm_v128_load(k2 + k)));
        wasm_v128_store(po + k, wasm_f32x4_add(v, wasm_v128_load(k3 + k)));
      }
      for (; k < c; k++) po[k] = pa[k] * k1[k] + pb[k] * k2[k] + k3[k];
    } else {
      for (; k < c4; k += 4)
        wasm_v128_store(po + k, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(pa + k), wasm_v128_load(k1 + k)), wasm_v128_load(k3 + k)));
      for (; k < c; k++) po[k] = pa[k] * k1[k] + k3[k];
    }
  }
}
