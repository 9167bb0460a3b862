/* The exact sums of the report, per group: the C twin of bcecli.core.accumulate's
 * chunk_sums. Each row's terms are the same float64 operations MODEL_TERMS and
 * DIFF_TERMS perform over numpy arrays (bcecli/core/metrics.py), then added exactly. */
#ifndef BCE_SUMS_H
#define BCE_SUMS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bce_exact.h"

/* The exact sums of one prediction column, in the order of SUM_NAMES. */
enum { BCE_LOSS, BCE_LOSS_SQ, BCE_LOSS_W, BCE_PROB, BCE_BRIER, BCE_DIFF, BCE_DIFF_SQ, BCE_DIFF_W,
       BCE_MODEL_SUMS };
/* The population's: weight, weight squared, positives (kept only with weights: without,
 * they are counts). */
enum { BCE_WEIGHT, BCE_WEIGHT_SQ, BCE_POSITIVES, BCE_GROUP_SUMS };

typedef struct {
    int n_groups, n_models, weighted;
    int64_t *rows;      /* [group] */
    int64_t *positives; /* [group]: positive rows, for the unweighted sums */
    int64_t *clipped;   /* [group * n_models + model] */
    bce_exact *sums;    /* [group * slots + slot]: BCE_GROUP_SUMS, then BCE_MODEL_SUMS per model */
} bce_sums;

static inline int bce_sums_slots(int n_models) { return BCE_GROUP_SUMS + n_models * BCE_MODEL_SUMS; }

/* Allocate zeroed sums; 0 on success, -1 when memory is short. */
static inline int bce_sums_init(bce_sums *acc, int n_groups, int n_models, int weighted) {
    size_t groups = (size_t)n_groups, slots = (size_t)bce_sums_slots(n_models);
    acc->n_groups = n_groups;
    acc->n_models = n_models;
    acc->weighted = weighted;
    acc->rows = calloc(groups, sizeof *acc->rows);
    acc->positives = calloc(groups, sizeof *acc->positives);
    acc->clipped = calloc(groups * (size_t)n_models, sizeof *acc->clipped);
    acc->sums = calloc(groups * slots, sizeof *acc->sums);
    if (!acc->rows || !acc->positives || !acc->clipped || !acc->sums) {
        free(acc->rows);
        free(acc->positives);
        free(acc->clipped);
        free(acc->sums);
        acc->rows = acc->positives = acc->clipped = NULL;
        acc->sums = NULL;
        return -1;
    }
    return 0;
}

static inline void bce_sums_free(bce_sums *acc) {
    free(acc->rows);
    free(acc->positives);
    free(acc->clipped);
    free(acc->sums);
    acc->rows = acc->positives = acc->clipped = NULL;
    acc->sums = NULL;
}

/* Resize to `n_groups` groups, keeping the first ones' sums and zeroing any new ones;
 * 0 on success, -1 when memory is short (the sums are then unchanged). */
static inline int bce_sums_resize(bce_sums *acc, int n_groups) {
    size_t old = (size_t)acc->n_groups, groups = (size_t)n_groups;
    size_t models = (size_t)acc->n_models, slots = (size_t)bce_sums_slots(acc->n_models);
    int64_t *rows = realloc(acc->rows, groups * sizeof *rows);
    if (rows == NULL) return -1;
    acc->rows = rows;
    int64_t *positives = realloc(acc->positives, groups * sizeof *positives);
    if (positives == NULL) return -1;
    acc->positives = positives;
    int64_t *clipped = realloc(acc->clipped, groups * models * sizeof *clipped);
    if (clipped == NULL) return -1;
    acc->clipped = clipped;
    bce_exact *sums = realloc(acc->sums, groups * slots * sizeof *sums);
    if (sums == NULL) return -1;
    acc->sums = sums;
    if (groups > old) {
        memset(rows + old, 0, (groups - old) * sizeof *rows);
        memset(positives + old, 0, (groups - old) * sizeof *positives);
        memset(clipped + old * models, 0, (groups - old) * models * sizeof *clipped);
        memset(sums + old * slots, 0, (groups - old) * slots * sizeof *sums);
    }
    acc->n_groups = n_groups;
    return 0;
}

/* One valid row: its label, each column's p (sigmoid(z) for logits) and loss, its
 * weight (ignored unless weighted), whether each p was clipped. */
static inline void bce_sums_add_row(bce_sums *acc, int group, int y, const double *p,
                                    const double *loss, double w, const uint8_t *clipped) {
    bce_exact *sums = acc->sums + (size_t)group * (size_t)bce_sums_slots(acc->n_models);
    acc->rows[group] += 1;
    acc->positives[group] += y != 0;
    double target = y ? 1.0 : 0.0;
    if (acc->weighted) {
        bce_exact_add(&sums[BCE_WEIGHT], w);
        bce_exact_add(&sums[BCE_WEIGHT_SQ], w * w);
        if (y) bce_exact_add(&sums[BCE_POSITIVES], w);
    }
    for (int m = 0; m < acc->n_models; m++) {
        bce_exact *model = sums + BCE_GROUP_SUMS + m * BCE_MODEL_SUMS;
        double error = p[m] - target;
        double error_sq = error * error;
        if (acc->weighted) {
            double weighted_loss = w * loss[m];
            bce_exact_add(&model[BCE_LOSS], weighted_loss);
            bce_exact_add(&model[BCE_LOSS_SQ], weighted_loss * weighted_loss);
            bce_exact_add(&model[BCE_LOSS_W], w * weighted_loss);
            bce_exact_add(&model[BCE_PROB], w * p[m]);
            bce_exact_add(&model[BCE_BRIER], w * error_sq);
            if (m) {
                double weighted_diff = w * (loss[m] - loss[0]);
                bce_exact_add(&model[BCE_DIFF], weighted_diff);
                bce_exact_add(&model[BCE_DIFF_SQ], weighted_diff * weighted_diff);
                bce_exact_add(&model[BCE_DIFF_W], w * weighted_diff);
            }
        } else { /* w = 1: loss_w is loss and diff_w is diff, summed once at the end */
            bce_exact_add(&model[BCE_LOSS], loss[m]);
            bce_exact_add(&model[BCE_LOSS_SQ], loss[m] * loss[m]);
            bce_exact_add(&model[BCE_PROB], p[m]);
            bce_exact_add(&model[BCE_BRIER], error_sq);
            if (m) {
                double diff = loss[m] - loss[0];
                bce_exact_add(&model[BCE_DIFF], diff);
                bce_exact_add(&model[BCE_DIFF_SQ], diff * diff);
            }
        }
        if (clipped) acc->clipped[(size_t)group * (size_t)acc->n_models + (size_t)m] += clipped[m];
    }
}

/* Add another accumulator of the same shape (a thread's block) into this one. */
static inline void bce_sums_merge(bce_sums *into, bce_sums *from) {
    size_t groups = (size_t)into->n_groups, slots = (size_t)bce_sums_slots(into->n_models);
    for (size_t g = 0; g < groups; g++) {
        into->rows[g] += from->rows[g];
        into->positives[g] += from->positives[g];
    }
    for (size_t i = 0; i < groups * (size_t)into->n_models; i++) into->clipped[i] += from->clipped[i];
    for (size_t i = 0; i < groups * slots; i++) bce_exact_merge(&into->sums[i], &from->sums[i]);
}

#endif
