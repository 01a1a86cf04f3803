/*
 * What every kernel file of supcon's WebAssembly SIMD (128-bit) training module shares.
 *
 * The kernel files (one per family: conv2d.c, conv2d_filter_grad.c, winograd.c, channel.c,
 * layout.c) compile separately and link into ONE module (build.mjs), which runs inside the tfjs
 * wasm backend's own memory: the module imports that memory, so tensors are read and written in
 * place by the byte offsets tfjs gives them. The module has no data and uses no shadow stack
 * (build.mjs checks the output for both), so it never writes outside the buffers it is handed.
 *
 * Every kernel takes a range of work items [item0, item1) so that several threads (the main
 * thread and worker threads that instantiate this module on the same shared memory) can split
 * one call without locks: items never write the same bytes.
 *
 * Build: node native/build.mjs (clang-14, wasm-ld-14 and binaryen's wasm-dis); the result is
 * committed as ../src/native/train_kernels_wasm.ts so that nothing at install or test time needs
 * a compiler.
 */
#ifndef SUPCON_COMMON_H
#define SUPCON_COMMON_H

#include <wasm_simd128.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

/* ceil(a / b) and floor(a / b) for b > 0 and any sign of a. */
INLINE int ceil_div(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
INLINE int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
INLINE int imax(int a, int b) { return a > b ? a : b; }
INLINE int imin(int a, int b) { return a < b ? a : b; }

#endif
