/* The CSV fast path's scanner; see bce_scan.h. */
#include "bce_scan.h"

#include <stdlib.h>
#include <string.h>

#include "bce_decimal.h"
#include "bce_loss.h"

/* Slots of the group table: a power of two, at least twice BCE_SCAN_MAX_GROUPS. */
#define TABLE_SLOTS (2 * BCE_SCAN_MAX_GROUPS)
#define FIRST_GROUPS 16

static int is_finite(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return ((bits >> 52) & 0x7ffu) != 0x7ffu;
}

/* A label spelled as a number: 1 for one, 0 for zero, -1 otherwise. */
static int parse_label(const char *text, size_t length) {
    if (length == 1 && (text[0] == '0' || text[0] == '1')) return text[0] - '0';
    double value;
    if (!bce_parse_double(text, length, &value)) return -1;
    return value == 1.0 ? 1 : value == 0.0 ? 0 : -1;
}

/* Well-formed UTF-8 as Python and Arrow read it: no overlong forms, no surrogates,
 * nothing past U+10FFFF. */
static int is_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c >= 0xE0 && c <= 0xEF) need = 2;
        else if (c >= 0xF0 && c <= 0xF4) need = 3;
        else return 0;
        if (n - i < need + 1) return 0;
        unsigned next = s[i + 1];
        if ((c == 0xE0 && next < 0xA0) || (c == 0xED && next > 0x9F) ||
            (c == 0xF0 && next < 0x90) || (c == 0xF4 && next > 0x8F))
            return 0;
        for (size_t k = 1; k <= need; k++)
            if ((s[i + k] & 0xC0u) != 0x80u) return 0;
        i += need + 1;
    }
    return 1;
}

int bce_scan_result_init(bce_scan_result *result, const bce_scan_config *config) {
    memset(result, 0, sizeof *result);
    int groups = config->n_by ? FIRST_GROUPS : 1;
    if (bce_sums_init(&result->sums, groups, config->n_models, config->weight >= 0) < 0) return -1;
    result->n_groups = config->n_by ? 0 : 1;
    if (config->n_by) {
        result->table = calloc(TABLE_SLOTS, sizeof *result->table);
        result->key_start = malloc(FIRST_GROUPS * sizeof *result->key_start);
        result->key_hash = malloc(FIRST_GROUPS * sizeof *result->key_hash);
        result->keys_capacity = 256;
        result->keys = malloc(result->keys_capacity);
        if (!result->table || !result->key_start || !result->key_hash || !result->keys) goto fail;
    }
    if (config->bins) {
        size_t bins = (size_t)config->bins * (size_t)config->n_models;
        result->bin_rows = calloc(bins, sizeof *result->bin_rows);
        result->bin_positive_rows = calloc(bins, sizeof *result->bin_positive_rows);
        result->bin_weight = calloc(bins, sizeof *result->bin_weight);
        result->bin_prob = calloc(bins, sizeof *result->bin_prob);
        result->bin_positives = calloc(bins, sizeof *result->bin_positives);
        if (!result->bin_rows || !result->bin_positive_rows || !result->bin_weight ||
            !result->bin_prob || !result->bin_positives)
            goto fail;
    }
    if (config->worst) {
        result->worst = malloc((size_t)config->worst * sizeof *result->worst);
        if (!result->worst) goto fail;
    }
    if (bce_hist_init(&result->hist, config->hist_edges, config->hist_n_edges, config->n_models,
                      config->weight >= 0) < 0)
        goto fail;
    return 0;
fail:
    bce_scan_result_free(result);
    return -1;
}

void bce_scan_result_free(bce_scan_result *result) {
    bce_sums_free(&result->sums);
    free(result->keys);
    free(result->key_start);
    free(result->key_hash);
    free(result->table);
    free(result->bin_rows);
    free(result->bin_positive_rows);
    free(result->bin_weight);
    free(result->bin_prob);
    free(result->bin_positives);
    free(result->worst);
    bce_hist_free(&result->hist);
    memset(result, 0, sizeof *result);
}

/* -- --by: group keys ------------------------------------------------------------- */

