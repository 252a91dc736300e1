/* tests/unit/test_imagestore_parse.c - manifest/index/config parsing, platform selection,
 * what an image is (WebAssembly or not) from its manifest, manifest annotations and
 * checkpoint images (their manifests, the start of their layer), auth challenges, docker
 * config.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "imagestore/istore.h"

#define DA "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DB "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DC "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static int parse(const char *json, const char *ct, uint64_t max, struct manifest *m, kumo_error_t *err)
{
	return manifest_parse(json, strlen(json), ct, max, m, err);
}

static void oci_manifest(void **state)
{
	const char *j = "{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_MANIFEST "\","
			"\"config\":{\"mediaType\":\"" IMAGESTORE_MT_WASM_CONFIG "\",\"digest\":\"" DA "\",\"size\":10},"
			"\"layers\":[{\"mediaType\":\"application/wasm\",\"digest\":\"" DB "\",\"size\":1234}]}";
	struct manifest m;
	kumo_error_t err = NULL;
	assert_int_equal(parse(j, IMAGESTORE_MT_OCI_MANIFEST "; charset=utf-8", 1 << 20, &m, &err), 0);
	assert_int_equal(m.kind, MANIFEST_IMAGE);
	assert_string_equal(m.config.media_type, IMAGESTORE_MT_WASM_CONFIG);
	assert_int_equal(m.n_layers, 1);
	assert_string_equal(m.layers[0].digest, DB);
	assert_int_equal(m.layers[0].size, 1234);
	manifest_clear(&m);
	/* No Content-Type: the body decides. A generic one too. */
	assert_int_equal(parse(j, NULL, 1 << 20, &m, &err), 0);
	manifest_clear(&m);
	assert_int_equal(parse(j, "application/json", 1 << 20, &m, &err), 0);
	manifest_clear(&m);
	/* Descriptor bigger than the limit. */
	assert_int_equal(parse(j, NULL, 1000, &m, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "more than the limit"));
	kumo_error_free(&err);
	/* Served as a type that contradicts the body. */
	assert_int_equal(parse(j, IMAGESTORE_MT_DOCKER_MANIFEST, 1 << 20, &m, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "but was served as"));
	kumo_error_free(&err);
	/* Unknown media type. */
	assert_int_equal(parse(j, "application/vnd.docker.distribution.manifest.v1+prettyjws", 1 << 20, &m, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "unsupported manifest media type"));
	assert_int_equal(err->status, KUMO_E_UNSUPPORTED);
	kumo_error_free(&err);
}

