/* Throughput of bce_parse_double on CSV-like probability fields, against strtod.
 *
 *   cc -std=c11 -O2 -ffp-contract=off -Ibcecli/_native tools/bench_decimal.c \
 *      bcecli/_native/bce_decimal.c -o /tmp/bench_decimal && /tmp/bench_decimal [N]
 *
 * Builds N fields (default 10M) of each kind in one comma-separated buffer, as a CSV
 * column would hold them, then times one pass of each parser over them. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bce_decimal.h"

static uint64_t state = 0x9E3779B97F4A7C15u;
static uint64_t next(void) { /* splitmix64 */
    uint64_t z = (state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* kind 0: "0.42" (2 digits); 1: "0.123456789012345" (15); 2: repr-like 17 digits;
 * 3: "%.6e"-style with exponent. */
static size_t field(int kind, char *out) {
    double p = (double)(next() >> 11) * (1.0 / 9007199254740992.0);
    switch (kind) {
    case 0: return (size_t)sprintf(out, "0.%02u", (unsigned)(next() % 100));
    case 1: return (size_t)sprintf(out, "%.15f", p);
    case 2: return (size_t)sprintf(out, "%.17g", p);
    default: return (size_t)sprintf(out, "%.6e", p * 1e-3);
    }
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000000u;
    const char *names[] = {"'0.42'", "'0.123456789012345'", "%.17g", "%.6e"};
    for (int kind = 0; kind < 4; kind++) {
        char *buffer = malloc(n * 32);
        size_t *starts = malloc(n * sizeof *starts), *lengths = malloc(n * sizeof *lengths);
        if (!buffer || !starts || !lengths) return 1;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            starts[i] = at;
            lengths[i] = field(kind, buffer + at);
            at += lengths[i];
            buffer[at++] = ',';
        }
        double sum = 0.0, check = 0.0, value;
        size_t refused = 0;
        double t0 = seconds();
        for (size_t i = 0; i < n; i++) {
            if (bce_parse_double(buffer + starts[i], lengths[i], &value)) sum += value;
            else refused++;
        }
        double t1 = seconds();
        for (size_t i = 0; i < n; i++) {
            char *end;
            check += strtod(buffer + starts[i], &end); /* stops at the comma */
        }
        double t2 = seconds();
        printf("%-22s bce %6.2f ns/field   strtod %6.2f ns/field   refused %zu  %s\n",
               names[kind], 1e9 * (t1 - t0) / (double)n, 1e9 * (t2 - t1) / (double)n, refused,
               sum == check ? "same sum" : "SUMS DIFFER");
        free(buffer);
        free(starts);
        free(lengths);
    }
    return 0;
}
