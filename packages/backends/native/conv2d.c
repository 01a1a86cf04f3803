/* The direct convolution: filters packed for the register tile, then a valid convolution. */
#include "conv_tile.h"

/*
 * Packs a filter [K, cout] (K = kh*kw*cin) for conv2d_valid: blocks of 8 output channels, each
 * [K][8] contiguous, then a block [K][4] when cout % 8 == 4. Block b starts at b*8*K floats.
 */
EXPORT(pack_filter)
void pack_filter(const float *f, float *p, int K, int cout) {
  int co = 0;
  for (; co + 8 <= cout; co += 8)
    for (int k = 0; k < K; k++, p += 8) {
      wasm_v128_store(p, wasm_v128_load(f + (int64_t)k * cout + co));
      wasm_v128_store(p + 4, wasm_v128_load(f + (int64_t)k * cout + co + 4));
    }
  if (co < cout)
    for (int k = 0; k < K; k++, p += 4) wasm_v128_store(p, wasm_v128_load(f + (int64_t)k * cout + co));
}

/* Output rows per pass of conv2d_valid: each block of packed weights is read once per pass. */
#define CONV_PASS_ROWS 8

/*
 * Valid NHWC convolution of an already padded input:
 *   out[n, oh, ow, co] = sum over i, j, ci of x[n, oh*sh + i*dh, ow*sw + j*dwl, ci] * f[i, j, ci, co]
 * x [n, hp, wp, cin], f packed by pack_filter from [kh, kw, cin, cout]; cout a multiple of 4.
 * Only the first oh_ rows and ow_ columns are computed, and output (oh, ow) is stored at row
 * row0 + oh*rowStep, column col0 + ow*colStep of out [n, oH, oW, cout] (the plain case: oH = oh_,
 * oW = ow_, 0, 1, 0, 1; a strided input gradient writes each phase in place this way).
 * Work items are output rows, item = n * oh_ + oh.
 */
EXPORT(conv2d_valid)
void conv2d_valid(const float *x, const float *f, float *out, int hp, int wp, int cin, int oh_, int ow_, int cout, int kh, int kw,
                  int sh, int sw, int dh, int dwl, int item0, int item1, int oH, int oW, int row0, int rowStep, int col0,
                  int colStep) {
  const int K = kh * kw * cin;
  const int ops = colStep * cout; /* floats between neighbouring output pixels */
  for (int base = item0; base < item1; base += CONV_PASS_ROWS) {
    const int end = imin(item1, base + CONV_PASS_ROWS);
    for (int co = 0; co < cout; co += 8) {
      const int C = co + 8 <= cout ? 8 : 4;
      const float *fb = f + (int64_t)co * K;
      for (int item = base; item < end; item++) {
        const int n = item / oh_, oh = item % oh_;
        const float *xr = x + ((int64_t)n * hp + (int64_t)oh * sh) * wp * cin;
        float *orow = out + (((int64_t)n * oH + row0 + (int64_t)oh * rowStep) * oW + col0) * cout + co;
        int ow = 0;
        if (C == 8) {
          for (; ow + 4 <= ow_; ow += 4) conv_tile(xr + ow * sw * cin, fb, orow + ow * ops, 4, 8, cin, ops, wp, kh, kw, sw, dh, dwl);
          switch (ow_ - ow) {
          case 3: conv_tile(xr + ow * sw * cin, fb, orow + ow * ops, 3, 8, cin, ops, wp, kh, kw, sw, dh, dwl); break;
          case 2: conv_tile(xr + ow * sw * cin, fb, orow + ow * ops, 2, 8, cin, ops, wp, kh, kw, sw, dh, dwl); break;
          case 1: conv_tile(xr + ow * sw * cin, fb, orow + ow * ops, 1, 8, cin, ops, wp, kh, kw, sw, dh, dwl); break;
          default: break;
          }
        } else {
          for (; ow + 4 <= ow_; ow += 4) conv_tile(xr + ow * sw * cin, fb, orow + ow * ops, 4, 4, cin, ops, wp, kh, kw, sw, dh, dwl);
          switch (ow_ - ow) {
          case 3: conv_tile(xr + ow * sw * cin, fb, orow + ow * ops, 3, 4, cin, ops, wp, kh, kw, sw, dh, dwl); break;
          case 2: conv_tile(xr + ow * sw * cin, fb, orow + ow * ops, 2, 4, cin, ops, wp, kh, kw, sw, dh, dwl); break;
          case 1: conv_tile(xr + ow * sw * cin, fb, orow + ow * ops, 1, 4, cin, ops, wp, kh, kw, sw, dh, dwl); break;
          default: break;
          }
        }
      }
    }
  }
}
