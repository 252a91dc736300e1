/* tests/unit/test_imagestore_ref.c - image reference parsing and normalization (kubelet/containerd rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "imagestore/imagestore.h"

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void normalizes(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"alpine", "docker.io/library/alpine:latest"},
		{"alpine:3.19", "docker.io/library/alpine:3.19"},
		{"library/alpine", "docker.io/library/alpine:latest"},
		{"docker.io/alpine", "docker.io/library/alpine:latest"},
		{"index.docker.io/library/alpine:1", "docker.io/library/alpine:1"},
		{"user/app", "docker.io/user/app:latest"},
		{"ghcr.io/org/team/app:v1.2_3-rc", "ghcr.io/org/team/app:v1.2_3-rc"},
		{"localhost/app", "localhost/app:latest"},
		{"localhost:5000/app:v1", "localhost:5000/app:v1"},
		{"127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest"},
		{"[::1]:5000/app", "[::1]:5000/app:latest"},
		{"Registry.Example.COM/app", "Registry.Example.COM/app:latest"},
		{"app@" D64, "docker.io/library/app@" D64},
		{"host:5000/app:v1@" D64, "host:5000/app:v1@" D64},
		{"a.b/c__d/e-f--g.h", "a.b/c__d/e-f--g.h:latest"},
		{"localhost:5000", "docker.io/library/localhost:5000"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imagestore_ref r;
		kumo_error_t err = NULL;
		int rc = imagestore_ref_parse(cases[i].in, &r, &err);
		if (rc != 0)
			fail_msg("`%s`: %s", cases[i].in, kumo_error_msg(err));
		char *s = imagestore_ref_string(&r);
		assert_string_equal(s, cases[i].out);
		free(s);
		imagestore_ref_clear(&r);
	}
}

static void parts(void **state)
{
	struct imagestore_ref r;
	kumo_error_t err = NULL;
	assert_int_equal(imagestore_ref_parse("127.0.0.1:5000/ns/app:v2", &r, &err), 0);
	assert_string_equal(r.domain, "127.0.0.1:5000");
	assert_string_equal(r.path, "ns/app");
	assert_string_equal(r.tag, "v2");
	assert_null(r.digest);
	char *n = imagestore_ref_name(&r);
	assert_string_equal(n, "127.0.0.1:5000/ns/app");
	free(n);
	imagestore_ref_clear(&r);
	assert_int_equal(imagestore_ref_parse("app@" D64, &r, &err), 0);
	assert_null(r.tag);
	assert_string_equal(r.digest, D64);
	imagestore_ref_clear(&r);
}

static void refuses(void **state)
{
	static const char *bad[] = {
		"", "UPPER/App", "app:", "app:-tag", "app@sha256:abc", "app@md5:" D64 + 7,
		"app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"host:port/app", "/app", "app/", "a//b", "a/-b", "a/b_", "a/b..c", "a/b___c",
		"exa mple.com/app", "ex_ample.com:5000/app", "host:5000/app:tag with space",
		"[::1/app",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct imagestore_ref r;
		kumo_error_t err = NULL;
		if (imagestore_ref_parse(bad[i], &r, &err) == 0) {
			char *s = imagestore_ref_string(&r);
			fail_msg("`%s` accepted as `%s`", bad[i], s);
		}
		assert_non_null(err);
		assert_int_equal(err->status, KUMO_E_INVALID);
		kumo_error_free(&err);
	}
	/* Long names are refused, not truncated. */
	char big[400];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	struct imagestore_ref r;
	kumo_error_t err = NULL;
	assert_int_equal(imagestore_ref_parse(big, &r, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "longer than"));
	kumo_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normalizes),
		cmocka_unit_test(parts),
		cmocka_unit_test(refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
