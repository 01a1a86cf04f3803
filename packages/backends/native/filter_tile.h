/*
 * The outer-product register tile of the filter gradients: shared by the direct filter gradient
 * (conv2d_filter_grad.c) and the Winograd one (winograd.c), which accumulates its transformed
 * products with the same tiles.
 */
#ifndef SUPCON_FILTER_TILE_H
#define SUPCON_FILTER_TILE_H

#include "common.h"

/*
 * One register tile of the filter gradient: R input channels (1..4) x C output channels (4 or 8),
 * accumulated over the output rows oh0..oh1 and columns ow0..ow1 of one image for one filter tap.
 * acc[r][c] += x[ih, iw, ci0 + r] * dy[oh, ow, co0 + 4c .. + 4]
 */
INLINE void filter_tile(const float *x, const float *dy, float *dw, int R, int C, int cin, int cout, int w, int ow_, int oh0,
                        int oh1, int ow0, int ow1, int ihBase, int sh, int iwBase, int sw, int images, int64_t xImage,
                        int64_t dyImage) {
  /* Named accumulators, not an array: an array could be placed on the shadow stack. */
  const v128_t zero = wasm_f32x4_splat(0.0f);
  v128_t a00 = wasm_v128_load(dw), a01 = C == 8 ? wasm_v128_load(dw + 4) : zero;
  v128_t a10 = R > 1 ? wasm_v128_load(dw + cout) : zero, a11 = R > 1 && C == 8 ? wasm_v128_load(dw + cout + 4) : zero;
  v128_t a20 = R > 2 ? wasm_v128_load(dw + 2 * cout) : zero, a21 = R > 2 && C == 8 ? wasm_v128_load(dw + 2 * cout + 4) : zero;
  v128_t a30 = R > 3 ? wasm_v128_load(dw + 3 * cout) : zero, a31 = R > 3 && C == 8 ? wasm_v128_load(dw + 3 * cout + 4) : zero;
  const int xStep = sw * cin;
  for (int img = 0; img < images; img++, x += xImage, dy += dyImage)
  for (int oh = oh0; oh < oh1; oh++) {
    const float *xp = x + ((oh * sh + ihBase) * w + ow0 * sw + iwBase) * cin;
    const float *dp = dy + (oh * ow_ + ow0) * cout;
    for (int q = ow0; q < ow1; q++) {
      const v128_t d0 = wasm_v128_load(dp);
      const v128_t d1 = C == 8 ? wasm_v128_load(dp + 4) : zero;
      v128_t s = wasm_v128_load32_splat(xp);
      a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(s, d0));
      if (C == 8) a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(s, d1));
      if (R > 1) {
        s = wasm_v128_load32_splat(xp + 1);
        a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(s, d0));
        if (C == 8) a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(s, d1));
      }
      if (R > 2) {
        s = wasm_v128_load32_splat(xp + 2);
        a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(s, d0));
        if (C == 8) a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(s, d1));
      }
      if (R > 3) {
        s = wasm_v128_load32_splat(xp + 3);
        a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(s, d0));
        if (C == 8) a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(s, d1));
      }
      xp += xStep;
      dp += cout;
    }
  }
  wasm_v128_store(dw, a00);
  if (C == 8) wasm_v128_store(dw + 4, a01);
  if (R > 1) {
    wasm_v128_store(dw + cout, a10);
    if (C == 8) wasm_v128_store(dw + cout + 4, a11);
  }
  if (R > 2) {
    wasm_v128_store(dw + 2 * cout, a20);
    if (C == 8) wasm_v128_store(dw + 2 * cout + 4, a21);
  }
  if (R > 3) {
    wasm_v128_store(dw + 3 * cout, a30);
    if (C == 8) wasm_v128_store(dw + 3 * cout + 4, a31);
  }
}

/* All output-channel tiles (cout a multiple of 4) for R input channels at one tap. */
INLINE void filter_rows(const float *x, const float *dy, float *dw, int R, int cin, int cout, int w, int ow_, int oh0, int oh1,
                        int ow0, int ow1, int ihBase, int sh, int iwBase, int sw, int images, int64_t xImage, int64_t dyImage) {
  int co = 0;
  for (; co + 8 <= cout; co += 8)
    filter_tile(x, dy + co, dw + co, R, 8, cin, cout, w, ow_, oh0, oh1, ow0, ow1, ihBase, sh, iwBase, sw, images, xImage, dyImage);
  if (co < cout)
    filter_tile(x, dy + co, dw + co, R, 4, cin, cout, w, ow_, oh0, oh1, ow0, ow1, ihBase, sh, iwBase, sw, images, xImage, dyImage);
}

#endif
