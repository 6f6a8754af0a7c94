/* vecpath.h - which vector kernels this process's network layers run:
 * "avx512", "avx2" or "portable" (im2col + SGEMM). The kernels decide once
 * per process from the CPU (src/nn/simd.h); in the environment
 * RCN_NO_AVX512=1 forces the AVX2 path and RCN_NO_AVX2=1 as well the
 * portable one. For benchmarks and reports. */
#ifndef RCN_VECPATH_H
#define RCN_VECPATH_H

/* A static string: "avx512", "avx2" or "portable". */
const char *rcn_vector_path(void);

#endif
