/* Decimal text to double, correctly rounded: the bits Python's float() gives. */
#ifndef BCE_DECIMAL_H
#define BCE_DECIMAL_H

#include <stddef.h>

/* Parse the whole of [text, text + length) as [+-]digits[.digits][(e|E)[+-]digits] (or
 * with the digits only after the point). Returns 1 and stores the correctly rounded
 * value, or 0 when the field is not in that shape or the conversion cannot be decided
 * here (the caller then hands the block to the general parser). Never reads outside
 * the range; no allocation, no global state: safe on any thread without the GIL. */
int bce_parse_double(const char *text, size_t length, double *out);

#endif
