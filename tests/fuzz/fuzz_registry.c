/* tests/fuzz/fuzz_registry.c - fuzz target for what a registry or its token server
 * answers, short of manifests (fuzz_manifest.c): token bodies, error bodies
 * ({"errors":[...]}), response header lines and WWW-Authenticate challenges. The same
 * bytes go to every parser; each result is checked for shape. */
#include <stdint.h>
#include <string.h>

#include "imagestore/istore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	char *token = NULL;
	if (auth_token_parse(s, size, &token) == 0) {
		if (!token || !token[0])
			abort();
		free(token);
	}
	/* The body as the registry sent it: not NUL-terminated at size. */
	char *body = xmalloc(size ? size : 1);
	memcpy(body, data, size);
	struct http_resp resp = {.status = 404, .body = size ? body : NULL, .body_len = size};
	char text[300];
	memset(text, 0x5a, sizeof(text));
	registry_error_text(&resp, text, sizeof(text));
	if (!memchr(text, 0, sizeof(text)) || (text[0] && strncmp(text, ": ", 2) != 0))
		abort();
	free(body);
	static const char *const names[] = {"content-type", "docker-content-digest", "location",
					    "www-authenticate", "content-range"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *v = http_header_value((const char *)data, size, names[i]);
		if (v && (strlen(v) >= size || (v[0] && (v[0] == ' ' || v[0] == '\t'))))
			abort();
		free(v);
	}
	struct challenge ch;
	if (challenge_parse(s, &ch) == 0 && (!ch.scheme || !ch.scheme[0]))
		abort();
	challenge_clear(&ch);
	free(s);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "tests/fuzz/fuzz_replay_main.h"
#endif