static void refuses_malformed(void **state)
{
	static const char *bad[] = {
		"", "[]", "{", "{\"schemaVersion\":1}",
		"{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_MANIFEST "\"}",
		"{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_MANIFEST "\",\"config\":{\"digest\":\"" DA "\",\"size\":1},\"layers\":{}}",
		"{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_MANIFEST "\",\"config\":{\"digest\":\"sha512:aa\",\"size\":1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_MANIFEST "\",\"config\":{\"digest\":\"" DA "\",\"size\":-1},\"layers\":[]}",
		"{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_MANIFEST "\",\"config\":{\"digest\":\"" DA "\",\"size\":1},\"layers\":[7]}",
		"{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_INDEX "\",\"manifests\":[{\"digest\":\"" DA "\"}]}",
		"{\"schemaVersion\":2,\"mediaType\":\"x\",\"mediaType\":\"y\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct manifest m;
		kumo_error_t err = NULL;
		if (parse(bad[i], NULL, 1 << 20, &m, &err) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(err);
		kumo_error_free(&err);
	}
}

static const char *index_json =
	"{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_DOCKER_LIST "\",\"manifests\":["
	"{\"mediaType\":\"" IMAGESTORE_MT_DOCKER_MANIFEST "\",\"digest\":\"" DA "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
	"{\"mediaType\":\"" IMAGESTORE_MT_DOCKER_MANIFEST "\",\"digest\":\"" DB "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
	"{\"mediaType\":\"" IMAGESTORE_MT_DOCKER_MANIFEST "\",\"digest\":\"" DC "\",\"size\":1,\"platform\":{\"os\":\"wasip1\",\"architecture\":\"wasm\"}}]}";

static void index_selects_wasm(void **state)
{
	struct manifest m;
	kumo_error_t err = NULL;
	assert_int_equal(parse(index_json, IMAGESTORE_MT_DOCKER_LIST, 1 << 20, &m, &err), 0);
	assert_int_equal(m.kind, MANIFEST_INDEX);
	assert_int_equal(m.n_manifests, 3);
	size_t i = 99;
	assert_int_equal(manifest_select_wasm(&m, "x", &i, &err), 0);
	assert_int_equal(i, 2);
	/* Without the wasm entry, the error names what there is. */
	m.n_manifests = 2;
	assert_int_equal(manifest_select_wasm(&m, "reg/app:v1", &i, &err), -1);
	assert_string_equal(kumo_error_msg(err),
			    "image `reg/app:v1` has no wasi/wasm platform (it has linux/amd64, linux/arm/v7)");
	kumo_error_free(&err);
	m.n_manifests = 3;
	manifest_clear(&m);
	assert_true(platform_is_wasm("wasi", "wasm"));
	assert_true(platform_is_wasm("wasip1", "wasm"));
	assert_false(platform_is_wasm("linux", "wasm"));
	assert_false(platform_is_wasm("wasi", "amd64"));
	assert_false(platform_is_wasm(NULL, "wasm"));
}

/* manifest_classify: what imagestore_probe decides a pull's runtime by. */
static void classifies(void **state)
{
	struct manifest m;
	kumo_error_t err = NULL;
	bool wasm = false;
	char *what = NULL;
	/* An index: Wasm when any entry is wasi|wasip1/wasm; what lists the platforms. */
	assert_int_equal(parse(index_json, NULL, 1 << 20, &m, &err), 0);
	assert_int_equal(manifest_classify(&m, NULL, 0, &wasm, &what, &err), 0);
	assert_true(wasm);
	assert_string_equal(what, "linux/amd64, linux/arm/v7, wasip1/wasm");
	free(what);
	m.n_manifests = 2; /* the Linux entries only */
	assert_int_equal(manifest_classify(&m, NULL, 0, &wasm, &what, &err), 0);
	assert_false(wasm);
	assert_string_equal(what, "linux/amd64, linux/arm/v7");
	free(what);
	m.n_manifests = 3;
	manifest_clear(&m);
	/* The Wasm artifact by its config media type, and by an application/wasm layer with
	 * another config (OCI 1.1 artifacts use the empty config). */
	const char *art = "{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_MANIFEST "\","
			  "\"config\":{\"mediaType\":\"" IMAGESTORE_MT_WASM_CONFIG "\",\"digest\":\"" DA "\",\"size\":2},"
			  "\"layers\":[{\"mediaType\":\"application/wasm\",\"digest\":\"" DB "\",\"size\":9}]}";
	assert_int_equal(parse(art, NULL, 1 << 20, &m, &err), 0);
	assert_int_equal(manifest_classify(&m, NULL, 0, &wasm, &what, &err), 0);
	assert_true(wasm);
	assert_string_equal(what, "the Wasm artifact");
	free(what);
	manifest_clear(&m);
	const char *art11 = "{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_MANIFEST "\","
			    "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"" DA "\",\"size\":2},"
			    "\"layers\":[{\"mediaType\":\"application/wasm\",\"digest\":\"" DB "\",\"size\":9}]}";
	assert_int_equal(parse(art11, NULL, 1 << 20, &m, &err), 0);
	assert_int_equal(manifest_classify(&m, NULL, 0, &wasm, &what, &err), 0);
	assert_true(wasm);
	free(what);
	manifest_clear(&m);
	/* An image manifest: undecided (1) without its config, then the config decides. */
	const char *img = "{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_DOCKER_MANIFEST "\","
			  "\"config\":{\"mediaType\":\"" IMAGESTORE_MT_DOCKER_CONFIG "\",\"digest\":\"" DA "\",\"size\":2},"
			  "\"layers\":[{\"mediaType\":\"" IMAGESTORE_MT_DOCKER_LAYER "\",\"digest\":\"" DB "\",\"size\":9}]}";
	assert_int_equal(parse(img, NULL, 1 << 20, &m, &err), 0);
	what = NULL;
	assert_int_equal(manifest_classify(&m, NULL, 0, &wasm, &what, &err), 1);
	assert_null(what);
	const char *linux_cfg = "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"sh\"]}}";
	assert_int_equal(manifest_classify(&m, linux_cfg, strlen(linux_cfg), &wasm, &what, &err), 0);
	assert_false(wasm);
	assert_string_equal(what, "linux/amd64");
	free(what);
	const char *wasi_cfg = "{\"os\":\"wasi\",\"architecture\":\"wasm\"}";
	assert_int_equal(manifest_classify(&m, wasi_cfg, strlen(wasi_cfg), &wasm, &what, &err), 0);
	assert_true(wasm);
	assert_string_equal(what, "wasi/wasm");
	free(what);
	/* A config that names no platform is not Wasm; one that does not parse is an error. */
	assert_int_equal(manifest_classify(&m, "{}", 2, &wasm, &what, &err), 0);
	assert_false(wasm);
	assert_string_equal(what, "?/?");
	free(what);
	what = NULL;
	assert_int_equal(manifest_classify(&m, "[", 1, &wasm, &what, &err), -1);
	assert_null(what);
	assert_non_null(strstr(kumo_error_msg(err), "image config"));
	kumo_error_free(&err);
	manifest_clear(&m);
}

static void image_config(void **state)
{
	const char *j = "{\"os\":\"wasi\",\"architecture\":\"wasm\",\"config\":{\"Entrypoint\":[\"/app.wasm\",\"-v\"],"
			"\"Cmd\":[\"x\"],\"Env\":[\"A=1\",7],\"WorkingDir\":\"/w\"}}";
	struct image_config c;
	kumo_error_t err = NULL;
	assert_int_equal(image_config_parse(j, strlen(j), &c, &err), 0);
	assert_string_equal(c.os, "wasi");
	assert_string_equal(c.arch, "wasm");
	assert_int_equal(strv_len(c.entrypoint), 2);
	assert_string_equal(c.entrypoint[1], "-v");
	assert_int_equal(strv_len(c.env), 1);
	assert_string_equal(c.working_dir, "/w");
	assert_null(c.user);
	image_config_clear(&c);
	assert_int_equal(image_config_parse("{}", 2, &c, &err), 0);
	assert_null(c.os);
	assert_non_null(c.entrypoint);
	assert_null(c.entrypoint[0]);
	image_config_clear(&c);
	assert_int_equal(image_config_parse("[1]", 3, &c, &err), -1);
	kumo_error_free(&err);
}

static void challenges(void **state)
{
	struct challenge c;
	assert_int_equal(challenge_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
					 "scope=\"repository:library/alpine:pull\"", &c), 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/alpine:pull");
	challenge_clear(&c);
	assert_int_equal(challenge_parse("Basic realm=\"kumo \\\"test\\\"\"", &c), 0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "kumo \"test\"");
	assert_null(c.service);
	challenge_clear(&c);
	assert_int_equal(challenge_parse("", &c), -1);
	challenge_clear(&c);
}

static void docker_config(void **state)
{
	char dir[] = "/tmp/kumo-dcfg-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = xasprintf("%s/config.json", dir);
	char *auth = b64_encode("alice:pw:with:colons", 20);
	char *json = xasprintf("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"%s\"},"
			       "\"reg.example:5000\":{\"username\":\"bob\",\"password\":\"x\"},"
			       "\"bad.example\":{\"auth\":\"!!!\"}}}", auth);
	kumo_error_t err = NULL;
	assert_int_equal(kumo_write_file_atomic(path, json, strlen(json), 0600, &err), 0);
	char *u = docker_config_lookup(path, "docker.io");
	assert_string_equal(u, "alice:pw:with:colons");
	free(u);
	u = docker_config_lookup(path, "reg.example:5000");
	assert_string_equal(u, "bob:x");
	free(u);
	assert_null(docker_config_lookup(path, "reg.example"));
	assert_null(docker_config_lookup(path, "bad.example"));
	assert_null(docker_config_lookup("/nonexistent/config.json", "docker.io"));
	assert_null(docker_config_lookup(NULL, "docker.io"));
	unlink(path);
	rmdir(dir);
	free(path);
	free(auth);
	free(json);
	size_t n;
	char *d = b64_decode("aGVsbG8=", &n);
	assert_int_equal(n, 5);
	assert_string_equal(d, "hello");
	free(d);
	assert_null(b64_decode("abc", &n));
	/* More padding than a block carries (fuzz_manifest: the length wrapped). */
	assert_null(b64_decode("l=======", &n));
	assert_null(b64_decode("a===", &n));
	d = b64_decode("aGk=", &n);
	assert_non_null(d);
	assert_int_equal(n, 2);
	assert_string_equal(d, "hi");
	free(d);
}

#define CK_MAN(cfg_mt, layers)                                                              \
	"{\"schemaVersion\":2,\"mediaType\":\"" IMAGESTORE_MT_OCI_MANIFEST "\",\"config\":{"      \
	"\"mediaType\":\"" cfg_mt "\",\"digest\":\"" DA "\",\"size\":2},\"layers\":[" layers "],"   \
	"\"annotations\":{\"" IMAGESTORE_ANN_CHECKPOINT_NAME "\":\"counter\",\"" IMAGESTORE_ANN_CHECKPOINT_KIND \
	"\":\"pod-vm\"}}"
#define CK_LAYER(mt, d) "{\"mediaType\":\"" mt "\",\"digest\":\"" d "\",\"size\":4096}"

static void annotations(void **state)
{
	struct manifest m;
	kumo_error_t err = NULL;
	const char *j = CK_MAN(IMAGESTORE_MT_CHECKPOINT_CONFIG, CK_LAYER(IMAGESTORE_MT_CHECKPOINT_LAYER, DB));
	assert_int_equal(parse(j, NULL, 1 << 20, &m, &err), 0);
	assert_int_equal(strv_len(m.annotations), 4);
	assert_string_equal(manifest_annotation(&m, IMAGESTORE_ANN_CHECKPOINT_NAME), "counter");
	assert_string_equal(manifest_annotation(&m, IMAGESTORE_ANN_CHECKPOINT_KIND), "pod-vm");
	assert_null(manifest_annotation(&m, "counter")); /* a value is no key */
	assert_null(manifest_annotation(&m, "org.opencontainers.image.created"));
	manifest_clear(&m);
	/* None: an empty list, never NULL; an index's are read too. */
	j = "{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":\"b\"}}";
	assert_int_equal(parse(j, NULL, 1 << 20, &m, &err), 0);
	assert_string_equal(manifest_annotation(&m, "a"), "b");
	manifest_clear(&m);
	j = "{\"schemaVersion\":2,\"manifests\":[]}";
	assert_int_equal(parse(j, NULL, 1 << 20, &m, &err), 0);
	assert_non_null(m.annotations);
	assert_null(m.annotations[0]);
	manifest_clear(&m);
	/* Not a map of strings. */
	static const char *bad[] = {
		"{\"schemaVersion\":2,\"manifests\":[],\"annotations\":[\"a\"]}",
		"{\"schemaVersion\":2,\"manifests\":[],\"annotations\":\"a\"}",
		"{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":1}}",
		"{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{\"a\":{\"b\":\"c\"}}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], NULL, 1 << 20, &m, &err), -1);
		assert_int_equal(err->status, KUMO_E_INVALID);
		assert_non_null(strstr(kumo_error_msg(err), "annotation"));
		kumo_error_free(&err);
	}
	/* Too many. */
	char *many = xstrdup("{\"schemaVersion\":2,\"manifests\":[],\"annotations\":{");
	for (int i = 0; i < 257; i++) {
		char *next = xasprintf("%s%s\"k%d\":\"v\"", many, i ? "," : "", i);
		free(many);
		many = next;
	}
	char *full = xasprintf("%s}}", many);
	assert_int_equal(parse(full, NULL, 1 << 20, &m, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "257 annotations (limit 256)"));
	kumo_error_free(&err);
	free(many);
	free(full);
}

