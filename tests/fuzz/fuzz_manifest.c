/* tests/fuzz/fuzz_manifest.c - fuzz target for manifest/index/config parsing (annotations, checkpoint images and the head of their layer too), platform selection and auth challenges. */
#include <stdint.h>
#include <string.h>

#include "imagestore/istore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *types[] = {NULL,
				      IMAGESTORE_MT_OCI_INDEX,
				      IMAGESTORE_MT_OCI_MANIFEST,
				      IMAGESTORE_MT_DOCKER_LIST,
				      IMAGESTORE_MT_DOCKER_MANIFEST,
				      "application/json",
				      "text/html; charset=utf-8",
				      IMAGESTORE_MT_OCI_MANIFEST "; charset=utf-8"};
	/* The first byte picks the Content-Type and the size limit. */
	const char *ct = types[size ? data[0] % 8 : 0];
	uint64_t max = size && (data[0] & 0x80) ? 1000 : UINT64_MAX;
	const char *body = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	struct manifest m;
	kumo_error_t err = NULL;
	if (manifest_parse(body, len, ct, max, &m, &err) == 0) {
		if (m.kind == MANIFEST_INDEX) {
			size_t i;
			if (manifest_select_wasm(&m, "fuzz", &i, &err) == 0 && i >= m.n_manifests)
				abort();
		} else {
			for (size_t i = 0; i < m.n_layers; i++)
				if (!digest_valid(m.layers[i].digest) || m.layers[i].size > max)
					abort();
			(void)layer_media_type_ok(m.config.media_type);
			/* A checkpoint image is one layer; a refusal says why. */
			int ck = manifest_checkpoint(&m, "fuzz", &err);
			if ((ck == 1 && m.n_layers != 1) || (ck < 0 && !err))
				abort();
			kumo_error_free(&err);
		}
		/* Annotations come in pairs, each found again. */
		if (!m.annotations)
			abort();
		for (size_t i = 0; m.annotations[i]; i += 2)
			if (!m.annotations[i + 1] || !manifest_annotation(&m, m.annotations[i]))
				abort();
		manifest_clear(&m);
	} else if (!err) {
		abort();
	}
	kumo_error_free(&err);
	struct image_config c;
	if (image_config_parse(body, len, &c, &err) == 0) {
		if (!c.entrypoint || !c.cmd || !c.env)
			abort();
		(void)platform_is_wasm(c.os, c.arch);
		image_config_clear(&c);
	}
	kumo_error_free(&err);
	if (checkpoint_head_check((const uint8_t *)body, len, &err) < 0 && !err)
		abort();
	kumo_error_free(&err);
	char *s = xstrndup(body, len);
	struct challenge ch;
	challenge_parse(s, &ch);
	challenge_clear(&ch);
	size_t n;
	free(b64_decode(s, &n));
	free(s);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "tests/fuzz/fuzz_replay_main.h"
#endif
