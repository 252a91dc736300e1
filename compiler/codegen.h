/* compiler/codegen.h - private to compiler/: the seam between the compiler's front end
 * (decode, validate, limits, the compile budget, the driver kumo_compile_file in
 * compile.c; no LLVM) and its code generator (LLVM).
 *
 * Exactly one of two objects defines codegen_compile() and codegen_worker_program(); the
 * link line chooses which:
 *   compiler/codegen.c         in libkumo-compiler.a (links libLLVM): code is generated in
 *                              this process; the compile worker is this program started
 *                              again (/proc/self/exe). The unit tests, fuzz targets, spec
 *                              tests and the worker program kumo-compile link it.
 *   compiler/codegen_client.c  in libkumo-compiler-client.a (no LLVM): code is generated
 *                              by the worker program kumo-compile (compile_worker.c),
 *                              always in a child process. kumo and kumod link it, so a
 *                              run that compiles nothing never loads libLLVM.
 * Both give the same objects, errors and compile budget; only where LLVM runs differs.
 */
#ifndef KUMO_COMPILER_CODEGEN_H
#define KUMO_COMPILER_CODEGEN_H

#include "compiler/compiler.h"
#include "compiler/module.h"

/* kumo_compile_file() once the driver has checked the options (a known cpu, -O0..3) and
 * decided that no compile budget sends the work to a worker: generates the object at
 * out_path (atomically) and fills info (may be NULL). */
int codegen_compile(const uint8_t *wasm, size_t len, const struct kumo_compile_options *opts,
		    const char *out_path, struct kumo_compile_info *info, kumo_error_t *err);

/* The program budget.c starts as a compile worker (with KUMO_COMPILE_WORKER=1 and argv[0]
 * "kumo-compile-worker", see budget.c): a path that stays valid for the process's life,
 * or NULL with *err when there is none. */
const char *codegen_worker_program(kumo_error_t *err);

/* ---- symbol naming (abi.h), compile.c: shared by both sides ---- */

/* abi.h's sig string of a function type ("iiii_i"), malloc'd. */
char *emit_sig(const struct wasm_functype *ft);
/* KUMO_SYM_EXPORT_PREFIX + enc(name), malloc'd. */
char *emit_export_symbol(const char *name, size_t len);
/* Fills info->nimports/imports from a decoded module (imports.c). */
void compile_info_fill_imports(const struct wasm_module *m, struct kumo_compile_info *info);
/* 1 when `cpu` names an x86-64 CPU kumo accepts for --cpu (compile.c). */
int compile_cpu_known(const char *cpu);

#endif /* KUMO_COMPILER_CODEGEN_H */
