/* Data movement without arithmetic: row broadcasts (Tile), zero padding, filter rotation. */
#include "common.h"

/* out[r, :] = src[r / group, :] for rows r0..r1 of [rows, len]: a broadcast of each source row to
 * `group` consecutive rows (Tile over a block of axes of size 1). */
EXPORT(broadcast_rows)
void broadcast_rows(const float *src, float *out, int len, int group, int r0, int r1) {
  for (int r = r0; r < r1; r++) {
    const float *ps = src + (int64_t)(r / group) * len;
    float *po = out + (int64_t)r * len;
    int k = 0;
    for (; k + 4 <= len; k += 4) wasm_v128_store(po + k, wasm_v128_load(ps + k));
    for (; k < len; k++) po[k] = ps[k];
  }
}

/*
 * Zero padding (or cropping, for negative top/left) of NHWC x [n, h, w, c] into out [n, hp, wp, c]
 * with x's row 0 at out row `top` and column 0 at column `left`. Work items are output rows
 * (n * hp + row).
 */
EXPORT(pad_nhwc)
void pad_nhwc(const float *x, float *out, int h, int w, int c, int hp, int wp, int top, int left, int item0, int item1) {
  const int j0 = imax(0, left), j1 = imin(wp, w + left); /* output columns that read x */
  for (int item = item0; item < item1; item++) {
    const int n = item / hp, row = item % hp, si = row - top;
    float *po = out + (int64_t)item * wp * c;
    if (si < 0 || si >= h || j0 >= j1) {
      for (int k = 0; k < wp * c; k++) po[k] = 0.0f;
      continue;
    }
    for (int k = 0; k < j0 * c; k++) po[k] = 0.0f;
    const float *ps = x + (((int64_t)n * h + si) * w + (j0 - left)) * c;
    float *pd = po + j0 * c;
    const int len = (j1 - j0) * c;
    int k = 0;
    for (; k + 4 <= len; k += 4) wasm_v128_store(pd + k, wasm_v128_load(ps + k));
    for (; k < len; k++) pd[k] = ps[k];
    for (int k2 = j1 * c; k2 < wp * c; k2++) po[k2] = 0.0f;
  }
}

/* out [kh, kw, cout, cin] = f [kh, kw, cin, cout] rotated by 180 degrees with its channel axes
 * swapped: the filter of the input gradient. */
EXPORT(rotate_filter)
void rotate_filter(const float *f, float *out, int kh, int kw, int cin, int cout) {
  for (int i = 0; i < kh; i++)
    for (int j = 0; j < kw; j++) {
      const float *src = f + (int64_t)((kh - 1 - i) * kw + (kw - 1 - j)) * cin * cout;
      float *dst = out + (int64_t)(i * kw + j) * cout * cin;
      for (int ci = 0; ci < cin; ci++)
        for (int co = 0; co < cout; co++) dst[(int64_t)co * cin + ci] = src[(int64_t)ci * cout + co];
    }
}
