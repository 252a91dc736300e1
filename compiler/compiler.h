/* compiler/compiler.h - the public interface of kumo's Wasm -> x86-64 AOT compiler.
 *
 * Input: a WebAssembly 2.0 binary (bytes owned by the caller). Output: an ELF64
 * relocatable object following compiler/abi.h. The compiler knows nothing of images,
 * VMs or daemons. Thread-safe: each call uses its own LLVM context.
 */
#ifndef KUMO_COMPILER_H
#define KUMO_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Limits against hostile modules: what one module may ask of the node that compiles it.
 * Every field is a ceiling (0: none). A module over a structural limit is refused by the
 * decoder or validator, before anything large is allocated, with a message naming the
 * limit and its key, the field's name ("module has 1200000 functions, over the limit of
 * 1000000 (key `max_functions`)"). The keys are kumod's kumo.json keys and flags
 * (--max-functions) and `kumo compile`'s flags: kumo_compile_limit_keys() lists them.
 *
 * The compile budget bounds the work LLVM does for one module: with compile_cpu_seconds
 * or compile_memory_mb set, kumo_compile_file() runs the compile in a child process (a
 * fresh exec of a compile worker, see compiler/budget.c) with RLIMIT_CPU and
 * RLIMIT_AS, and a wall-clock deadline of 4x the CPU budget + 10 s; a child stopped by
 * one of them is the error "compile budget exceeded: ..." naming the key. Both budgets
 * grow with the module: limit = base + per-MiB x the module's size in MiB (rounded up),
 * so a small module that makes LLVM work for minutes is stopped early while a large
 * real one gets its due. */
struct kumo_compile_limits {
	uint64_t max_module_bytes;      /* the module's size (binary or text) */
	uint64_t max_types;             /* entries of the type section */
	uint64_t max_imports;
	uint64_t max_exports;
	uint64_t max_globals;           /* defined globals */
	uint64_t max_functions;         /* defined functions */
	uint64_t max_function_bytes;    /* one function body, its local declarations included */
	uint64_t max_locals;            /* declared locals of one function */
	uint64_t max_tables;            /* tables, imported ones included */
	uint64_t max_table_entries;     /* a table's initial size; entries of one element segment */
	uint64_t max_data_segments;
	uint64_t max_element_segments;
	uint64_t max_nesting;           /* nested blocks, loops and ifs in one function */
	uint64_t compile_cpu_seconds;   /* CPU budget of one compile: base ... */
	uint64_t compile_cpu_seconds_per_mib; /* ... plus this per MiB of module */
	uint64_t compile_memory_mb;     /* memory (address space) budget: base ... */
	uint64_t compile_memory_mb_per_mib;   /* ... plus this per MiB of module */
};

/* The defaults (README "Limits and hardening" has the measurements behind them). */
#define KUMO_COMPILE_LIMITS_DEFAULT                                                        \
	((struct kumo_compile_limits){                                                     \
		.max_module_bytes = 256ull << 20,                                          \
		.max_types = 1000000,                                                      \
		.max_imports = 100000,                                                     \
		.max_exports = 100000,                                                     \
		.max_globals = 1000000,                                                    \
		.max_functions = 1000000,                                                  \
		.max_function_bytes = 7654321,                                             \
		.max_locals = 50000,                                                       \
		.max_tables = 100000,                                                      \
		.max_table_entries = 10000000,                                             \
		.max_data_segments = 100000,                                               \
		.max_element_segments = 100000,                                            \
		.max_nesting = 10000,                                                      \
		.compile_cpu_seconds = 20,                                                 \
		.compile_cpu_seconds_per_mib = 30,                                         \
		.compile_memory_mb = 1024,                                                 \
		.compile_memory_mb_per_mib = 256,                                          \
	})

/* The limits every compile, validation and import listing of this process applies
 * (KUMO_COMPILE_LIMITS_DEFAULT until set). Set them once at start-up, before threads
 * compile: kumod from its configuration, `kumo compile` from its flags. */
const struct kumo_compile_limits *kumo_compile_limits(void);
void kumo_compile_set_limits(const struct kumo_compile_limits *lim);

/* The limits by key, for configuration files and flags. */
struct kumo_limit_key {
	const char *key;        /* "max_functions": the kumo.json key; flag --max-functions */
	size_t offset;          /* of its uint64_t in struct kumo_compile_limits */
	const char *what;       /* "defined functions", for help texts */
};
const struct kumo_limit_key *kumo_compile_limit_keys(size_t *n);
/* Sets the limit named key (a key above, or its flag spelling without the leading
 * dashes: "max-functions") from a decimal string; 0 is no limit. KUMO_E_NOT_FOUND for an
 * unknown key, KUMO_E_INVALID for a bad number. */
int kumo_compile_limit_set(struct kumo_compile_limits *lim, const char *key, const char *value,
			   kumo_error_t *err);

struct kumo_compile_options {
	const char *cpu;        /* LLVM CPU name; NULL = KUMO_DEFAULT_CPU ("x86-64-v2") */
	int opt_level;          /* 0..3; default 2 */
	bool bounds_checks;     /* explicit bounds checks instead of guard pages */
};

/* One import as the builder needs to see it (to refuse unsupported ones early). */
struct kumo_import_info {
	char *module;           /* NUL-terminated copies */
	char *field;
	uint32_t kind;          /* enum kumo_extern_kind */
	char *symbol;           /* function imports: the undefined symbol name, else NULL */
};

struct kumo_compile_info {
	size_t nimports;
	struct kumo_import_info *imports;
	uint64_t compile_ns;    /* wall time of decode+validate+codegen+emit */
	size_t object_bytes;
	uint64_t worker_cpu_ns; /* under a compile budget: CPU time of the worker process */
	uint64_t worker_peak_rss_kb; /* and its peak resident memory (0: compiled in-process) */
};

/* Identifies this compiler build (version + ABI version + git revision), for caches. */
const char *kumo_compiler_id(void);

/* Decodes and fully validates; an unsupported proposal is an error naming it. */
int kumo_validate(const uint8_t *wasm, size_t len, kumo_error_t *err);

/* Compiles to an object file at out_path (written atomically). info may be NULL;
 * when given, free it with kumo_compile_info_free(). Under a compile budget (the
 * current limits' compile_cpu_seconds or compile_memory_mb set) the work happens in a
 * child process (see struct kumo_compile_limits); in a program linked with
 * libkumo-compiler-client.a (kumo, kumod: no LLVM) it always does, in the worker
 * program kumo-compile (compiler/codegen.h). */
int kumo_compile_file(const uint8_t *wasm, size_t len, const struct kumo_compile_options *opts,
		      const char *out_path, struct kumo_compile_info *info, kumo_error_t *err);

void kumo_compile_info_free(struct kumo_compile_info *info);

/* Decodes and validates `wasm` and lists its imports in info->imports (the other fields
 * stay zero); free with kumo_compile_info_free(). Compiles nothing. */
int kumo_module_imports(const uint8_t *wasm, size_t len, struct kumo_compile_info *info,
			kumo_error_t *err);

/* The symbol name an import gets (abi.h's naming rule); malloc'd. */
char *kumo_import_symbol(const char *module, size_t module_len, const char *field,
			 size_t field_len, const char *sig);

#endif /* KUMO_COMPILER_H */
