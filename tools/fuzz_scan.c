/* libFuzzer target for bce_scan_block (bcecli/_native/bce_scan.c); tools/fuzz.py builds
 * it with -fsanitize=fuzzer,address,undefined and runs it (--target scan).
 *
 * The first CONFIG_BYTES bytes of an input choose a config: the delimiter (one of
 * , ; TAB |), the fields per line (1..8), the label, weight (or none) and 1-3 prediction
 * field indices (distinct, or one input in four overlapping), logits or probabilities. The rest is the block, handed over in a
 * buffer of exactly its length so AddressSanitizer catches any read past it.
 *
 * The reference is written here, plainly: lines split on '\n', a trailing '\r' dropped,
 * empty lines skipped, fields split on the delimiter, the count equal to the header's,
 * the needed fields of the decimal shape parsed with strtod in the "C" locale on a
 * NUL-terminated copy; labels 0 or 1, probabilities in [0, 1] (logits finite), weights
 * finite and >= 0. Checks, aborting on a failure:
 *   - when the scanner accepts the block, the reference accepts it, with the same row
 *     count, and the sums it adds (the same loss code, the reference's values) are the
 *     scanner's to the bit: a value parsed from the wrong field or a wrong row shows;
 *   - when the reference accepts a block without quotes or stray CRs whose numbers all
 *     have at most 19 significant digits (the decimal parser decides all of those), the
 *     scanner accepts it too: it declines nothing it is documented to read. */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bce_loss.h"
#include "bce_scan.h"
#include "bce_sums.h"

#define CONFIG_BYTES 6
#define MAX_FIELDS 8

#include "fuzz_reference.h"

/* strtod of a field of the shape; 0 when it is not of the shape. */
static int reference_number(const char *text, size_t n, double *out, int *long_mantissa) {
    size_t significant = 0;
    if (!number_shape(text, n, &significant)) return 0;
    if (significant > 19) *long_mantissa = 1;
    char *copy = malloc(n + 1);
    if (!copy) abort();
    memcpy(copy, text, n);
    copy[n] = 0;
    char *end;
    *out = strtod(copy, &end);
    if (end != copy + n) {
        fprintf(stderr, "strtod did not read the whole field: %s\n", copy);
        abort();
    }
    free(copy);
    return 1;
}

/* The loss histogram's edges (bcecli.core.loss_histogram.EDGES is the float64 nearest to
 * each 10^(k/8); pow's may be an ulp off, which matters not: any ascending edges do), and
 * the reference's bin: a count of the edges at or below the loss, a NaN in the last. */
#define HIST_EDGES 65
static double hist_edges[HIST_EDGES];

static int reference_hist_bin(double loss) {
    if (loss != loss) return HIST_EDGES;
    int bin = 0;
    while (bin < HIST_EDGES && hist_edges[bin] <= loss) bin++;
    return bin;
}

/* Each column's histogram as the reference fills it: rows and exact weights per bin. */
typedef struct {
    int64_t rows[BCE_SCAN_MAX_MODELS * (HIST_EDGES + 1)];
    bce_exact weight[BCE_SCAN_MAX_MODELS * (HIST_EDGES + 1)];
} reference_hist;

/* The reference: 1 and *rows (its rows added to acc and hist) when every line is valid. A
 * line it cannot judge the way the general parser would (a quote, a lone CR) sets *plain
 * 0. */
