/* loss.c - softmax cross-entropy over logits (n, k), numerically stable
 * (log-sum-exp with the row maximum subtracted). */
#include "rcn/nn.h"

#include <math.h>

double rcn_softmax_xent(int n, int k, const float *logits, const uint8_t *labels,
                        float *dlogits, int64_t *correct)
{
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        int arg = 0;
        float mx = z[0];
        for (int j = 1; j < k; j++)
            if (z[j] > mx)
                mx = z[j], arg = j;
        double sum = 0.0;
        int finite = 1;
        for (int j = 0; j < k; j++) {
            finite &= isfinite(z[j]) != 0;
            sum += exp((double)z[j] - (double)mx);
        }
        /* any non-finite logit (even a -inf one, which exp() would quietly
         * drop) makes the sample's loss NaN: the training reports divergence */
        double lse = finite ? (double)mx + log(sum) : NAN;
        total += lse - (double)z[labels[i]];
        if (correct && arg == labels[i])
            (*correct)++;
        if (dlogits) {
            float *d = dlogits + (size_t)i * k;
            for (int j = 0; j < k; j++) {
                double pj = exp((double)z[j] - lse);
                d[j] = (float)((pj - (j == labels[i] ? 1.0 : 0.0)) / n);
            }
        }
    }
    return total;
}
