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

#include "fuzz_reference.h"

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
    int valid = number_shape((const char *)field, size, &significant);
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
