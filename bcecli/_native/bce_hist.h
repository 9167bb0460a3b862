/* The loss histogram: per prediction column, rows and the exact sum of weights per bin
 * of the per-row loss, over fixed edges handed in by bcecli.core.loss_histogram (EDGES),
 * so the kernel and numpy bin every row alike: a loss's bin is the number of edges at or
 * below it (numpy's searchsorted(edges, loss, side="right")), found by comparison, never
 * by a logarithm; n_edges + 1 bins, a NaN in the last. */
#ifndef BCE_HIST_H
#define BCE_HIST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bce_exact.h"

#define BCE_HIST_MAX_EDGES 1024

typedef struct {
    const double *edges; /* n_edges, ascending; NULL: no histogram kept */
    int n_edges, n_models, weighted;
    int64_t *rows;     /* [model * (n_edges + 1) + bin] */
    bce_exact *weight; /* the same shape; only when weighted (else the rows are the weights) */
} bce_hist;

static inline int bce_hist_bins(const bce_hist *hist) { return hist->n_edges + 1; }

/* Allocate zeroed bins (none when `edges` is NULL); 0 on success, -1 when memory is short. */
static inline int bce_hist_init(bce_hist *hist, const double *edges, int n_edges, int n_models,
                                int weighted) {
    memset(hist, 0, sizeof *hist);
    if (edges == NULL) return 0;
    size_t cells = (size_t)(n_edges + 1) * (size_t)n_models;
    hist->edges = edges;
    hist->n_edges = n_edges;
    hist->n_models = n_models;
    hist->weighted = weighted;
    hist->rows = calloc(cells, sizeof *hist->rows);
    if (weighted) hist->weight = calloc(cells, sizeof *hist->weight);
    if (hist->rows == NULL || (weighted && hist->weight == NULL)) {
        free(hist->rows);
        free(hist->weight);
        memset(hist, 0, sizeof *hist);
        return -1;
    }
    return 0;
}

static inline void bce_hist_free(bce_hist *hist) {
    free(hist->rows);
    free(hist->weight);
    memset(hist, 0, sizeof *hist);
}

/* The bin of `loss`: how many edges are <= loss (a NaN: the last bin). A binary search
 * without branches on the data (a conditional move each step), so a row's bin costs no
 * mispredicted branch: every edge before `base` is <= loss, and the answer lies in
 * [base, base + length]. */
static inline int bce_hist_bin(const double *edges, int n_edges, double loss) {
    if (loss != loss) return n_edges;
    const double *base = edges;
    int length = n_edges;
    while (length > 1) {
        int half = length / 2;
        base = base[half] <= loss ? base + half : base;
        length -= half;
    }
    return (int)(base - edges) + (*base <= loss);
}

/* One valid row: each column's loss and the row's weight (ignored unless weighted). */
static inline void bce_hist_add_row(bce_hist *hist, const double *loss, double w) {
    if (hist->edges == NULL) return;
    size_t bins = (size_t)(hist->n_edges + 1);
    for (int m = 0; m < hist->n_models; m++) {
        size_t cell = (size_t)m * bins + (size_t)bce_hist_bin(hist->edges, hist->n_edges, loss[m]);
        hist->rows[cell] += 1;
        if (hist->weighted) bce_exact_add(&hist->weight[cell], w);
    }
}

#endif
