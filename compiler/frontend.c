/* compiler/frontend.c - the front end's public face: kumo_validate() and wasm_load(). */
#include "compiler/compiler.h"
#include "compiler/frontend.h"
#include "compiler/wat.h"

#include <string.h>

int wasm_error_to_kumo(const struct wasm_error *e, kumo_error_t *err)
{
	if (e->limit)
		return kumo_error(err, KUMO_E_INVALID, "module refused at offset 0x%zx: %s", e->offset,
				  e->msg);
	if (e->unsupported)
		return kumo_error(err, KUMO_E_UNSUPPORTED, "%s at offset 0x%zx", e->msg, e->offset);
	if (e->malformed)
		return kumo_error(err, KUMO_E_INVALID, "malformed module at offset 0x%zx: %s",
				  e->offset, e->msg);
	return kumo_error(err, KUMO_E_INVALID, "invalid module at offset 0x%zx: %s", e->offset,
			  e->msg);
}

/* Text: assembled into an arena that the module then owns (its names and bodies point
 * into the binary). */
static int load_text(const uint8_t *text, size_t len, struct wasm_module *m, kumo_error_t *err)
{
	struct wasm_arena a = { 0 };
	struct wat_error we;
	const uint8_t *bin;
	size_t bin_len;
	if (wat_assemble((const char *)text, len, &a, &bin, &bin_len, &we) < 0) {
		arena_free(&a);
		memset(m, 0, sizeof(*m));
		return kumo_error(err, KUMO_E_INVALID, "malformed text module at %u:%u: %s",
				  we.line, we.col, we.msg);
	}
	struct wasm_error e;
	if (wasm_decode(bin, bin_len, m, &e) < 0) {
		arena_free(&a);
		return wasm_error_to_kumo(&e, err);
	}
	arena_adopt(&m->arena, &a);
	return 0;
}

int wasm_load(const uint8_t *wasm, size_t len, struct wasm_module *m, kumo_error_t *err)
{
	struct wasm_error e;
	uint64_t max = kumo_compile_limits()->max_module_bytes;
	if (max && len > max) {
		memset(m, 0, sizeof(*m));
		return kumo_error(err, KUMO_E_INVALID,
				  "module refused: %zu bytes, over the limit of %llu (key "
				  "`max_module_bytes`)",
				  len, (unsigned long long)max);
	}
	if (wat_is_text(wasm, len)) {
		if (load_text(wasm, len, m, err) < 0)
			return -1;
	} else if (wasm_decode(wasm, len, m, &e) < 0) {
		return wasm_error_to_kumo(&e, err);
	}
	if (wasm_validate(m, &e) < 0) {
		wasm_module_free(m);
		return wasm_error_to_kumo(&e, err);
	}
	return 0;
}

int kumo_validate(const uint8_t *wasm, size_t len, kumo_error_t *err)
{
	struct wasm_module m;
	if (wasm_load(wasm, len, &m, err) < 0)
		return -1;
	wasm_module_free(&m);
	return 0;
}
