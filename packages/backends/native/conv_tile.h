/*
 * The register tile of a valid convolution: shared by the direct convolution (conv2d.c) and the
 * Winograd one (winograd.c), whose element-wise products are 1x1 convolutions of these tiles.
 */
#ifndef SUPCON_CONV_TILE_H
#define SUPCON_CONV_TILE_H

#include "common.h"

/*
 * One register tile of a valid convolution: P output pixels (1..4, consecutive in a row) x C
 * output channels (4 or 8), summed over every tap and input channel.
 */
INLINE void conv_tile(const float *x, const float *f, float *out, int P, int C, int cin, int ops, int wp, int kh, int kw, int sw,
                      int dh, int dwl) {
  const v128_t zero = wasm_f32x4_splat(0.0f);
  v128_t a00 = zero, a01 = zero, a10 = zero, a11 = zero, a20 = zero, a21 = zero, a30 = zero, a31 = zero;
  const int px = sw * cin; /* floats between the pixels of the tile */
  for (int i = 0; i < kh; i++) {
    for (int j = 0; j < kw; j++) {
      const float *x0 = x + (i * dh * wp + j * dwl) * cin;
      const float *x1 = x0 + px, *x2 = x0 + 2 * px, *x3 = x0 + 3 * px;
      const float *fq = f + (i * kw + j) * cin * C;
      for (int ci = 0; ci < cin; ci++, fq += C) {
        const v128_t w0 = wasm_v128_load(fq);
        const v128_t w1 = C == 8 ? wasm_v128_load(fq + 4) : zero;
        v128_t s = wasm_v128_load32_splat(x0++);
        a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(s, w0));
        if (C == 8) a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(s, w1));
        if (P > 1) {
          s = wasm_v128_load32_splat(x1++);
          a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(s, w0));
          if (C == 8) a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(s, w1));
        }
        if (P > 2) {
          s = wasm_v128_load32_splat(x2++);
          a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(s, w0));
          if (C == 8) a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(s, w1));
        }
        if (P > 3) {
          s = wasm_v128_load32_splat(x3++);
          a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(s, w0));
          if (C == 8) a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(s, w1));
        }
      }
    }
  }
  wasm_v128_store(out, a00);
  if (C == 8) wasm_v128_store(out + 4, a01);
  if (P > 1) {
    wasm_v128_store(out + ops, a10);
    if (C == 8) wasm_v128_store(out + ops + 4, a11);
  }
  if (P > 2) {
    wasm_v128_store(out + 2 * ops, a20);
    if (C == 8) wasm_v128_store(out + 2 * ops + 4, a21);
  }
  if (P > 3) {
    wasm_v128_store(out + 3 * ops, a30);
    if (C == 8) wasm_v128_store(out + 3 * ops + 4, a31);
  }
}

#endif
