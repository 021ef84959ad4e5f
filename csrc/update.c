/* update.c -- fused in-place optimizer steps, float64 and float32 (see update_impl.inc). */
#include "internal.h"

#include <float.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define T double
#define SFX f64
#define TMAX DBL_MAX
#define TSQRT sqrt
#define TABS fabs
#define TINT int64_t
#include "update_impl.inc"
#undef T
#undef SFX
#undef TMAX
#undef TSQRT
#undef TABS
#undef TINT

#define T float
#define SFX f32
#define TMAX FLT_MAX
#define TSQRT sqrtf
#define TABS fabsf
#define TINT int32_t
#include "update_impl.inc"
#undef T
#undef SFX
#undef TMAX
#undef TSQRT
#undef TABS
#undef TINT