static uint64_t key_hash(int n_by, const char *const *start, const size_t *length) {
    uint64_t hash = UINT64_C(14695981039346656037);
    for (int j = 0; j < n_by; j++) {
        const unsigned char *bytes = (const unsigned char *)start[j];
        for (size_t i = 0; i < length[j]; i++) {
            hash ^= bytes[i];
            hash *= UINT64_C(1099511628211);
        }
        hash ^= (uint64_t)length[j] + 0x100u; /* the field's end: ("ab", "") != ("a", "b") */
        hash *= UINT64_C(1099511628211);
    }
    return hash ^ (hash >> 29);
}

static int key_equals(const char *stored, int n_by, const char *const *start,
                      const size_t *length) {
    for (int j = 0; j < n_by; j++) {
        uint32_t stored_length;
        memcpy(&stored_length, stored, sizeof stored_length);
        stored += sizeof stored_length;
        if (stored_length != length[j] || memcmp(stored, start[j], length[j]) != 0) return 0;
        stored += stored_length;
    }
    return 1;
}

/* A new group for this key: 1, or 0 to decline the block (too many groups, a key that
 * is not UTF-8), -1 when memory is short. */
static int add_group(const bce_scan_config *config, bce_scan_result *result, uint64_t hash,
                     const char *const *start, const size_t *length) {
    int n_by = config->n_by, group = result->n_groups;
    size_t bytes = 0;
    for (int j = 0; j < n_by; j++) {
        if ((uint64_t)length[j] > UINT32_MAX) return 0;
        if (!is_utf8((const unsigned char *)start[j], length[j])) return 0;
        bytes += sizeof(uint32_t) + length[j];
    }
    int most = BCE_SCAN_MAX_SUMS / bce_sums_slots(config->n_models);
    if (most > BCE_SCAN_MAX_GROUPS) most = BCE_SCAN_MAX_GROUPS;
    if (group >= most) return 0;
    if (group == result->sums.n_groups) {
        int capacity = 2 * group < most ? 2 * group : most;
        if (bce_sums_resize(&result->sums, capacity) < 0) return -1;
        size_t *key_start = realloc(result->key_start, (size_t)capacity * sizeof *key_start);
        if (key_start == NULL) return -1;
        result->key_start = key_start;
        uint64_t *hashes = realloc(result->key_hash, (size_t)capacity * sizeof *hashes);
        if (hashes == NULL) return -1;
        result->key_hash = hashes;
    }
    if (result->keys_length + bytes > result->keys_capacity) {
        size_t capacity = 2 * result->keys_capacity;
        while (capacity < result->keys_length + bytes) capacity *= 2;
        char *keys = realloc(result->keys, capacity);
        if (keys == NULL) return -1;
        result->keys = keys;
        result->keys_capacity = capacity;
    }
    char *out = result->keys + result->keys_length;
    result->key_start[group] = result->keys_length;
    result->key_hash[group] = hash;
    for (int j = 0; j < n_by; j++) {
        uint32_t field_length = (uint32_t)length[j];
        memcpy(out, &field_length, sizeof field_length);
        out += sizeof field_length;
        if (length[j]) memcpy(out, start[j], length[j]);
        out += length[j];
    }
    result->keys_length += bytes;
    result->n_groups = group + 1;
    return 1;
}

/* The row's group, or -1 to decline the block, -2 when memory is short. */
static int find_group(const bce_scan_config *config, bce_scan_result *result,
                      const char *const *start, const size_t *length) {
    uint64_t hash = key_hash(config->n_by, start, length);
    size_t slot = (size_t)hash & (TABLE_SLOTS - 1);
    for (;;) {
        int32_t entry = result->table[slot];
        if (entry == 0) break;
        int group = entry - 1;
        if (result->key_hash[group] == hash &&
            key_equals(result->keys + result->key_start[group], config->n_by, start, length))
            return group;
        slot = (slot + 1) & (TABLE_SLOTS - 1);
    }
    int added = add_group(config, result, hash, start, length);
    if (added <= 0) return added < 0 ? -2 : -1;
    result->table[slot] = (int32_t)result->n_groups;
    return result->n_groups - 1;
}

/* -- --calibration: the bin of p, as searchsorted(edges, p, "right") - 1, clipped ---- */

static int calibration_bin(const double *edges, int bins, double p) {
    double scaled = p * (double)bins;
    int bin = scaled >= (double)bins ? bins : (scaled > 0.0 ? (int)scaled : 0);
    /* The guess is off by at most one either way: settle edges[bin] <= p < edges[bin + 1]. */
    while (bin > 0 && edges[bin] > p) bin--;
    while (bin < bins && edges[bin + 1] <= p) bin++;
    return bin < bins ? bin : bins - 1;
}

