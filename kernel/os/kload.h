/* kernel/os/kload.h - the kernel linker: turns a relocatable object from kumo's
 * compiler (compiler/abi.h) into code the kernel can instantiate, the way ld linked it
 * into the image before (kernel/pod_abi.h "Pod mode").
 *
 * What kload_link does, in order, all on memory it was handed (never trusting it):
 *   - reads the ELF64 x86-64 ET_REL headers; every section, symbol, string, relocation
 *     offset and width is checked against the object's bounds;
 *   - lays the allocated sections out in three parts: code (SHF_EXECINSTR), read-only
 *     data (.rodata*, .data.rel.ro*), and a GOT for GOTPCREL relocations; any other
 *     writable, TLS or common data is refused (generated code keeps no state of its
 *     own: instances keep theirs);
 *   - resolves undefined symbols against `exports` (generated at build time from
 *     compiler/abi.h's libcalls and kernel/kernel.h's WASI list: kexports.c); an
 *     undefined weak symbol that is not exported is 0 (an import the kernel lacks,
 *     reported below); any other unknown symbol is an error;
 *   - applies R_X86_64_{NONE,64,PC32,PLT32,32,32S,PC64,GOTPCREL,GOTPCRELX,
 *     REX_GOTPCRELX} (what LLVM emits for KUMO_CODEGEN_PIC's small code model), each
 *     checked to fit its field: the image must be within rel32 reach of the exports
 *     (env->map's job), so direct calls stay direct;
 *   - finds KUMO_SYM_MODULE and checks the descriptor: KUMO_ABI_VERSION, the CPU
 *     target against env->cpu_missing, and every pointer and count in it against the
 *     image (code pointers into the code part, data pointers into the image, strings
 *     NUL-terminated inside it, import default_code exactly an export or 0), so the
 *     runtime (kernel/rt) can read it blindly;
 *   - refuses a function import it cannot serve with "unsupported import `m.f`" (and
 *     any other import kind with "(only WASI functions can be imported)"), as
 *     builder/'s check does for `kumo build`;
 *   - makes the code read+execute and the rest read-only (env->protect).
 * Errors: -1 with a lowercase message in err ("object: truncated section header
 * table", "unsupported import `env.foo`", ...); nothing stays mapped or allocated.
 *
 * Portable C (no platform headers beyond the compiler's and <string.h>/<stdlib.h>), so
 * the hosted unit tests and the fuzz replay run the exact code the kernel runs.
 */
#ifndef KUMO_KLOAD_H
#define KUMO_KLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "compiler/abi.h"

/* One symbol the kernel offers to objects. */
struct kload_export {
	const char *name; /* NUL-terminated symbol name */
	void *addr;       /* its address */
};
/* The kernel's own table, sorted by name (build/gen/kernel/kexports.c). */
extern const struct kload_export kload_kernel_exports[];
extern const size_t kload_kernel_nexports;

/* Where images live, and what the CPU has: the platform's part. */
struct kload_env {
	/* len bytes (a multiple of 4096) of zeroed, writable memory, page-aligned, whose
	 * every byte is within +-2 GiB of every export; NULL when there is none. */
	void *(*map)(void *ctx, size_t len);
	/* Makes [addr, addr+len) (page-aligned) read+execute (exec) or read-only; 0/-1. */
	int (*protect)(void *ctx, void *addr, size_t len, int exec);
	/* Releases a mapping (any protection). */
	void (*unmap)(void *ctx, void *addr, size_t len);
	/* The first feature this CPU lacks for code generated for `cpu` (kumo_module.cpu,
	 * e.g. "x86-64-v2"), or NULL when it has them all. NULL function: no check. */
	const char *(*cpu_missing)(void *ctx, const char *cpu);
	const struct kload_export *exports; /* sorted by strcmp order of name */
	size_t nexports;
	void *ctx;                          /* passed to the callbacks */
};

/* A linked object. Owned by the caller; read-only after kload_link. */
struct kload_image {
	uint8_t *base;                     /* the mapping (env->map) */
	size_t len;                        /* its bytes */
	uint8_t *code;                     /* executable part: [code, code + code_len) */
	size_t code_len;
	const struct kumo_module *module;  /* the descriptor, inside the image */
	size_t object_bytes;               /* size of the object it was made from */
};

/* Links obj[0..len) (see above). *out is set only on success. */
int kload_link(const uint8_t *obj, size_t len, const struct kload_env *env,
	       struct kload_image **out, char *err, size_t errcap);
/* Unmaps and frees an image (NULL is fine). Only once no instance uses its code. */
void kload_free(const struct kload_env *env, struct kload_image *img);
/* The export named name[0..len), or NULL. */
const struct kload_export *kload_find_export(const struct kload_env *env, const char *name,
					     size_t len);

#endif /* KUMO_KLOAD_H */
