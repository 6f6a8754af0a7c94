/* jsonutil.c - JSON encoding of numbers (NaN/Inf as null); see
 * include/rcn/jsonutil.h. */
#include "rcn/jsonutil.h"

#include <math.h>

json_t *rcn_json_num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

double rcn_json_get_num(const json_t *j)
{
    return json_is_number(j) ? json_number_value(j) : NAN;
}