static void checkpoint_manifests(void **state)
{
	struct manifest m;
	kumo_error_t err = NULL;
	bool wasm;
	char *what;
	/* Well formed: kumo's config, one layer of kumo's type. */
	assert_int_equal(parse(CK_MAN(IMAGESTORE_MT_CHECKPOINT_CONFIG,
				      CK_LAYER(IMAGESTORE_MT_CHECKPOINT_LAYER, DB)),
			       NULL, 1 << 20, &m, &err), 0);
	assert_int_equal(manifest_checkpoint(&m, "r", &err), 1);
	assert_int_equal(manifest_classify(&m, NULL, 0, &wasm, &what, &err), 0);
	assert_true(wasm); /* kumo's: a mixed node routes its pull to kumo */
	assert_string_equal(what, "a kumo checkpoint");
	free(what);
	manifest_clear(&m);
	/* A Wasm image or artifact is not one. */
	assert_int_equal(parse(CK_MAN(IMAGESTORE_MT_WASM_CONFIG, CK_LAYER(IMAGESTORE_MT_WASM_LAYER, DB)),
			       NULL, 1 << 20, &m, &err), 0);
	assert_int_equal(manifest_checkpoint(&m, "r", &err), 0);
	manifest_clear(&m);
	assert_int_equal(parse(CK_MAN(IMAGESTORE_MT_OCI_CONFIG, CK_LAYER(IMAGESTORE_MT_OCI_LAYER_GZIP, DB)),
			       NULL, 1 << 20, &m, &err), 0);
	assert_int_equal(manifest_checkpoint(&m, "r", &err), 0);
	manifest_clear(&m);
	/* An index is not one. */
	const char *ix = "{\"schemaVersion\":2,\"manifests\":[]}";
	assert_int_equal(parse(ix, NULL, 1 << 20, &m, &err), 0);
	assert_int_equal(manifest_checkpoint(&m, "r", &err), 0);
	manifest_clear(&m);
	/* Claims to be one, is not well formed: each says what is wrong. */
	static const struct {
		const char *json, *says;
	} bad[] = {
		{CK_MAN(IMAGESTORE_MT_CHECKPOINT_CONFIG, CK_LAYER(IMAGESTORE_MT_CHECKPOINT_LAYER, DB) ","
			CK_LAYER(IMAGESTORE_MT_CHECKPOINT_LAYER, DC)),
		 "has 2 layers (2 of type"},
		{CK_MAN(IMAGESTORE_MT_CHECKPOINT_CONFIG, ""), "has 0 layers (0 of type"},
		{CK_MAN(IMAGESTORE_MT_CHECKPOINT_CONFIG, CK_LAYER(IMAGESTORE_MT_OCI_LAYER, DB)),
		 "has 1 layers (0 of type"},
		{CK_MAN(IMAGESTORE_MT_CHECKPOINT_CONFIG, CK_LAYER(IMAGESTORE_MT_CHECKPOINT_LAYER, DB) ","
			CK_LAYER(IMAGESTORE_MT_OCI_LAYER, DC)),
		 "has 2 layers (1 of type"},
		{CK_MAN(IMAGESTORE_MT_OCI_CONFIG, CK_LAYER(IMAGESTORE_MT_CHECKPOINT_LAYER, DB)),
		 "has config media type `" IMAGESTORE_MT_OCI_CONFIG "`, want `" IMAGESTORE_MT_CHECKPOINT_CONFIG},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].json, NULL, 1 << 20, &m, &err), 0);
		assert_int_equal(manifest_checkpoint(&m, "reg/ck:v1", &err), -1);
		assert_int_equal(err->status, KUMO_E_INVALID);
		assert_non_null(strstr(kumo_error_msg(err), "checkpoint image `reg/ck:v1`"));
		if (!strstr(kumo_error_msg(err), bad[i].says))
			fail_msg("case %zu: `%s` lacks `%s`", i, kumo_error_msg(err), bad[i].says);
		kumo_error_free(&err);
		/* Still kumo's for routing: its pull says what is wrong. */
		assert_int_equal(manifest_classify(&m, NULL, 0, &wasm, &what, &err), 0);
		assert_true(wasm);
		free(what);
		manifest_clear(&m);
	}
}

