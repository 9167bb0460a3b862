/* The per-row loss, the same sequence of operations as bcecli/core/loss.py performs over
 * numpy arrays (each + - * / rounds once: contraction is off), through bce's own
 * elementary functions, so the kernel and the pure-Python path agree to the bit. */
#ifndef BCE_LOSS_H
#define BCE_LOSS_H

#include "bce_math.h"

/* np.clip(p, eps, 1 - eps) of a valid probability (never NaN here). */
static inline double bce_clip(double p, double eps) {
    double low = eps, high = 1.0 - eps;
    return p < low ? low : (p > high ? high : p);
}

static inline int bce_is_clipped(double p, double eps) { return p < eps || p > 1.0 - eps; }

/* -log1p(-|y - c|), or -log(c) for a positive with c < 0.5 (where 1 - c would round). */
static inline double bce_loss_from_prob(int y, double p, double eps) {
    double clipped = bce_clip(p, eps);
    if (y && clipped < 0.5) return -bce_log(clipped);
    double difference = (y ? 1.0 : 0.0) - clipped;
    double magnitude = difference < 0.0 ? -difference : difference;
    return -bce_log1p(-magnitude);
}

/* log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)). */
static inline double bce_softplus(double x) {
    double magnitude = x < 0.0 ? -x : x;
    double positive = x > 0.0 ? x : 0.0;
    return positive + bce_log1p(bce_exp(-magnitude));
}

static inline double bce_loss_from_logit(int y, double z) { return bce_softplus(y ? -z : z); }

/* 1 / (1 + exp(-z)) for z >= 0, exp(z) / (1 + exp(z)) below. */
static inline double bce_sigmoid(double z) {
    double e = bce_exp(-(z < 0.0 ? -z : z));
    return z >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

#endif
