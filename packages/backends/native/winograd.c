/*
 * Winograd F(2x2, 3x3) for valid 3x3 stride-1 convolutions (Lavin & Gray 2016): each 2x2 output
 * tile is A^T [ (G g G^T) . (B^T d B) ] A over a 4x4 input tile d, so a tile costs 16 multiplies
 * per (input, output) channel pair instead of 36. The 16 element-wise products, summed over input
 * channels, are 16 matrix products [tiles x cin] x [cin x cout], run by conv_tile as 1x1
 * convolutions; tiles go in chunks whose transformed inputs and products stay in cache.
 */
#include "filter_tile.h"
#include "conv_tile.h"

/* U = G g G^T for every (ci, co), packed like pack_filter per transformed position xi:
 * u + xi * cin * cout holds blocks of 8 output channels [cin][8] (then [cin][4]). f [3, 3, cin, cout]. */
EXPORT(winograd_filter)
void winograd_filter(const float *f, float *u, int cin, int cout) {
  const v128_t half = wasm_f32x4_splat(0.5f);
  const int64_t plane = (int64_t)cin * cout;
  for (int ci = 0; ci < cin; ci++) {
    for (int co = 0; co < cout; co += 4) {
      v128_t g[3][3], t[4][3];
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) g[i][j] = wasm_v128_load(f + ((int64_t)(i * 3 + j) * cin + ci) * cout + co);
      for (int j = 0; j < 3; j++) {
        t[0][j] = g[0][j];
        t[1][j] = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_add(g[0][j], g[1][j]), g[2][j]));
        t[2][j] = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_sub(g[0][j], g[1][j]), g[2][j]));
        t[3][j] = g[2][j];
      }
      /* Block of 8 (or the last block of 4) holding channel co, and co's lane offset in it. */
      const int block = co & ~7, width = block + 8 <= cout ? 8 : 4, lane = co - block;
      for (int k = 0; k < 4; k++) {
        v128_t v[4];
        v[0] = t[k][0];
        v[1] = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_add(t[k][0], t[k][1]), t[k][2]));
        v[2] = wasm_f32x4_mul(half, wasm_f32x4_add(wasm_f32x4_sub(t[k][0], t[k][1]), t[k][2]));
        v[3] = t[k][2];
        for (int l = 0; l < 4; l++)
          wasm_v128_store(u + (4 * k + l) * plane + (int64_t)block * cin + (int64_t)ci * width + lane, v[l]);
      }
    }
  }
}

/* B^T d B for one 4x4 tile at (r0, c0) and 4 channels; rows/columns outside [0, h) x [0, w) read as
 * zero (the convolution's padding). */
INLINE void winograd_in_tile(const float *x, float *v, int h, int w, int cin, int r0, int c0, int64_t vStride) {
  v128_t d[4][4], t[4][4];
  if (r0 >= 0 && c0 >= 0 && r0 + 3 < h && c0 + 3 < w) {
    const float *p = x + ((int64_t)r0 * w + c0) * cin;
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < 4; c++) d[r][c] = wasm_v128_load(p + ((int64_t)r * w + c) * cin);
  } else {
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < 4; c++)
        d[r][c] = (r0 + r >= 0 && r0 + r < h && c0 + c >= 0 && c0 + c < w) ? wasm_v128_load(x + ((int64_t)(r0 + r) * w + c0 + c) * cin)
                                                                          : wasm_f32x4_splat(0.0f);
  }
  for (int c = 0; c < 4; c++) {
    t[0][c] = wasm_f32x4_sub(d[0][c], d[2][c]);
    t[1][c] = wasm_f32x4_add(d[1][c], d[2][c]);
    t[2][c] = wasm_f32x4_sub(d[2][c], d[1][c]);
    t[3][c] = wasm_f32x4_sub(d[1][c], d[3][c]);
  }
  for (int k = 0; k < 4; k++) {
    wasm_v128_store(v + (4 * k + 0) * vStride, wasm_f32x4_sub(t[k][0], t[k][2]));
    wasm_v128_store(v + (4 * k + 1) * vStride, wasm_f32x4_add(t[k][1], t[k][2]));
    wasm_v128_store(v + (4 * k + 2) * vStride, wasm_f32x4_sub(t[k][2], t[k][1]));
    wasm_v128_store(v + (4 * k + 3) * vStride, wasm_f32x4_sub(t[k][1], t[k][3]));
  }
}

