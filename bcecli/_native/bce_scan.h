/* The CSV fast path: one block of delimited text (whole lines) scored in one pass. */
#ifndef BCE_SCAN_H
#define BCE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "bce_sums.h"

#define BCE_SCAN_MAX_MODELS 64

typedef struct {
    char delimiter;
    int n_fields;   /* fields per line, as in the header */
    int label;      /* field index of the label */
    int n_models;
    int predictions[BCE_SCAN_MAX_MODELS]; /* field indices of the prediction columns */
    int weight;     /* field index of the weight, or -1 */
    int logit;
    double eps;
} bce_scan_config;

/* Score every line of [text, text + length) into `acc` (one group), counting the rows
 * in *rows. Returns 1 when every line was plain and valid; 0 as soon as one is not
 * (a quote, a CR alone, a field count that differs from the header, a value that is
 * missing, invalid or not spelled as a plain number): the caller then hands the whole
 * block to the general parser, which names the row or reads what this cannot. Empty
 * lines are skipped, as the general parser skips them. Never reads outside the block;
 * the block need not end with a line end. */
int bce_scan_block(const bce_scan_config *config, const char *text, size_t length, bce_sums *acc,
                   int64_t *rows);

#endif
