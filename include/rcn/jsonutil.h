/* jsonutil.h - small jansson helpers shared by every writer and reader of
 * rcn's JSON files. JSON has no NaN or Inf: writers turn them into null,
 * readers turn null back into NAN. */
#ifndef RCN_JSONUTIL_H
#define RCN_JSONUTIL_H

#include <jansson.h>

/* A new real, or null when x is not finite. */
json_t *rcn_json_num(double x);
/* The number in j (integer or real), NAN for null or a missing value. */
double rcn_json_get_num(const json_t *j);

#endif