/* A^T m A for one tile and 4 output channels; outputs past oh/ow are not written. */
INLINE void winograd_out_tile(const float *m, int64_t mStride, float *out, int oh, int ow, int cout, int r0, int c0) {
  v128_t s[2][4];
  for (int l = 0; l < 4; l++) {
    const v128_t m0 = wasm_v128_load(m + (0 + l) * mStride), m1 = wasm_v128_load(m + (4 + l) * mStride);
    const v128_t m2 = wasm_v128_load(m + (8 + l) * mStride), m3 = wasm_v128_load(m + (12 + l) * mStride);
    s[0][l] = wasm_f32x4_add(wasm_f32x4_add(m0, m1), m2);
    s[1][l] = wasm_f32x4_sub(wasm_f32x4_sub(m1, m2), m3);
  }
  for (int k = 0; k < 2; k++) {
    if (r0 + k >= oh) break;
    float *o = out + ((int64_t)(r0 + k) * ow + c0) * cout;
    wasm_v128_store(o, wasm_f32x4_add(wasm_f32x4_add(s[k][0], s[k][1]), s[k][2]));
    if (c0 + 1 < ow) wasm_v128_store(o + cout, wasm_f32x4_sub(wasm_f32x4_sub(s[k][1], s[k][2]), s[k][3]));
  }
}

/*
 * 3x3 stride-1 convolution by Winograd F(2x2, 3x3): x [n, h, w, cin] padded by `top` rows and
 * `left` columns of zeros (and as many after as out needs) -> out [n, oh, ow, cout]; u from
 * winograd_filter; cin and cout multiples of 4. Work items are 2x2 output tiles (n, ty, tx); a
 * call handles tiles item0..item1-1 in chunks of `chunk` (a multiple of 4), with scratch of
 * 16 * chunk * (cin + cout) floats of its own.
 */
EXPORT(conv3x3_winograd)
void conv3x3_winograd(const float *x, const float *u, float *out, float *scratch, int n, int h, int w, int cin, int cout, int chunk,
                      int item0, int item1, int oh, int ow, int top, int left) {
  const int th = (oh + 1) / 2, tw = (ow + 1) / 2;
  const int64_t vStride = (int64_t)chunk * cin, mStride = (int64_t)chunk * cout;
  float *v = scratch, *m = scratch + 16 * vStride;
  const int64_t plane = (int64_t)cin * cout;
  for (int base = item0; base < item1; base += chunk) {
    const int count = imin(chunk, item1 - base);
    for (int t = 0; t < count; t++) {
      const int tile = base + t, img = tile / (th * tw), rem = tile % (th * tw);
      const float *xi = x + (int64_t)img * h * w * cin;
      const int r0 = 2 * (rem / tw) - top, c0 = 2 * (rem % tw) - left;
      for (int c = 0; c < cin; c += 4) winograd_in_tile(xi + c, v + (int64_t)t * cin + c, h, w, cin, r0, c0, vStride);
    }
    for (int xi = 0; xi < 16; xi++) {
      const float *vx = v + xi * vStride;
      float *mx = m + xi * mStride;
      const float *ux = u + xi * plane;
      for (int co = 0; co < cout; co += 8) {
        const int C = co + 8 <= cout ? 8 : 4;
        const float *fb = ux + (int64_t)co * cin;
        int t = 0;
        if (C == 8) {
          for (; t + 4 <= count; t += 4) conv_tile(vx + (int64_t)t * cin, fb, mx + (int64_t)t * cout + co, 4, 8, cin, cout, 0, 1, 1, 1, 1, 1);
          for (; t < count; t++) conv_tile(vx + (int64_t)t * cin, fb, mx + (int64_t)t * cout + co, 1, 8, cin, cout, 0, 1, 1, 1, 1, 1);
        } else {
          for (; t + 4 <= count; t += 4) conv_tile(vx + (int64_t)t * cin, fb, mx + (int64_t)t * cout + co, 4, 4, cin, cout, 0, 1, 1, 1, 1, 1);
          for (; t < count; t++) conv_tile(vx + (int64_t)t * cin, fb, mx + (int64_t)t * cout + co, 1, 4, cin, cout, 0, 1, 1, 1, 1, 1);
        }
      }
    }
    for (int t = 0; t < count; t++) {
      const int tile = base + t, img = tile / (th * tw), rem = tile % (th * tw);
      float *oi = out + (int64_t)img * oh * ow * cout;
      for (int co = 0; co < cout; co += 4)
        winograd_out_tile(m + (int64_t)t * cout + co, mStride, oi + co, oh, ow, cout, 2 * (rem / tw), 2 * (rem % tw));
    }
  }
}

