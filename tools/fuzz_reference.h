/* The fuzz targets' shared reference for a decimal field's shape (tools/fuzz_decimal.c,
 * tools/fuzz_scan.c): written plainly, apart from the code under test. */
#ifndef BCE_FUZZ_REFERENCE_H
#define BCE_FUZZ_REFERENCE_H

#include <stddef.h>

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* 1 when [s, s+n) is [+-]?(digits[.digits*]|.digits)([eE][+-]?digits)?; *significant =
 * mantissa digits from the first to the last nonzero one. */
static int number_shape(const char *text, size_t n, size_t *significant) {
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, digits = 0, first = (size_t)-1, last = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    int point = 0;
    for (; i < n; i++) {
        if (s[i] == '.' && !point) {
            point = 1;
            continue;
        }
        if (!is_digit(s[i])) break;
        if (s[i] != '0') {
            if (first == (size_t)-1) first = digits;
            last = digits;
        }
        digits++;
    }
    if (digits == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i == n || !is_digit(s[i])) return 0;
        while (i < n && is_digit(s[i])) i++;
    }
    *significant = first == (size_t)-1 ? 0 : last - first + 1;
    return i == n;
}

#endif
