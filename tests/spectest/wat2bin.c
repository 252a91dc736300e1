/* tests/spectest/wat2bin.c - kumo-wat2wasm: assembles a .wat file with kumo's text front
 * end and writes the binary (for comparing against wabt's wat2wasm in the tests).
 *
 * usage: kumo-wat2wasm IN.wat -o OUT.wasm [--no-check]
 * Exit 0 on success; 1 with the error on stderr when the text (or, without --no-check,
 * the assembled module) is refused.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "compiler/compiler.h"
#include "compiler/frontend.h"
#include "compiler/wat.h"

int main(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	bool check = true;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--no-check"))
			check = false;
		else if (!in)
			in = argv[i];
		else
			in = NULL, i = argc;
	}
	if (!in) {
		fprintf(stderr, "usage: kumo-wat2wasm IN.wat [-o OUT.wasm] [--no-check]\n");
		return 2;
	}
	kumo_error_t err = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	if (kumo_read_file(in, 256u << 20, &text, &len, &err) < 0) {
		fprintf(stderr, "kumo-wat2wasm: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		return 1;
	}
	struct wasm_arena a = { 0 };
	struct wat_error we;
	const uint8_t *bin;
	size_t bin_len;
	int rc = 0;
	if (wat_assemble((const char *)text, len, &a, &bin, &bin_len, &we) < 0) {
		fprintf(stderr, "%s:%u:%u: %s\n", in, we.line, we.col, we.msg);
		rc = 1;
	} else if (check && kumo_validate(bin, bin_len, &err) < 0) {
		fprintf(stderr, "%s: %s\n", in, kumo_error_msg(err));
		kumo_error_free(&err);
		rc = 1;
	} else if (out && kumo_write_file_atomic(out, bin, bin_len, 0644, &err) < 0) {
		fprintf(stderr, "kumo-wat2wasm: %s\n", kumo_error_msg(err));
		kumo_error_free(&err);
		rc = 1;
	}
	arena_free(&a);
	free(text);
	return rc;
}