/*
 * Filter gradient of a valid 3x3 stride-1 convolution by Winograd F(2x2, 3x3), the transpose of
 * conv3x3_winograd: dU[xi] = sum over tiles of (B^T d B)[xi] (x) (A dy A^T)[xi], then dW = G^T dU G
 * (winograd_filter_grad_out). x [n, h, w, cin] with the forward padding `top`, `left` (zeros read
 * outside it), dy [n, oh, ow, cout]; cin and cout multiples of 4. Work items are 2x2 tiles of dy; a call
 * accumulates tiles item0..item1-1 into dU [16, cin, cout] (zeroed here), chunk tiles at a time,
 * with scratch of 16 * chunk * (cin + cout) floats.
 */
static void winograd_filter_grad_tiles(const float *x, const float *dy, float *du, float *scratch, int h, int w, int cin, int oh,
                                       int ow, int cout, int chunk, int item0, int item1, int top, int left) {
  const int th = (oh + 1) / 2, tw = (ow + 1) / 2;
  const int64_t vStride = (int64_t)chunk * cin, yStride = (int64_t)chunk * cout, plane = (int64_t)cin * cout;
  float *v = scratch, *yt = scratch + 16 * vStride;
  for (int64_t k = 0; k < 16 * plane; k++) du[k] = 0.0f;
  for (int base = item0; base < item1; base += chunk) {
    const int count = imin(chunk, item1 - base);
    for (int t = 0; t < count; t++) {
      const int tile = base + t, img = tile / (th * tw), rem = tile % (th * tw);
      const int r0 = 2 * (rem / tw), c0 = 2 * (rem % tw);
      const float *xi = x + (int64_t)img * h * w * cin;
      for (int c = 0; c < cin; c += 4) winograd_in_tile(xi + c, v + (int64_t)t * cin + c, h, w, cin, r0 - top, c0 - left, vStride);
      const float *di = dy + (int64_t)img * oh * ow * cout;
      for (int c = 0; c < cout; c += 4) {
        v128_t d[2][2], r[4][2];
        for (int a = 0; a < 2; a++)
          for (int b = 0; b < 2; b++)
            d[a][b] = (r0 + a < oh && c0 + b < ow) ? wasm_v128_load(di + ((int64_t)(r0 + a) * ow + c0 + b) * cout + c) : wasm_f32x4_splat(0.0f);
        for (int b = 0; b < 2; b++) {
          r[0][b] = d[0][b];
          r[1][b] = wasm_f32x4_add(d[0][b], d[1][b]);
          r[2][b] = wasm_f32x4_sub(d[0][b], d[1][b]);
          r[3][b] = wasm_f32x4_neg(d[1][b]);
        }
        float *o = yt + (int64_t)t * cout + c;
        for (int k = 0; k < 4; k++) {
          wasm_v128_store(o + (4 * k + 0) * yStride, r[k][0]);
          wasm_v128_store(o + (4 * k + 1) * yStride, wasm_f32x4_add(r[k][0], r[k][1]));
          wasm_v128_store(o + (4 * k + 2) * yStride, wasm_f32x4_sub(r[k][0], r[k][1]));
          wasm_v128_store(o + (4 * k + 3) * yStride, wasm_f32x4_neg(r[k][1]));
        }
      }
    }
    /* dU[xi] (cin x cout) += V[xi]^T Y[xi]: the outer-product tiles of the direct filter gradient,
     * over one "row" of `count` tiles. */
    for (int xi = 0; xi < 16; xi++) {
      const float *vx = v + xi * vStride, *yx = yt + xi * yStride;
      float *dux = du + xi * plane;
      for (int ci = 0; ci < cin; ci += 4)
        filter_rows(vx + ci, yx, dux + (int64_t)ci * cout, 4, cin, cout, count, count, 0, 1, 0, count, 0, 1, 0, 1, 1, 0, 0);
    }
  }
}

