/* compiler/limits.c - the limits against hostile modules (compiler.h): the process's
 * current set, their keys, and the one message format the decoder and validator use. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "compiler/compiler.h"
#include "compiler/frontend.h"

static struct kumo_compile_limits current = KUMO_COMPILE_LIMITS_DEFAULT;

const struct kumo_compile_limits *kumo_compile_limits(void)
{
	return &current;
}

void kumo_compile_set_limits(const struct kumo_compile_limits *lim)
{
	current = *lim;
}

#define KEY(field, what) {#field, offsetof(struct kumo_compile_limits, field), what}
static const struct kumo_limit_key keys[] = {
	KEY(max_module_bytes, "bytes of one module (binary or text)"),
	KEY(max_types, "entries of the type section"),
	KEY(max_imports, "imports"),
	KEY(max_exports, "exports"),
	KEY(max_globals, "defined globals"),
	KEY(max_functions, "defined functions"),
	KEY(max_function_bytes, "bytes of one function body"),
	KEY(max_locals, "declared locals of one function"),
	KEY(max_tables, "tables (imported ones included)"),
	KEY(max_table_entries, "initial size of a table, entries of one element segment"),
	KEY(max_data_segments, "data segments"),
	KEY(max_element_segments, "element segments"),
	KEY(max_nesting, "nested blocks, loops and ifs in one function"),
	KEY(compile_cpu_seconds, "CPU seconds of one compile (base)"),
	KEY(compile_cpu_seconds_per_mib, "CPU seconds of one compile per MiB of module"),
	KEY(compile_memory_mb, "MiB of memory of one compile (base)"),
	KEY(compile_memory_mb_per_mib, "MiB of memory of one compile per MiB of module"),
};
#undef KEY

const struct kumo_limit_key *kumo_compile_limit_keys(size_t *n)
{
	*n = sizeof(keys) / sizeof(keys[0]);
	return keys;
}

int kumo_compile_limit_set(struct kumo_compile_limits *lim, const char *key, const char *value,
			   kumo_error_t *err)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *k = keys[i].key;
		size_t j = 0;
		while (k[j] && (key[j] == k[j] || (k[j] == '_' && key[j] == '-')))
			j++;
		if (k[j] || key[j])
			continue;
		char *end;
		errno = 0;
		unsigned long long v = strtoull(value, &end, 10);
		if (errno || end == value || *end || value[0] == '-')
			return kumo_error(err, KUMO_E_INVALID, "%s: `%s` is not a number (0: no limit)",
					  k, value);
		*(uint64_t *)((char *)lim + keys[i].offset) = v;
		return 0;
	}
	return kumo_error(err, KUMO_E_NOT_FOUND, "unknown limit `%s`", key);
}

void wasm_limit_error(struct wasm_error *e, size_t offset, const char *what, uint64_t have,
		      uint64_t limit, const char *key)
{
	snprintf(e->msg, sizeof(e->msg), "%s: %llu, over the limit of %llu (key `%s`)", what,
		 (unsigned long long)have, (unsigned long long)limit, key);
	e->offset = offset;
	e->malformed = false;
	e->unsupported = false;
	e->limit = true;
}
