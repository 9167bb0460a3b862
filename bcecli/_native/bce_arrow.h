/* The Parquet fast path: a chunk's Arrow columns (their value buffers, in place) scored
 * in one pass: validated, their losses computed, the report's sums added exactly. */
#ifndef BCE_ARROW_H
#define BCE_ARROW_H

#include <stdint.h>

#include "bce_hist.h"
#include "bce_sums.h"

#define BCE_ARROW_MAX_MODELS 64

/* The value types a column may have: a numpy-style type code. */
typedef enum {
    BCE_ARROW_I8 = 'b',
    BCE_ARROW_I16 = 'h',
    BCE_ARROW_I32 = 'i',
    BCE_ARROW_I64 = 'q',
    BCE_ARROW_U8 = 'B',
    BCE_ARROW_U16 = 'H',
    BCE_ARROW_U32 = 'I',
    BCE_ARROW_U64 = 'Q',
    BCE_ARROW_F32 = 'f',
    BCE_ARROW_F64 = 'd',
} bce_arrow_type;

/* One column without missing values: its values from its first row on (the array's
 * offset already applied), `type` one of the codes above. */
typedef struct {
    int type;
    const void *values;
} bce_arrow_column;

/* The bytes of one value of `type`, 0 for a code this does not read. */
int bce_arrow_item_size(int type);

/* Score `rows` rows into `acc` (one group; weighted if `weight` is not NULL) and `hist`
 * (the loss histogram, of the same weighting; its edges NULL for none): labels
 * exactly 0 or 1 (the 0/1 rule), probabilities in [0, 1] (finite logits with `logit`),
 * weights finite and >= 0. Returns 1 when every row is valid; 0 as soon as one is not
 * (or a type is not read), the sums then partial: the caller discards them and scores
 * the chunk by the general path, which names the row; -1 when memory is short.
 * Predictions and weights must be float32 or float64. */
int bce_arrow_score(const bce_arrow_column *label, const bce_arrow_column *predictions,
                    int n_models, const bce_arrow_column *weight, int64_t rows, int logit,
                    double eps, bce_sums *acc, bce_hist *hist);

#endif
