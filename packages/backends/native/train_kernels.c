/*
 * Training kernels in WebAssembly SIMD (128-bit) that run inside the tfjs wasm backend's own
 * memory: the module imports that memory, so tensors are read and written in place by the byte
 * offsets tfjs gives them. The module has no data and uses no shadow stack (build.mjs checks the
 * output for both), so it never writes outside the buffers it is handed.
 *
 * Every kernel takes a range of work items [item0, item1) so that several threads (the main
 * thread and worker threads that instantiate this module on the same shared memory) can split
 * one call without locks: items never write the same bytes.
 *
 * Build: node native/build.mjs (needs Debian's emscripten for clang-14/wasm-ld-14); the result is
 * committed as ../src/native/train_kernels_wasm.ts so that nothing at install or test time needs
 * a compiler.
 */
#include <wasm_simd128.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

/* ceil(a / b) and floor(a / b) for b > 0 and any sign of a. */
INLINE int ceil_div(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
INLINE int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
INLINE int imax(int a, int b) { return a > b ? a : b; }
INLINE int imin(int a, int b) { return a < b ? a : b; }

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

/* Images per pass of the filter gradient: as many as keep x and dy of the pass within about 512 KiB
 * (in L2), so that each dw tile is loaded and stored once per pass, not once per image. */
#define FILTER_PASS_BYTES (512 * 1024)

/*
 * Gradient of an NHWC convolution with respect to its filter:
 *   dw[i, j, ci, co] = sum over n, oh, ow of x[n, oh*sh + i*dh - pt, ow*sw + j*dwl - pl, ci] * dy[n, oh, ow, co]
 * (taps that read padding add nothing). x [n, h, w, cin], dy [n, oh_, ow_, cout], dw [kh, kw, cin, cout];
 * cout must be a multiple of 4. Work items are (tap, block of 4 input channels), item = tap * ceil(cin/4) + block;
 * this call zeroes and fills the dw rows of items item0..item1-1 only.
 */
EXPORT(conv2d_filter_grad)
void conv2d_filter_grad(const float *x, const float *dy, float *dw, int n, int h, int w, int cin, int oh_, int ow_, int cout,
                        int kh, int kw, int sh, int sw, int dh, int dwl, int pt, int pl, int item0, int item1) {
  const int blocks = (cin + 3) / 4;
  for (int item = item0; item < item1; item++) {
    const int tap = item / blocks, ci0 = (item % blocks) * 4;
    const int R = imin(4, cin - ci0);
    float *d = dw + (tap * cin + ci0) * cout;
    for (int k = 0; k < R * cout; k++) d[k] = 0.0f;
  }
  const int64_t xImage = (int64_t)h * w * cin, dyImage = (int64_t)oh_ * ow_ * cout;
  const int64_t perImage = (xImage + dyImage) * 4;
  const int chunk = perImage >= FILTER_PASS_BYTES ? 1 : (int)(FILTER_PASS_BYTES / perImage);
  for (int img0 = 0; img0 < n; img0 += chunk) {
    const int images = imin(chunk, n - img0);
    const float *xi = x + img0 * xImage;
    const float *di = dy + img0 * dyImage;
    for (int item = item0; item < item1; item++) {
      const int tap = item / blocks, ci0 = (item % blocks) * 4;
      const int i = tap / kw, j = tap % kw;
      const int R = imin(4, cin - ci0);
      const int ihBase = i * dh - pt, iwBase = j * dwl - pl;
      /* Output rows/columns whose tap lands inside the image: 0 <= o*s + base < size. */
      const int oh0 = imax(0, ceil_div(-ihBase, sh)), oh1 = imin(oh_, floor_div(h - 1 - ihBase, sh) + 1);
      const int ow0 = imax(0, ceil_div(-iwBase, sw)), ow1 = imin(ow_, floor_div(w - 1 - iwBase, sw) + 1);
      if (oh0 >= oh1 || ow0 >= ow1) continue;
      float *d = dw + (tap * cin + ci0) * cout;
      const float *xc = xi + ci0;
      switch (R) {
      case 4: filter_rows(xc, di, d, 4, cin, cout, w, ow_, oh0, oh1, ow0, ow1, ihBase, sh, iwBase, sw, images, xImage, dyImage); break;
      case 3: filter_rows(xc, di, d, 3, cin, cout, w, ow_, oh0, oh1, ow0, ow1, ihBase, sh, iwBase, sw, images, xImage, dyImage); break;
      case 2: filter_rows(xc, di, d, 2, cin, cout, w, ow_, oh0, oh1, ow0, ow1, ihBase, sh, iwBase, sw, images, xImage, dyImage); break;
      default: filter_rows(xc, di, d, 1, cin, cout, w, ow_, oh0, oh1, ow0, ow1, ihBase, sh, iwBase, sw, images, xImage, dyImage); break;
      }
    }
  }
}

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
EXPORT(channel_sums)
void channel_sums(const float *a, const float *b, const float *shift, double *out, int rows, int c, int r0, int r1, int mode) {
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

/*
 * Winograd F(2x2, 3x3) for valid 3x3 stride-1 convolutions (Lavin & Gray 2016): each 2x2 output
 * tile is A^T [ (G g G^T) . (B^T d B) ] A over a 4x4 input tile d, so a tile costs 16 multiplies
 * per (input, output) channel pair instead of 36. The 16 element-wise products, summed over input
 * channels, are 16 matrix products [tiles x cin] x [cin x cout], run by conv_tile as 1x1
 * convolutions; tiles go in chunks whose transformed inputs and products stay in cache.
 */

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
 * accumulates its tiles into its own dU [16, cin, cout] (zeroed here), chunk tiles at a time,
 * with scratch of 16 * chunk * (cin + cout) floats.
 */
EXPORT(conv3x3_winograd_filter_grad)
void conv3x3_winograd_filter_grad(const float *x, const float *dy, float *du, float *scratch, int n, int h, int w, int cin, int oh,
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
 * dW [3, 3, cin, cout] = G^T (sum of the `parts` dU [16, cin, cout] at du, du + 16*cin*cout, ...) G,
 * for input channels ci0..ci1-1.
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
