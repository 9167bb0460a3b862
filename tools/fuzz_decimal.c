/* libFuzzer target for bce_parse_double (bcecli/_native/bce_decimal.c); tools/fuzz.py
 * builds it with -fsanitize=fuzzer,address,undefined and runs it.
 *
 * Each input is handed over in a buffer of exactly its length, so AddressSanitizer
 * catches any read past the field. The reference is glibc's strtod (correctly rounded)
 * in the "C" locale on a NUL-terminated copy:
 *   - a field outside the shape [+-]?(digits[.digits*]|.digits)([eE][+-]?digits)? must
 *     be refused;
 *   - a field of the shape must give strtod's bits, or be refused only when it has more
 *     than 19 significant digits (the documented undecidable case). */
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bce_decimal.h"

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* 1 when [s, s+n) has the shape; *significant = digits from the first to the last
 * nonzero one of the mantissa. */
static int shape(const unsigned char *s, size_t n, size_t *significant) {
    size_t i = 0, mantissa_digits = 0, first = (size_t)-1, last = 0, position = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && is_digit(s[i])) {
        if (s[i] != '0') {
            if (first == (size_t)-1) first = position;
            last = position;
        }
        position++;
        mantissa_digits++;
        i++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i])) {
            if (s[i] != '0') {
                if (first == (size_t)-1) first = position;
                last = position;
            }
            position++;
            mantissa_digits++;
            i++;
        }
    }
    if (mantissa_digits == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i == n || !is_digit(s[i])) return 0;
        while (i < n && is_digit(s[i])) i++;
    }
    *significant = first == (size_t)-1 ? 0 : last - first + 1;
    return i == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int initialised = 0;
    if (!initialised) {
        setlocale(LC_ALL, "C");
        initialised = 1;
    }
    unsigned char *field = malloc(size ? size : 1);
    if (!field) return 0;
    if (size) memcpy(field, data, size);
    double got = 0.0;
    int parsed = bce_parse_double((const char *)field, size, &got);
    size_t significant = 0;
    int valid = shape(field, size, &significant);
    if (!valid) {
        if (parsed) {
            fprintf(stderr, "accepted a field outside the shape: %.*s\n", (int)size, field);
            abort();
        }
    } else {
        char *copy = malloc(size + 1);
        if (!copy) abort();
        memcpy(copy, field, size);
        copy[size] = 0;
        char *end;
        double want = strtod(copy, &end);
        if (end != copy + size) {
            fprintf(stderr, "reference did not read the whole field: %s\n", copy);
            abort();
        }
        if (parsed) {
            uint64_t a, b;
            memcpy(&a, &got, sizeof a);
            memcpy(&b, &want, sizeof b);
            if (a != b) {
                fprintf(stderr, "MISMATCH %s: got %016llx want %016llx\n", copy,
                        (unsigned long long)a, (unsigned long long)b);
                abort();
            }
        } else if (significant <= 19) {
            fprintf(stderr, "UNDECIDED with %zu significant digits: %s\n", significant, copy);
            abort();
        }
        free(copy);
    }
    free(field);
    return 0;
}
