/* The CSV fast path: one block of delimited text (whole lines) scored in one pass. */
#ifndef BCE_SCAN_H
#define BCE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "bce_exact.h"
#include "bce_hist.h"
#include "bce_sums.h"

#define BCE_SCAN_MAX_MODELS 64
#define BCE_SCAN_MAX_BY 16       /* --by columns */
#define BCE_SCAN_MAX_GROUPS 4096 /* distinct group keys in one block */
#define BCE_SCAN_MAX_SUMS 32768  /* a block's exact sums over every group (about 19 MiB) */
#define BCE_SCAN_MAX_BINS 1024   /* --calibration N */
#define BCE_SCAN_MAX_BIN_CELLS 4096 /* bins times prediction columns (about 7 MiB) */
#define BCE_SCAN_MAX_WORST 65536 /* --worst K */

typedef struct {
    char delimiter;
    int n_fields;   /* fields per line, as in the header */
    int label;      /* field index of the label */
    int n_models;
    int predictions[BCE_SCAN_MAX_MODELS]; /* field indices of the prediction columns */
    int weight;     /* field index of the weight, or -1 */
    int logit;
    double eps;
    int n_by;                  /* --by columns, 0 for none */
    int by[BCE_SCAN_MAX_BY];   /* their field indices (distinct, no other role) */
    int bins;                  /* --calibration N, 0 for none */
    const double *edges;       /* bins + 1 edges, edges[i] = i / bins */
    int worst;                 /* --worst K, 0 for none */
    const double *hist_edges;  /* the loss histogram's edges, NULL for none */
    int hist_n_edges;
} bce_scan_config;

/* One of a block's worst rows by the first column's loss; `row` counts the block's rows
 * from 0 (empty lines are not rows). */
typedef struct {
    double loss, prob;
    int64_t row;
    int label;
} bce_scan_worst;

/* What a block's scan found. */
typedef struct {
    int64_t rows;
    bce_sums sums; /* per group: sums.n_groups is the capacity, n_groups those in use */
    int n_groups;
    /* --by: the groups' keys in order of first appearance, each stored in `keys` from
     * key_start[g] as, per --by column, a uint32_t length then the field's bytes; and an
     * open-addressing table of group + 1 (0: empty) by the keys' hash. */
    char *keys;
    size_t keys_length, keys_capacity;
    size_t *key_start;
    uint64_t *key_hash;
    int32_t *table;
    /* --calibration: per column and bin (column m's bins from m * bins), rows, positive
     * rows, and the exact sums of w, w p and w y (weight and positives kept only with
     * weights: without, they are counts). */
    int64_t *bin_rows, *bin_positive_rows;
    bce_exact *bin_weight, *bin_prob, *bin_positives;
    /* --worst: a heap of up to K rows, the one to drop first at the top. */
    bce_scan_worst *worst;
    int n_worst;
    /* The loss histogram of every column (see bce_hist.h). */
    bce_hist hist;
} bce_scan_result;

/* Allocate an empty result for `config`; 0 on success, -1 when memory is short. */
int bce_scan_result_init(bce_scan_result *result, const bce_scan_config *config);
void bce_scan_result_free(bce_scan_result *result);

/* Score every line of [text, text + length) into `result`. Returns 1 when every line was
 * plain and valid; 0 as soon as one is not (a quote, a CR alone, a field count that
 * differs from the header, a value that is missing, invalid or not spelled as a plain
 * number, a group key that is not UTF-8, more distinct keys than a block may hold): the
 * caller then hands the whole block to the general parser, which names the row or reads
 * what this cannot; -1 when memory is short. Empty lines are skipped, as the general
 * parser skips them. Never reads outside the block; the block need not end with a line
 * end. */
int bce_scan_block(const bce_scan_config *config, const char *text, size_t length,
                   bce_scan_result *result);

#endif