static int reference_block(const bce_scan_config *config, const char *text, size_t length,
                           bce_sums *acc, reference_hist *hist, int64_t *rows, int *plain,
                           int *long_mantissa) {
    int64_t count = 0;
    size_t start = 0;
    *plain = memchr(text, '"', length) == NULL;
    while (start < length) {
        size_t stop = start;
        while (stop < length && text[stop] != '\n') stop++;
        size_t end = stop;
        if (end > start && text[end - 1] == '\r') end--;
        const char *line = text + start;
        size_t line_length = end - start;
        start = stop + 1;
        if (line_length == 0) continue;
        if (memchr(line, '\r', line_length) != NULL) *plain = 0;

        const char *fields[MAX_FIELDS];
        size_t lengths[MAX_FIELDS];
        int n = 0;
        size_t field_start = 0;
        for (size_t i = 0; i <= line_length; i++) {
            if (i == line_length || line[i] == config->delimiter) {
                if (n == MAX_FIELDS) return 0;
                fields[n] = line + field_start;
                lengths[n] = i - field_start;
                n++;
                field_start = i + 1;
            }
        }
        if (n != config->n_fields) return 0;

        double value;
        if (!reference_number(fields[config->label], lengths[config->label], &value,
                              long_mantissa))
            return 0;
        if (value != 0.0 && value != 1.0) return 0;
        int label = value == 1.0;
        double weight = 1.0;
        if (config->weight >= 0) {
            if (!reference_number(fields[config->weight], lengths[config->weight], &weight,
                                  long_mantissa))
                return 0;
            if (!isfinite(weight) || weight < 0.0) return 0;
        }
        double p[BCE_SCAN_MAX_MODELS], loss[BCE_SCAN_MAX_MODELS];
        uint8_t clipped[BCE_SCAN_MAX_MODELS];
        for (int m = 0; m < config->n_models; m++) {
            int f = config->predictions[m];
            double x;
            if (!reference_number(fields[f], lengths[f], &x, long_mantissa)) return 0;
            if (config->logit ? !isfinite(x) : !(x >= 0.0 && x <= 1.0)) return 0;
            if (config->logit) {
                loss[m] = bce_loss_from_logit(label, x);
                p[m] = bce_sigmoid(x);
            } else {
                loss[m] = bce_loss_from_prob(label, x, config->eps);
                p[m] = x;
                clipped[m] = (uint8_t)bce_is_clipped(x, config->eps);
            }
        }
        bce_sums_add_row(acc, 0, label, p, loss, weight, config->logit ? NULL : clipped);
        for (int m = 0; m < config->n_models; m++) {
            int cell = m * (HIST_EDGES + 1) + reference_hist_bin(loss[m]);
            hist->rows[cell] += 1;
            if (config->weight >= 0) bce_exact_add(&hist->weight[cell], weight);
        }
        count++;
    }
    *rows = count;
    return 1;
}

static int same_exact(bce_exact *a, bce_exact *b) {
    bce_exact_normalize(a);
    bce_exact_normalize(b);
    if (memcmp(a->limb, b->limb, sizeof a->limb) != 0) return 0;
    return a->special == b->special || (a->special != a->special && b->special != b->special);
}

/* The scanner's histogram against the reference's, bin by bin. */
static int same_hist(const bce_scan_config *config, bce_hist *scanned, reference_hist *hist) {
    if (scanned->n_edges != HIST_EDGES || scanned->n_models != config->n_models) return 0;
    for (int cell = 0; cell < config->n_models * (HIST_EDGES + 1); cell++) {
        if (scanned->rows[cell] != hist->rows[cell]) return 0;
        if (scanned->weighted && !same_exact(&scanned->weight[cell], &hist->weight[cell]))
            return 0;
    }
    return 1;
}

static int same_sums(bce_sums *a, bce_sums *b) {
    if (a->rows[0] != b->rows[0] || a->positives[0] != b->positives[0]) return 0;
    for (int m = 0; m < a->n_models; m++)
        if (a->clipped[m] != b->clipped[m]) return 0;
    for (int i = 0; i < bce_sums_slots(a->n_models); i++)
        if (!same_exact(&a->sums[i], &b->sums[i])) return 0;
    return 1;
}

/* Field indices for label, weight and predictions: distinct (a permutation of the
 * fields) or, one input in four, any (one field may be the weight and a prediction,
 * -w prob, or the weight and the label, -w label; predictions may repeat). */
