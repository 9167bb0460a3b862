/* Exact sums of float64 values, in units of 2^-1074 (the smallest subnormal), so every
 * finite double is an integer number of units and a sum of them is exact whatever the
 * order. The same representation as bcecli.core.exact.ExactSum: the Python int built by
 * bce_exact_to_python() is its `units`, the non-finite terms' float sum its `special`.
 *
 * The integer is kept as signed 32-bit digits in int64_t limbs: an add touches three
 * limbs and may leave each up to 2^32 further from zero, so 2^30 adds fit before the
 * carries must be propagated (bce_exact_normalize), far within int64_t's range. */
#ifndef BCE_EXACT_H
#define BCE_EXACT_H

#include <stdint.h>
#include <string.h>

/* Units span 2^0 .. 2^(2045+53) for finite doubles: 66 digits, plus room for carries. */
#define BCE_EXACT_LIMBS 72
#define BCE_EXACT_FLUSH (1u << 30)

typedef struct {
    int64_t limb[BCE_EXACT_LIMBS];
    uint32_t adds; /* since the last normalisation */
    double special; /* the float sum of the infinite and NaN terms */
} bce_exact;

static inline void bce_exact_init(bce_exact *sum) { memset(sum, 0, sizeof *sum); }

/* Propagate carries so every limb but the top one is in [0, 2^32). */
static inline void bce_exact_normalize(bce_exact *sum) {
    int64_t carry = 0;
    for (int i = 0; i < BCE_EXACT_LIMBS - 1; i++) {
        int64_t value = sum->limb[i] + carry;
        int64_t low = (int64_t)((uint64_t)value & 0xffffffffu);
        sum->limb[i] = low;
        carry = (value - low) / 4294967296; /* exact: value - low is a multiple of 2^32 */
    }
    sum->limb[BCE_EXACT_LIMBS - 1] += carry;
    sum->adds = 0;
}

static inline void bce_exact_add(bce_exact *sum, double value) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    unsigned exponent = (unsigned)(bits >> 52) & 0x7ffu;
    uint64_t mantissa = bits & ((UINT64_C(1) << 52) - 1);
    if (exponent - 1u < 0x7feu) { /* normal: value = (2^52 + mantissa) * 2^(exponent - 1) units */
        mantissa |= UINT64_C(1) << 52;
        exponent -= 1;
    } else if (exponent == 0x7ffu) {
        sum->special += value;
        return;
    } else if (mantissa == 0) { /* zero; a subnormal is mantissa units */
        return;
    }
    unsigned index = exponent >> 5, shift = exponent & 31u;
    int64_t d0 = (int64_t)((mantissa << shift) & 0xffffffffu);
    uint64_t rest = (mantissa >> 1) >> (31u - shift); /* mantissa >> (32 - shift), shift 0 too */
    int64_t d1 = (int64_t)(rest & 0xffffffffu);
    int64_t d2 = (int64_t)(rest >> 32);
    if (bits >> 63) {
        sum->limb[index] -= d0;
        sum->limb[index + 1] -= d1;
        sum->limb[index + 2] -= d2;
    } else {
        sum->limb[index] += d0;
        sum->limb[index + 1] += d1;
        sum->limb[index + 2] += d2;
    }
    if (++sum->adds >= BCE_EXACT_FLUSH) bce_exact_normalize(sum);
}

/* Add a non-negative integer count of whole ones (rows, positives without weights). */
static inline void bce_exact_add_count(bce_exact *sum, uint64_t count) {
    /* count * 2^1074 units: 1074 = 33 * 32 + 18 */
    uint64_t low = count << 18, high = count >> 46;
    sum->limb[33] += (int64_t)(low & 0xffffffffu);
    sum->limb[34] += (int64_t)(low >> 32);
    sum->limb[35] += (int64_t)high;
    if (++sum->adds >= BCE_EXACT_FLUSH) bce_exact_normalize(sum);
}

static inline void bce_exact_merge(bce_exact *into, bce_exact *from) {
    bce_exact_normalize(into);
    bce_exact_normalize(from);
    for (int i = 0; i < BCE_EXACT_LIMBS; i++) into->limb[i] += from->limb[i];
    into->special += from->special;
    bce_exact_normalize(into);
}

#endif
