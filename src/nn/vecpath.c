/* vecpath.c - rcn_vector_path (include/rcn/vecpath.h): the kernels'
 * run-time switches (simd.h) spelled as one name. */
#include "rcn/vecpath.h"

#include "simd.h"

const char *rcn_vector_path(void)
{
    if (rcn_simd_avx512())
        return "avx512";
    return rcn_simd_avx2() ? "avx2" : "portable";
}