/* -- --worst: a heap whose top is the row to drop first (lowest loss, then latest) --- */

static int drops_before(const bce_scan_worst *a, const bce_scan_worst *b) {
    return a->loss < b->loss || (a->loss == b->loss && a->row > b->row);
}

static void sift_down(bce_scan_worst *heap, int n, int at) {
    for (;;) {
        int child = 2 * at + 1, least = at;
        if (child < n && drops_before(&heap[child], &heap[least])) least = child;
        if (child + 1 < n && drops_before(&heap[child + 1], &heap[least])) least = child + 1;
        if (least == at) return;
        bce_scan_worst swap = heap[at];
        heap[at] = heap[least];
        heap[least] = swap;
        at = least;
    }
}

static void keep_worst(bce_scan_result *result, int k, bce_scan_worst row) {
    bce_scan_worst *heap = result->worst;
    if (result->n_worst < k) {
        int at = result->n_worst++;
        heap[at] = row;
        while (at > 0) {
            int parent = (at - 1) / 2;
            if (!drops_before(&heap[at], &heap[parent])) break;
            bce_scan_worst swap = heap[at];
            heap[at] = heap[parent];
            heap[parent] = swap;
            at = parent;
        }
    } else if (row.loss > heap[0].loss) { /* a tie loses: its row comes later */
        heap[0] = row;
        sift_down(heap, result->n_worst, 0);
    }
}

/* -- the scan ----------------------------------------------------------------------- */

/* -- the loss histogram, a block of rows at a time ----------------------------------- */

#define HIST_ROWS 512

static void bin_held(const bce_scan_config *config, bce_scan_result *result,
                     const double *held_loss, const double *held_weight, int held) {
    for (int m = 0; m < config->n_models; m++)
        bce_hist_add_block(&result->hist, m, held_loss + (size_t)m * HIST_ROWS,
                           result->hist.weighted ? held_weight : NULL, held);
}