/* A ustar header of one member (name, type), its checksum right unless `broken`. */
static void tar_header(uint8_t h[512], const char *name, char type, bool broken)
{
	memset(h, 0, 512);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000600", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	memcpy(h + 124, "00000000012", 12);
	memcpy(h + 136, "00000000000", 12);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += i >= 148 && i < 156 ? ' ' : h[i];
	snprintf((char *)h + 148, 8, "%06o", sum + (broken ? 1 : 0));
	h[155] = ' ';
}

static void checkpoint_heads(void **state)
{
	uint8_t h[1024] = {0};
	kumo_error_t err = NULL;
	tar_header(h, "manifest.json", '0', false);
	assert_int_equal(checkpoint_head_check(h, sizeof(h), &err), 0);
	assert_int_equal(checkpoint_head_check(h, 512, &err), 0);
	static const struct {
		const char *name;
		char type;
		bool broken;
		size_t len;
		const char *says;
	} bad[] = {
		{"manifest.json", '0', false, 511, "is 511 bytes, too short"},
		{"manifest.json", '0', true, 512, "not a tar archive"},
		{"vm/qemu.state", '0', false, 512, "first member is `vm/qemu.state`"},
		{"manifest.json", '5', false, 512, "`manifest.json` is not a regular file (type `5`)"},
		{"manifest.json.x", '0', false, 512, "first member is `manifest.json.x`"},
		{"manifest\033[2J", '0', false, 512, "first member is `manifest?[2J`"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tar_header(h, bad[i].name, bad[i].type, bad[i].broken);
		assert_int_equal(checkpoint_head_check(h, bad[i].len, &err), -1);
		assert_int_equal(err->status, KUMO_E_INVALID);
		if (!strstr(kumo_error_msg(err), bad[i].says))
			fail_msg("case %zu: `%s` lacks `%s`", i, kumo_error_msg(err), bad[i].says);
		kumo_error_free(&err);
	}
	/* No header at all: zeros, text. */
	memset(h, 0, sizeof(h));
	assert_int_equal(checkpoint_head_check(h, sizeof(h), &err), -1);
	kumo_error_free(&err);
	memset(h, 'a', sizeof(h));
	assert_int_equal(checkpoint_head_check(h, sizeof(h), &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "not a tar archive"));
	kumo_error_free(&err);
	/* The file form: a missing file is an error naming it. */
	assert_int_equal(checkpoint_blob_check("/nonexistent/kumo-blob", &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "/nonexistent/kumo-blob"));
	kumo_error_free(&err);
}

static void digests(void **state)
{
	assert_true(digest_valid(DA));
	assert_false(digest_valid("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	assert_false(digest_valid(DA "a"));
	assert_false(digest_valid("sha256:aa"));
	assert_false(digest_valid(NULL));
	char d[KUMO_DIGEST_BUF];
	kumo_sha256("", 0, d);
	assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(oci_manifest),
		cmocka_unit_test(refuses_malformed),
		cmocka_unit_test(index_selects_wasm),
		cmocka_unit_test(classifies),
		cmocka_unit_test(image_config),
		cmocka_unit_test(challenges),
		cmocka_unit_test(docker_config),
		cmocka_unit_test(digests),
		cmocka_unit_test(annotations),
		cmocka_unit_test(checkpoint_manifests),
		cmocka_unit_test(checkpoint_heads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
