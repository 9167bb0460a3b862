/* bce's own elementary functions: the same bits on every machine, whatever its libm.
 * Range reduction and polynomials using only + - * / and exact operations, compiled
 * with contraction off; bcecli/core/elementary.py performs the very same sequence of
 * operations over numpy arrays, so both paths agree to the bit. Each result is within
 * 1 ulp of the true value (faithfully rounded). */
#ifndef BCE_MATH_H
#define BCE_MATH_H

double bce_exp(double x);
double bce_log(double x);
double bce_log1p(double x);

#endif