int bce_scan_block(const bce_scan_config *config, const char *text, size_t length,
                   bce_scan_result *result) {
    int n_fields = config->n_fields, n_by = config->n_by;
    /* The fields up to the last needed one are located first, then parsed by index: one
     * field may be more than one thing (-w prob weights by the prediction, -w label by
     * the label), and each is then read as each of them, as the general path reads it. */
    int last_needed = config->label;
    if (config->weight > last_needed) last_needed = config->weight;
    if (config->n_models < 1 || config->n_models > BCE_SCAN_MAX_MODELS || n_by < 0 ||
        n_by > BCE_SCAN_MAX_BY)
        return 0;
    for (int m = 0; m < config->n_models; m++)
        if (config->predictions[m] > last_needed) last_needed = config->predictions[m];
    for (int j = 0; j < n_by; j++)
        if (config->by[j] > last_needed) last_needed = config->by[j];
    if (last_needed >= n_fields) return 0;
    const char **starts = malloc(((size_t)last_needed + 1) * sizeof *starts);
    size_t *lengths = malloc(((size_t)last_needed + 1) * sizeof *lengths);
    /* The losses (per column) and weights of up to HIST_ROWS rows, binned together into
     * the loss histogram (bce_hist_add_block): each row's bin apart from the row before. */
    const int binning = result->hist.edges != NULL;
    double *held_loss =
        binning ? malloc((size_t)config->n_models * HIST_ROWS * sizeof *held_loss) : NULL;
    if (starts == NULL || lengths == NULL || (binning && held_loss == NULL)) {
        free(starts);
        free(lengths);
        free(held_loss);
        return -1;
    }
    double held_weight[HIST_ROWS];
    int held = 0;

    const char delimiter = config->delimiter;
    const double eps = config->eps;
    const int logit = config->logit;
    int status = 1;
    /* A quote anywhere: the general parser, which knows quoting. A CR is fine only as
     * the end of a CRLF line end (the general parser reads a lone CR as a line end). */
    if (memchr(text, '"', length) != NULL) goto decline;
    const int has_cr = memchr(text, '\r', length) != NULL;
    int64_t count = 0;
    size_t position = 0;
    while (position < length) {
        const char *line = text + position;
        size_t rest = length - position;
        const char *newline = memchr(line, '\n', rest);
        size_t line_length = newline ? (size_t)(newline - line) : rest;
        position += line_length + (newline != NULL);
        if (has_cr) {
            if (line_length && line[line_length - 1] == '\r') line_length--;
            if (memchr(line, '\r', line_length) != NULL) goto decline;
        }
        if (line_length == 0) continue; /* an empty line: skipped, not a row */

        const char *cursor = line, *end = line + line_length;
        int field = 0;
        for (;; field++) {
            const char *stop = memchr(cursor, delimiter, (size_t)(end - cursor));
            if (stop == NULL) stop = end;
            if (field <= last_needed) {
                starts[field] = cursor;
                lengths[field] = (size_t)(stop - cursor);
            }
            if (stop == end) break;
            if (field + 1 >= n_fields) goto decline; /* more fields than the header */
            cursor = stop + 1;
        }
        if (field + 1 != n_fields) goto decline;

        int label = parse_label(starts[config->label], lengths[config->label]);
        if (label < 0) goto decline;
        double weight = 1.0;
        if (config->weight >= 0) {
            if (!bce_parse_double(starts[config->weight], lengths[config->weight], &weight))
                goto decline;
            if (!is_finite(weight) || weight < 0.0) goto decline;
        }
        double values[BCE_SCAN_MAX_MODELS];
        for (int m = 0; m < config->n_models; m++) {
            int f = config->predictions[m];
            double x;
            if (!bce_parse_double(starts[f], lengths[f], &x)) goto decline;
            if (logit ? !is_finite(x) : !(x >= 0.0 && x <= 1.0)) goto decline;
            values[m] = x;
        }
        const char *key_start[BCE_SCAN_MAX_BY];
        size_t key_length[BCE_SCAN_MAX_BY];
        for (int j = 0; j < n_by; j++) {
            key_start[j] = starts[config->by[j]];
            key_length[j] = lengths[config->by[j]];
        }

        double p[BCE_SCAN_MAX_MODELS], loss[BCE_SCAN_MAX_MODELS];
        uint8_t clipped[BCE_SCAN_MAX_MODELS];
        for (int m = 0; m < config->n_models; m++) {
            if (logit) {
                loss[m] = bce_loss_from_logit(label, values[m]);
                p[m] = bce_sigmoid(values[m]);
            } else {
                loss[m] = bce_loss_from_prob(label, values[m], eps);
                p[m] = values[m];
                clipped[m] = (uint8_t)bce_is_clipped(values[m], eps);
            }
        }
        int group = 0;
        if (n_by) {
            group = find_group(config, result, key_start, key_length);
            if (group < 0) {
                status = group == -2 ? -1 : 0;
                goto done;
            }
        }
        bce_sums_add_row(&result->sums, group, label, p, loss, weight, logit ? NULL : clipped);
        if (binning) {
            for (int m = 0; m < config->n_models; m++)
                held_loss[(size_t)m * HIST_ROWS + (size_t)held] = loss[m];
            held_weight[held++] = weight;
            if (held == HIST_ROWS) {
                bin_held(config, result, held_loss, held_weight, held);
                held = 0;
            }
        }
        if (config->bins) {
            /* Each column's bins, column m's from m * bins. */
            for (int m = 0; m < config->n_models; m++) {
                int bin = m * config->bins + calibration_bin(config->edges, config->bins, p[m]);
                result->bin_rows[bin] += 1;
                if (result->sums.weighted) {
                    bce_exact_add(&result->bin_weight[bin], weight);
                    bce_exact_add(&result->bin_prob[bin], weight * p[m]);
                    if (label) bce_exact_add(&result->bin_positives[bin], weight);
                } else {
                    bce_exact_add(&result->bin_prob[bin], p[m]);
                    result->bin_positive_rows[bin] += label;
                }
            }
        }
        if (config->worst) {
            if (loss[0] != loss[0]) goto decline; /* NaN: no order to keep */
            bce_scan_worst row = {.loss = loss[0], .prob = p[0], .row = count, .label = label};
            keep_worst(result, config->worst, row);
        }
        count++;
    }
    if (binning) bin_held(config, result, held_loss, held_weight, held);
    result->rows = count;
    goto done;
decline:
    status = 0;
done:
    free(starts);
    free(lengths);
    free(held_loss);
    return status;
}
