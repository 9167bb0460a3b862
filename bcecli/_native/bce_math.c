/* bce's own exp, log and log1p: range reduction and polynomials in + - * / only.
 *
 * No libm, no fused multiply-adds (setup.py compiles with contraction off), bit casts by
 * memcpy. bcecli/core/elementary.py is the numpy twin: it performs the same operations in
 * the same order, so both give the same bits; its docstring has the algorithm and the
 * accuracy argument. Keep the two files in step: any change of order here changes bits. */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "bce_math.h"

/* Each operation must round once to double: extended-precision evaluation (x87) would
 * give other bits than numpy, so refuse to build there and let bce run pure Python. */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "bce_math.c needs FLT_EVAL_METHOD == 0 (double operations rounded to double)"
#endif

static uint64_t bits_of(double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static double from_bits(uint64_t b) {
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

#define POS_INF_BITS UINT64_C(0x7ff0000000000000)
#define NEG_INF_BITS UINT64_C(0xfff0000000000000)
#define NAN_BITS UINT64_C(0x7ff8000000000000) /* the one nan of a domain error */
#define MIN_NORMAL_BITS UINT64_C(0x0010000000000000)
#define THREE_BITS UINT64_C(0x4008000000000000)
#define MANTISSA_MASK UINT64_C(0x000fffffffffffff)
#define SIGN_MASK UINT64_C(0x8000000000000000)
/* sqrt(2)/2 rounded down: m = u / 2^k lands in [SQRT_HALF, 2 * SQRT_HALF). Adding
 * ONE - SQRT_HALF to u's bits carries into the exponent field exactly where m would
 * reach 2 * SQRT_HALF, so that field is k + 1023. */
#define SQRT_HALF_BITS UINT64_C(0x3fe6a09e667f3bcd)
#define ONE_BITS UINT64_C(0x3ff0000000000000)
#define TWO_POW_54 18014398509481984.0 /* lifts a subnormal into the normal range */

/* ln 2 = LN2_HI + LN2_LO: LN2_HI keeps 32 significant bits, so k * LN2_HI is exact for
 * every |k| < 2^21 (|k| <= 1130 here). */
static const double LN2_HI = 0x1.62e42fee00000p-1;
static const double LN2_LO = 0x1.a39ef35793c76p-33;

/* log: R(z) ~ (2 atanh(s) - 2 s) / s with z = s^2, |s| <= 0.1716: minimax (Remez,
 * weight z) error 2^-58.5, relative to log(1 + f). */
static const double L1 = 0.6666666666666733;
static const double L2 = 0.39999999999421265;
static const double L3 = 0.2857142874113956;
static const double L4 = 0.22222198686530967;
static const double L5 = 0.18183558985402157;
static const double L6 = 0.15314176499829446;
static const double L7 = 0.14794774115044093;

/* log(u) + c, u = 2^k m normal and positive (its bits), m = 1 + f in [sqrt(2)/2, sqrt(2)).
 * bias is 1023, or 1023 + 54 for a subnormal lifted by 2^54. */
static double log_core(uint64_t u_bits, double bias, double c) {
    uint64_t carried = u_bits + (ONE_BITS - SQRT_HALF_BITS);
    double k = (double)(carried >> 52) - bias; /* exact */
    double m = from_bits((carried & MANTISSA_MASK) + SQRT_HALF_BITS);
    double f = m - 1.0; /* exact (Sterbenz) */
    double s = f / (2.0 + f);
    double z = s * s;
    double r = z * (L1 + z * (L2 + z * (L3 + z * (L4 + z * (L5 + z * (L6 + z * L7))))));
    double hfsq = 0.5 * f * f;
    /* f is exact and carries the bulk; the rounding errors stay in the terms after it,
     * which are at most about f/5 in size. */
    return k * LN2_HI - ((hfsq - (s * (hfsq + r) + (k * LN2_LO + c))) - f);
}

double bce_log(double x) {
    uint64_t b = bits_of(x);
    if (b - MIN_NORMAL_BITS < POS_INF_BITS - MIN_NORMAL_BITS) return log_core(b, 1023.0, 0.0);
    if (x != x) return x + x;
    if (x == 0.0) return from_bits(NEG_INF_BITS);
    if (x < 0.0) return from_bits(NAN_BITS);
    if (b == POS_INF_BITS) return x;
    /* subnormal: scaled by 2^54, exactly */
    return log_core(bits_of(x * TWO_POW_54), 1077.0, 0.0);
}

static double copy_sign(double magnitude, double sign) {
    return from_bits((bits_of(magnitude) & ~SIGN_MASK) | (bits_of(sign) & SIGN_MASK));
}

double bce_log1p(double x) {
    double u = 1.0 + x;
    uint64_t b = bits_of(u);
    if (b - MIN_NORMAL_BITS < THREE_BITS - MIN_NORMAL_BITS) {
        /* -1 < x < 2: |x| < 2 = 2 * |1|, so Fast2Sum gives the exact rounding error of
         * 1 + x; log(u + err) = log(u) + err/u to well below an ulp. */
        double err = x - (u - 1.0);
        return copy_sign(log_core(b, 1023.0, err / u), x);
    }
    if (x != x) return x + x;
    if (x < -1.0) return from_bits(NAN_BITS);
    if (x == -1.0) return from_bits(NEG_INF_BITS);
    if (bits_of(x) == POS_INF_BITS) return x;
    /* u >= 3: x >= 2 (Fast2Sum with x the larger), or x just below 2 rounding up to 3 */
    double err = x < 2.0 ? x - (u - 1.0) : 1.0 - (u - x);
    return copy_sign(log_core(b, 1023.0, err / u), x);
}

/* exp: c = r - z P(z), z = r^2, P(z) ~ (r coth(r/2) - 2) / z on |r| <= ln(2)/2: minimax
 * (Remez, weight r^3) error 2^-61.3 in exp(r). */
static const double P1 = 0.16666666666666557;
static const double P2 = -0.002777777777670995;
static const double P3 = 6.613756252963186e-05;
static const double P4 = -1.6533839629514293e-06;
static const double P5 = 4.136124138920889e-08;
static const double INV_LN2 = 0x1.71547652b82fep+0;
/* x * INV_LN2 + SHIFT rounds to an integer (ties to even) in the low bits of the sum */
static const double SHIFT = 0x1.8p52;
#define SHIFT_BITS UINT64_C(0x4338000000000000)
static const double EXP_OVER = 709.79;  /* above: inf (ln(DBL_MAX) = 709.78271289...) */
static const double EXP_UNDER = -745.2; /* below: 0 (exp < 2^-1075, half the least subnormal) */
static const double TWO_POW_MINUS_1000 = 0x1p-1000;

/* exp(r) for x = k ln 2 + r, in [sqrt(2)/2, sqrt(2)] about */
static double exp_core(double x, double k) {
    double hi = x - k * LN2_HI; /* exact: k * LN2_HI is, and it is close to x */
    double lo = k * LN2_LO;
    double r = hi - lo;
    double z = r * r;
    double c = r - z * (P1 + z * (P2 + z * (P3 + z * (P4 + z * P5))));
    /* exp(r) = 1 + r + r c / (2 - c), with r kept as hi - lo where it leads */
    return 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
}

double bce_exp(double x) {
    double t = x * INV_LN2 + SHIFT;
    uint64_t tb = bits_of(t);
    /* k = t - SHIFT in [-1021, 1023]: 2^k exp(r) is normal, scaled by adding k to the
     * exponent field; the low 12 bits of tb are k's, so tb << 52 is k << 52 mod 2^64. */
    if (tb - (SHIFT_BITS - 1021) <= 2044) {
        double y = exp_core(x, t - SHIFT);
        return from_bits(bits_of(y) + (tb << 52));
    }
    if (x != x) return x + x;
    if (x > EXP_OVER) return from_bits(POS_INF_BITS);
    if (x < EXP_UNDER) return 0.0;
    double k = t - SHIFT;
    double y = exp_core(x, k);
    /* k = 1024: scale by 2^1023, then one multiplication rounds (to inf if it must);
     * k < -1021: scale by 2^(k+1000), then one multiplication rounds into subnormals. */
    if (k > 0.0) return from_bits(bits_of(y) + ((tb - 1) << 52)) * 2.0;
    return from_bits(bits_of(y) + ((tb + 1000) << 52)) * TWO_POW_MINUS_1000;
}
