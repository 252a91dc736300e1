/* tests/unit/test_imagestore_parse.c - manifest/index/config parsing, platform selection,
 * what an image is (WebAssembly or not) from its manifest, auth challenges, docker
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
