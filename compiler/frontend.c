/* compiler/frontend.c - the front end's public face: kumo_validate() and wasm_load(). */
#include "compiler/compiler.h"
#include "compiler/frontend.h"

int wasm_error_to_kumo(const struct wasm_error *e, kumo_error_t *err)
{
	if (e->unsupported)
		return kumo_error(err, KUMO_E_UNSUPPORTED, "%s at offset 0x%zx", e->msg, e->offset);
	if (e->malformed)
		return kumo_error(err, KUMO_E_INVALID, "malformed module at offset 0x%zx: %s",
				  e->offset, e->msg);
	return kumo_error(err, KUMO_E_INVALID, "invalid module at offset 0x%zx: %s", e->offset,
			  e->msg);
}

int wasm_load(const uint8_t *wasm, size_t len, struct wasm_module *m, kumo_error_t *err)
{
	struct wasm_error e;
	if (wasm_decode(wasm, len, m, &e) < 0)
		return wasm_error_to_kumo(&e, err);
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
