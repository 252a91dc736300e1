/* compiler/frontend.h - decode + validate in one call with kumo's error object; private
 * to compiler/ (the public entry point is kumo_validate() in compiler.h). */
#ifndef KUMO_COMPILER_FRONTEND_H
#define KUMO_COMPILER_FRONTEND_H

#include "common.h"
#include "compiler/module.h"

/* Decodes and fully validates `wasm` (a binary, or text in the WebAssembly text format,
 * told apart by content) into *m. On success the caller frees *m with
 * wasm_module_free(); on failure *m is already freed and *err says, e.g.,
 *   "invalid module at offset 0x1a2: type mismatch in i32.add"
 *   "malformed module at offset 0x8: unknown binary version"
 *   "unsupported feature `SIMD` at offset 0x2f"          (status KUMO_E_UNSUPPORTED) */
int wasm_load(const uint8_t *wasm, size_t len, struct wasm_module *m, kumo_error_t *err);

/* Turns a front-end error into a kumo error (the wording above); returns -1. */
int wasm_error_to_kumo(const struct wasm_error *e, kumo_error_t *err);

#endif /* KUMO_COMPILER_FRONTEND_H */
