/* The Parquet fast path's kernel; see bce_arrow.h. */
#include "bce_arrow.h"

#include <stdlib.h>
#include <string.h>

#include "bce_loss.h"

/* Rows converted at a time: the columns' values of a block fit in the L1 cache. */
#define BLOCK 512

int bce_arrow_item_size(int type) {
    switch (type) {
    case BCE_ARROW_I8:
    case BCE_ARROW_U8: return 1;
    case BCE_ARROW_I16:
    case BCE_ARROW_U16: return 2;
    case BCE_ARROW_I32:
    case BCE_ARROW_U32:
    case BCE_ARROW_F32: return 4;
    case BCE_ARROW_I64:
    case BCE_ARROW_U64:
    case BCE_ARROW_F64: return 8;
    default: return 0;
    }
}

static int is_finite(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return ((bits >> 52) & 0x7ffu) != 0x7ffu;
}

/* Labels [start, start + count) as 0/1 in y; 0 when one is neither 0 nor 1. */
#define INTEGER_LABELS(ctype)                                                   \
    do {                                                                        \
        const ctype *v = (const ctype *)label->values + start;                  \
        ctype bad = 0;                                                          \
        for (int i = 0; i < count; i++) {                                       \
            bad |= (ctype)(v[i] & (ctype)~(ctype)1);                            \
            y[i] = (uint8_t)(v[i] & 1);                                         \
        }                                                                       \
        return bad == 0;                                                        \
    } while (0)

#define FLOAT_LABELS(ctype)                                                     \
    do {                                                                        \
        const ctype *v = (const ctype *)label->values + start;                  \
        int ok = 1;                                                             \
        for (int i = 0; i < count; i++) {                                       \
            ok &= (v[i] == (ctype)0) | (v[i] == (ctype)1);                      \
            y[i] = (uint8_t)(v[i] == (ctype)1);                                 \
        }                                                                       \
        return ok;                                                              \
    } while (0)

static int read_labels(const bce_arrow_column *label, int64_t start, int count, uint8_t *y) {
    switch (label->type) {
    case BCE_ARROW_I8: INTEGER_LABELS(int8_t);
    case BCE_ARROW_U8: INTEGER_LABELS(uint8_t);
    case BCE_ARROW_I16: INTEGER_LABELS(int16_t);
    case BCE_ARROW_U16: INTEGER_LABELS(uint16_t);
    case BCE_ARROW_I32: INTEGER_LABELS(int32_t);
    case BCE_ARROW_U32: INTEGER_LABELS(uint32_t);
    case BCE_ARROW_I64: INTEGER_LABELS(int64_t);
    case BCE_ARROW_U64: INTEGER_LABELS(uint64_t);
    case BCE_ARROW_F32: FLOAT_LABELS(float);
    case BCE_ARROW_F64: FLOAT_LABELS(double);
    default: return 0;
    }
}

/* Values [start, start + count) as float64 (float32 widens exactly); 0 for other types. */
static int read_doubles(const bce_arrow_column *column, int64_t start, int count, double *out) {
    if (column->type == BCE_ARROW_F64) {
        memcpy(out, (const double *)column->values + start, (size_t)count * sizeof *out);
        return 1;
    }
    if (column->type == BCE_ARROW_F32) {
        const float *v = (const float *)column->values + start;
        for (int i = 0; i < count; i++) out[i] = (double)v[i];
        return 1;
    }
    return 0;
}

static int score_blocks(const bce_arrow_column *label, const bce_arrow_column *predictions,
                        int n_models, const bce_arrow_column *weight, int64_t rows, int logit,
                        double eps, bce_sums *acc, bce_hist *hist, double *values) {
    uint8_t y[BLOCK];
    double w[BLOCK];
    for (int64_t start = 0; start < rows; start += BLOCK) {
        int count = rows - start < BLOCK ? (int)(rows - start) : BLOCK;
        if (!read_labels(label, start, count, y)) return 0;
        for (int m = 0; m < n_models; m++) {
            double *x = values + (size_t)m * BLOCK;
            if (!read_doubles(&predictions[m], start, count, x)) return 0;
            int ok = 1;
            if (logit) {
                for (int i = 0; i < count; i++) ok &= is_finite(x[i]);
            } else {
                for (int i = 0; i < count; i++) ok &= (x[i] >= 0.0) & (x[i] <= 1.0);
            }
            if (!ok) return 0;
        }
        if (weight != NULL) {
            if (!read_doubles(weight, start, count, w)) return 0;
            int ok = 1;
            for (int i = 0; i < count; i++) ok &= is_finite(w[i]) & (w[i] >= 0.0);
            if (!ok) return 0;
        }
        for (int i = 0; i < count; i++) {
            double p[BCE_ARROW_MAX_MODELS], loss[BCE_ARROW_MAX_MODELS];
            uint8_t clipped[BCE_ARROW_MAX_MODELS];
            for (int m = 0; m < n_models; m++) {
                double x = values[(size_t)m * BLOCK + (size_t)i];
                if (logit) {
                    loss[m] = bce_loss_from_logit(y[i], x);
                    p[m] = bce_sigmoid(x);
                } else {
                    loss[m] = bce_loss_from_prob(y[i], x, eps);
                    p[m] = x;
                    clipped[m] = (uint8_t)bce_is_clipped(x, eps);
                }
            }
            bce_sums_add_row(acc, 0, y[i], p, loss, weight ? w[i] : 1.0, logit ? NULL : clipped);
            /* The prediction is read: its place keeps the loss for the histogram. */
            for (int m = 0; m < n_models; m++) values[(size_t)m * BLOCK + (size_t)i] = loss[m];
        }
        /* The block's losses binned column by column, apart from the sums: each row's bin
         * is then independent of the row before it. */
        for (int m = 0; m < n_models; m++)
            bce_hist_add_block(hist, m, values + (size_t)m * BLOCK, weight ? w : NULL, count);
    }
    return 1;
}

int bce_arrow_score(const bce_arrow_column *label, const bce_arrow_column *predictions,
                    int n_models, const bce_arrow_column *weight, int64_t rows, int logit,
                    double eps, bce_sums *acc, bce_hist *hist) {
    if (n_models < 1 || n_models > BCE_ARROW_MAX_MODELS) return 0;
    /* Each model's values of a block, on the heap: a thread's stack may be small. */
    double *values = malloc((size_t)n_models * BLOCK * sizeof *values);
    if (values == NULL) return -1;
    int scored = score_blocks(label, predictions, n_models, weight, rows, logit, eps, acc, hist, values);
    free(values);
    return scored;
}

