/* The direct filter gradient of a convolution: outer products of x and dy per filter tap. */
#include "filter_tile.h"

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
