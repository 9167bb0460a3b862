/* PLACEHOLDER for the helper: strtod on a copy, to be replaced. */
#include <stdlib.h>
#include <string.h>
#include "bce_decimal.h"
int bce_parse_double(const char *text, size_t length, double *out) {
    char buffer[64];
    if (length == 0 || length >= sizeof buffer) return 0;
    memcpy(buffer, text, length);
    buffer[length] = 0;
    char *end;
    *out = strtod(buffer, &end);
    return end == buffer + length;
}
