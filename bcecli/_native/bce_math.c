/* PLACEHOLDER for the helper: libm, to be replaced by bce's own functions. */
#include <math.h>
#include "bce_math.h"
double bce_exp(double x) { return exp(x); }
double bce_log(double x) { return log(x); }
double bce_log1p(double x) { return log1p(x); }