static void make_config(const uint8_t *c, bce_scan_config *config) {
    static const char delimiters[4] = {',', ';', '\t', '|'};
    memset(config, 0, sizeof *config);
    config->delimiter = delimiters[c[0] & 3];
    config->logit = (c[0] >> 2) & 1;
    int weighted = (c[0] >> 3) & 1;
    config->eps = (c[0] >> 4) & 1 ? 1e-15 : 0.01;
    int overlapping = (c[0] >> 5) == 0;
    config->n_fields = 1 + c[1] % MAX_FIELDS;
    config->n_models = 1 + c[2] % 3;
    config->n_by = 0; /* --by, --calibration and --worst are tested through the CLI */
    config->bins = 0;
    config->edges = NULL;
    config->worst = 0;
    uint32_t bits = (uint32_t)c[3] | (uint32_t)c[4] << 8 | (uint32_t)c[5] << 16;
    if (overlapping) {
        uint32_t n = (uint32_t)config->n_fields;
        config->label = (int)(bits % n);
        bits /= n;
        for (int m = 0; m < config->n_models; m++) {
            config->predictions[m] = (int)(bits % n);
            bits /= n;
        }
        config->weight = weighted ? (int)(bits % n) : -1;
        return;
    }
    int needed = 1 + config->n_models + weighted;
    if (needed > config->n_fields) config->n_fields = needed;
    /* A permutation of the fields, from the bytes: the first ones are the roles'. */
    int order[MAX_FIELDS];
    for (int i = 0; i < config->n_fields; i++) order[i] = i;
    for (int i = config->n_fields - 1; i > 0; i--) {
        int j = (int)(bits % (uint32_t)(i + 1));
        bits /= (uint32_t)(i + 1);
        bits = bits * 2654435761u + 1u;
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    config->label = order[0];
    for (int m = 0; m < config->n_models; m++) config->predictions[m] = order[1 + m];
    config->weight = weighted ? order[1 + config->n_models] : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int initialised = 0;
    if (!initialised) {
        setlocale(LC_ALL, "C");
        for (int k = -48; k <= 16; k++) hist_edges[k + 48] = pow(10.0, (double)k / 8.0);
        initialised = 1;
    }
    if (size < CONFIG_BYTES) return 0;
    bce_scan_config config;
    make_config(data, &config);
    /* One input in four also asks for a --by column (any field), reliability bins and
     * worst rows: then the groups' rows must add up to the reference's, whose sums are
     * of one group only. */
    static double edges[9];
    int parts = (data[1] & 0xC0u) == 0;
    if (parts) {
        config.n_by = 1;
        config.by[0] = (int)(data[3] % (uint8_t)config.n_fields);
        config.bins = 1 + (data[4] & 7);
        for (int i = 0; i <= config.bins; i++) edges[i] = (double)i / (double)config.bins;
        config.edges = edges;
        config.worst = data[5] & 3;
    }
    config.hist_edges = hist_edges;
    config.hist_n_edges = HIST_EDGES;
    size_t length = size - CONFIG_BYTES;
    char *block = malloc(length ? length : 1);
    if (!block) return 0;
    if (length) memcpy(block, data + CONFIG_BYTES, length);

    bce_scan_result result;
    bce_sums reference;
    if (bce_scan_result_init(&result, &config) < 0) abort();
    if (bce_sums_init(&reference, 1, config.n_models, config.weight >= 0) < 0) abort();
    int64_t reference_rows = -1;
    int accepted = bce_scan_block(&config, block, length, &result);
    if (accepted < 0) abort(); /* memory: not expected at these sizes */
    int64_t scanned_rows = result.rows;
    bce_sums *scanned = &result.sums;
    int plain = 1, long_mantissa = 0;
    static reference_hist hist;
    memset(&hist, 0, sizeof hist);
    int valid = reference_block(&config, block, length, &reference, &hist, &reference_rows,
                                &plain, &long_mantissa);
    if (accepted) {
        if (!valid) {
            fprintf(stderr, "the scanner accepted a block the reference refuses\n");
            abort();
        }
        if (scanned_rows != reference_rows) {
            fprintf(stderr, "rows: scanner %lld, reference %lld\n", (long long)scanned_rows,
                    (long long)reference_rows);
            abort();
        }
        if (!same_hist(&config, &result.hist, &hist)) {
            fprintf(stderr, "the scanner's loss histogram differs from the reference's\n");
            abort();
        }
        int64_t grouped = 0, binned = 0;
        for (int g = 0; g < result.n_groups; g++) grouped += scanned->rows[g];
        /* Every column's bins hold every row: column m's from m * bins. */
        for (int b = 0; b < config.bins * config.n_models; b++) binned += result.bin_rows[b];
        if (parts && (grouped != reference_rows || binned != reference_rows * config.n_models ||
                      result.n_worst != (reference_rows < config.worst ? reference_rows
                                                                         : config.worst))) {
            fprintf(stderr, "groups, bins or worst rows do not add up to the rows\n");
            abort();
        }
        if (!parts && !same_sums(scanned, &reference)) {
            fprintf(stderr, "the scanner's sums differ from the reference's\n");
            abort();
        }
    } else if (valid && plain && !long_mantissa && !parts) {
        fprintf(stderr, "the scanner declined a plain valid block\n");
        abort();
    }
    bce_scan_result_free(&result);
    bce_sums_free(&reference);
    free(block);
    return 0;
}