/*
 * winograd_filter_grad_tiles for tile groups g0..g1-1 of `groups` over the `tiles` tiles: group g is
 * tiles [g * tiles / groups, (g + 1) * tiles / groups) and accumulates into its own dU at
 * du + g * 16 * cin * cout. The groups depend on `tiles` and `groups` only, not on the threads, so
 * the sum of the groups (winograd_filter_grad_out, in group order) is the same bits on any number
 * of threads. scratch is this call's own.
 */
EXPORT(conv3x3_winograd_filter_grad)
void conv3x3_winograd_filter_grad(const float *x, const float *dy, float *du, float *scratch, int h, int w, int cin, int oh, int ow,
                                  int cout, int chunk, int tiles, int g0, int g1, int groups, int top, int left) {
  const int64_t plane = (int64_t)16 * cin * cout;
  for (int g = g0; g < g1; g++) {
    const int t0 = (int)(((int64_t)g * tiles) / groups), t1 = (int)(((int64_t)(g + 1) * tiles) / groups);
    winograd_filter_grad_tiles(x, dy, du + g * plane, scratch, h, w, cin, oh, ow, cout, chunk, t0, t1, top, left);
  }
}

/*
 * dW [3, 3, cin, cout] = G^T (sum of the `parts` dU [16, cin, cout] at du, du + 16*cin*cout, ...,
 * added in that order) G, for input channels ci0..ci1-1.
 */
EXPORT(winograd_filter_grad_out)
void winograd_filter_grad_out(const float *du, int parts, float *dw, int cin, int cout, int ci0, int ci1) {
  const v128_t half = wasm_f32x4_splat(0.5f);
  const int64_t plane = (int64_t)cin * cout, partStride = 16 * plane;
  for (int ci = ci0; ci < ci1; ci++) {
    for (int co = 0; co < cout; co += 4) {
      v128_t u[4][4], q[3][4];
      for (int xi = 0; xi < 16; xi++) {
        const float *p = du + xi * plane + (int64_t)ci * cout + co;
        v128_t s = wasm_v128_load(p);
        for (int k = 1; k < parts; k++) s = wasm_f32x4_add(s, wasm_v128_load(p + k * partStride));
        u[xi / 4][xi % 4] = s;
      }
      for (int l = 0; l < 4; l++) {
        const v128_t h1 = wasm_f32x4_mul(half, u[1][l]), h2 = wasm_f32x4_mul(half, u[2][l]);
        q[0][l] = wasm_f32x4_add(u[0][l], wasm_f32x4_add(h1, h2));
        q[1][l] = wasm_f32x4_sub(h1, h2);
        q[2][l] = wasm_f32x4_add(wasm_f32x4_add(h1, h2), u[3][l]);
      }
      for (int i = 0; i < 3; i++) {
        const v128_t h1 = wasm_f32x4_mul(half, q[i][1]), h2 = wasm_f32x4_mul(half, q[i][2]);
        wasm_v128_store(dw + ((int64_t)(i * 3 + 0) * cin + ci) * cout + co, wasm_f32x4_add(q[i][0], wasm_f32x4_add(h1, h2)));
        wasm_v128_store(dw + ((int64_t)(i * 3 + 1) * cin + ci) * cout + co, wasm_f32x4_sub(h1, h2));
        wasm_v128_store(dw + ((int64_t)(i * 3 + 2) * cin + ci) * cout + co, wasm_f32x4_add(wasm_f32x4_add(h1, h2), q[i][3]));
      }
    }
  }
}
