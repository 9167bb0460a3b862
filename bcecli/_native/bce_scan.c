/* The CSV fast path's scanner; see bce_scan.h. */
#include "bce_scan.h"

#include <string.h>

#include "bce_decimal.h"
#include "bce_loss.h"

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

int bce_scan_block(const bce_scan_config *config, const char *text, size_t length, bce_sums *acc,
                   int64_t *rows) {
    int n_fields = config->n_fields;
    /* The fields up to the last needed one are located first, then parsed by index: one
     * field may be more than one thing (-w prob weights by the prediction, -w label by
     * the label), and each is then read as each of them, as the general path reads it. */
    int last_needed = config->label;
    if (config->weight > last_needed) last_needed = config->weight;
    if (config->n_models < 1 || config->n_models > BCE_SCAN_MAX_MODELS) return 0;
    for (int m = 0; m < config->n_models; m++)
        if (config->predictions[m] > last_needed) last_needed = config->predictions[m];
    if (last_needed >= n_fields) return 0;
    enum { MAX_LOCATED = 256 + BCE_SCAN_MAX_MODELS };
    if (last_needed >= MAX_LOCATED) return 0;
    const char *starts[MAX_LOCATED];
    size_t lengths[MAX_LOCATED];

    const char delimiter = config->delimiter;
    const double eps = config->eps;
    const int logit = config->logit;
    /* A quote anywhere: the general parser, which knows quoting. A CR is fine only as
     * the end of a CRLF line end (the general parser reads a lone CR as a line end). */
    if (memchr(text, '"', length) != NULL) return 0;
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
            if (memchr(line, '\r', line_length) != NULL) return 0;
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
            if (field + 1 >= n_fields) return 0; /* more fields than the header */
            cursor = stop + 1;
        }
        if (field + 1 != n_fields) return 0;

        int label = parse_label(starts[config->label], lengths[config->label]);
        if (label < 0) return 0;
        double weight = 1.0;
        if (config->weight >= 0) {
            if (!bce_parse_double(starts[config->weight], lengths[config->weight], &weight))
                return 0;
            if (!is_finite(weight) || weight < 0.0) return 0;
        }
        double values[BCE_SCAN_MAX_MODELS];
        for (int m = 0; m < config->n_models; m++) {
            int f = config->predictions[m];
            double x;
            if (!bce_parse_double(starts[f], lengths[f], &x)) return 0;
            if (logit ? !is_finite(x) : !(x >= 0.0 && x <= 1.0)) return 0;
            values[m] = x;
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
        bce_sums_add_row(acc, 0, label, p, loss, weight, logit ? NULL : clipped);
        count++;
    }
    *rows = count;
    return 1;
}
