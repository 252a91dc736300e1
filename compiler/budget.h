/* compiler/budget.h - private to compiler/: the compile budget (budget.c). */
#ifndef KUMO_COMPILER_BUDGET_H
#define KUMO_COMPILER_BUDGET_H

#include <stdbool.h>

#include "compiler/compiler.h"

/* True in a compile worker (the child budget_compile starts): compile in-process. */
extern bool budget_in_worker;

/* The CPU seconds and MiB of memory one compile of a len-byte module may use under lim
 * (base + per-MiB x MiB, rounded up; 0: no limit; at most 10^9 s and 2^40 MiB). */
void budget_for(const struct kumo_compile_limits *lim, size_t len, uint64_t *cpu_s,
		uint64_t *mem_mb);

/* kumo_compile_file() in a child process under the current limits' budget. */
int budget_compile(const uint8_t *wasm, size_t len, const struct kumo_compile_options *opts,
		   const char *out_path, struct kumo_compile_info *info, kumo_error_t *err);

#endif /* KUMO_COMPILER_BUDGET_H */
