/* compiler/imports.c - a module's imports as the builder needs them: names and the
 * undefined symbols the compiled object will reference (abi.h naming). */
#include <string.h>

#include "compiler/compiler.h"
#include "compiler/codegen.h"
#include "compiler/frontend.h"

void compile_info_fill_imports(const struct wasm_module *m, struct kumo_compile_info *info)
{
	info->nimports = m->nimports;
	info->imports = xzalloc((m->nimports + 1) * sizeof(*info->imports));
	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct wasm_import *im = &m->imports[i];
		struct kumo_import_info *ii = &info->imports[i];
		ii->module = xstrndup(im->module.ptr, im->module.len);
		ii->field = xstrndup(im->field.ptr, im->field.len);
		ii->kind = im->kind;
		if (im->kind == KUMO_EXTERN_FUNC) {
			char *sig = emit_sig(&m->types[im->type_idx]);
			ii->symbol = kumo_import_symbol(im->module.ptr, im->module.len, im->field.ptr,
							im->field.len, sig);
			free(sig);
		}
	}
}

int kumo_module_imports(const uint8_t *wasm, size_t len, struct kumo_compile_info *info,
			kumo_error_t *err)
{
	struct wasm_module m;
	memset(info, 0, sizeof(*info));
	if (wasm_load(wasm, len, &m, err) < 0)
		return -1;
	compile_info_fill_imports(&m, info);
	wasm_module_free(&m);
	return 0;
}
