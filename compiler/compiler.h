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
};

/* Identifies this compiler build (version + ABI version + git revision), for caches. */
const char *kumo_compiler_id(void);

/* Decodes and fully validates; an unsupported proposal is an error naming it. */
int kumo_validate(const uint8_t *wasm, size_t len, kumo_error_t *err);

/* Compiles to an object file at out_path (written atomically). info may be NULL;
 * when given, free it with kumo_compile_info_free(). */
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
