/* kernel/os/include/math.h - the few floating-point helpers freestanding code needs. */
#ifndef KUMO_KMATH_H
#define KUMO_KMATH_H
#define NAN (__builtin_nan(""))
#define INFINITY (__builtin_inf())
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
static inline double fabs(double x) { return __builtin_fabs(x); }
#endif
