/* tests/fuzz/fuzz_reference.c - fuzz target for image reference parsing (libFuzzer; a replay main without it). */
#include <stdint.h>
#include <string.h>

#include "imagestore/imagestore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct imagestore_ref r;
	kumo_error_t err = NULL;
	if (imagestore_ref_parse(s, &r, &err) == 0) {
		/* A normalized reference parses again to itself. */
		char *n = imagestore_ref_string(&r);
		struct imagestore_ref r2;
		if (imagestore_ref_parse(n, &r2, &err) != 0)
			abort();
		char *n2 = imagestore_ref_string(&r2);
		if (strcmp(n, n2) != 0)
			abort();
		free(n2);
		free(n);
		imagestore_ref_clear(&r2);
		imagestore_ref_clear(&r);
	} else if (!err || !kumo_error_msg(err)[0]) {
		abort();
	}
	kumo_error_free(&err);
	free(s);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "tests/fuzz/fuzz_replay_main.h"
#endif
