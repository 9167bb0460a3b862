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
/* A bucket of positive doubles: one binary exponent and the top 3 bits of the mantissa
 * (an eighth of an octave), so the bits >> 49. */
#define BCE_HIST_BUCKET_SHIFT 49
#define BCE_HIST_MAX_BUCKETS 4096

typedef struct {
    const double *edges; /* n_edges, ascending; NULL: no histogram kept */
    int n_edges, n_models, weighted;
    int64_t *rows;     /* [model * (n_edges + 1) + bin] */
    bce_exact *weight; /* the same shape; only when weighted (else the rows are the weights) */
    /* Where to start looking: per bucket from edges[0]'s to the last edge's, the bin of
     * the bucket's lowest value; NULL (search every time) for edges it does not fit. */
    uint16_t *start;
    uint64_t first_bucket;
} bce_hist;

static inline uint64_t bce_hist_bits(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

static inline int bce_hist_bins(const bce_hist *hist) { return hist->n_edges + 1; }

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
    if (hist->rows == NULL || (weighted && hist->weight == NULL)) goto fail;
    uint64_t first = bce_hist_bits(edges[0]) >> BCE_HIST_BUCKET_SHIFT;
    uint64_t last = bce_hist_bits(edges[n_edges - 1]) >> BCE_HIST_BUCKET_SHIFT;
    /* Positive, finite edges only: then the buckets order as the doubles do. */
    if (edges[0] > 0.0 && (bce_hist_bits(edges[n_edges - 1]) >> 52) < 0x7ffu &&
        last - first < BCE_HIST_MAX_BUCKETS) {
        size_t buckets = (size_t)(last - first) + 1;
        hist->start = malloc(buckets * sizeof *hist->start);
        if (hist->start == NULL) goto fail;
        hist->first_bucket = first;
        for (size_t b = 0; b < buckets; b++) {
            uint64_t low_bits = (first + b) << BCE_HIST_BUCKET_SHIFT;
            double low;
            memcpy(&low, &low_bits, sizeof low);
            hist->start[b] = (uint16_t)bce_hist_bin(edges, n_edges, low);
        }
    }
    return 0;
fail:
    free(hist->rows);
    free(hist->weight);
    memset(hist, 0, sizeof *hist);
    return -1;
}

static inline void bce_hist_free(bce_hist *hist) {
    free(hist->rows);
    free(hist->weight);
    free(hist->start);
    memset(hist, 0, sizeof *hist);
}

/* The bin of `loss` as bce_hist_bin finds it, from its bucket's first bin: the bucket
 * is only where to start, the bin is settled by comparing with the edges. */
static inline int bce_hist_find(const bce_hist *hist, double loss) {
    const double *edges = hist->edges;
    int n_edges = hist->n_edges;
    if (hist->start == NULL) return bce_hist_bin(edges, n_edges, loss);
    if (!(loss >= edges[0])) return loss != loss ? n_edges : 0;
    if (loss >= edges[n_edges - 1]) return n_edges;
    /* edges[0] <= loss < edges[n_edges - 1]: a positive double within the table. */
    int bin = hist->start[(bce_hist_bits(loss) >> BCE_HIST_BUCKET_SHIFT) - hist->first_bucket];
    /* A bucket holds at most one edge of bce's (1/8 octave against 1/8 decade): one step
     * without a branch, then a loop for denser edges (ends: edges[n_edges - 1] > loss). */
    bin += edges[bin] <= loss;
    while (edges[bin] <= loss) bin++;
    return bin;
}

/* A block of one column's losses, with their weights (NULL: unweighted, ignored unless
 * the histogram is weighted). Unweighted, rows are counted in four lanes, one row in
 * four each, then added up: rows in the same bin one after another would otherwise
 * wait each on the last one's count. */
#define BCE_HIST_LANES 4
static inline void bce_hist_add_block(bce_hist *hist, int model, const double *loss,
                                      const double *w, int count) {
    if (hist->edges == NULL) return;
    int bins = bce_hist_bins(hist);
    int64_t *rows = hist->rows + (size_t)model * (size_t)bins;
    if (hist->weighted) {
        bce_exact *weight = hist->weight + (size_t)model * (size_t)bins;
        for (int i = 0; i < count; i++) {
            int bin = bce_hist_find(hist, loss[i]);
            rows[bin] += 1;
            bce_exact_add(&weight[bin], w[i]);
        }
        return;
    }
    uint32_t lanes[BCE_HIST_LANES][BCE_HIST_MAX_EDGES + 1];
    for (int lane = 0; lane < BCE_HIST_LANES; lane++)
        memset(lanes[lane], 0, (size_t)bins * sizeof lanes[lane][0]);
    int i = 0;
    for (; i + BCE_HIST_LANES <= count; i += BCE_HIST_LANES)
        for (int lane = 0; lane < BCE_HIST_LANES; lane++)
            lanes[lane][bce_hist_find(hist, loss[i + lane])] += 1;
    for (; i < count; i++) lanes[0][bce_hist_find(hist, loss[i])] += 1;
    for (int bin = 0; bin < bins; bin++)
        for (int lane = 0; lane < BCE_HIST_LANES; lane++) rows[bin] += lanes[lane][bin];
}

#endif
