/* tests/unit/wat_fixture.h - builds a Wasm binary from WAT text with wabt's wat2wasm,
 * for the front-end unit tests. Header-only; each test includes it once. */
#ifndef KUMO_TESTS_WAT_FIXTURE_H
#define KUMO_TESTS_WAT_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Returns a malloc'd binary (length in *len), or NULL when wat2wasm refused the text.
 * `flags` are extra wat2wasm options ("--no-check" to build invalid modules). */
static uint8_t *wat_to_wasm(const char *wat, const char *flags, size_t *len)
{
	char in[] = "/tmp/kumo-wat-XXXXXX";
	int fd = mkstemp(in);
	if (fd < 0)
		return NULL;
	size_t n = strlen(wat);
	if (write(fd, wat, n) != (ssize_t)n) {
		close(fd);
		unlink(in);
		return NULL;
	}
	close(fd);
	char out[64];
	snprintf(out, sizeof(out), "%s.wasm", in);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "wat2wasm %s %s -o %s 2>/dev/null", flags ? flags : "",
		 in, out);
	int rc = system(cmd);
	unlink(in);
	if (rc != 0) {
		unlink(out);
		return NULL;
	}
	FILE *f = fopen(out, "rb");
	unlink(out);
	if (!f)
		return NULL;
	uint8_t *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

#endif
