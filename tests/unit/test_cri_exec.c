/* tests/unit/test_cri_exec.c - which file an exec runs (cri/exec_resolve.c), in a file
 * tree made here: paths cleaned lexically; a command by absolute path, relative to PWD,
 * or by name on PATH (NAME, then NAME.wasm); mounts covering the image's rootfs (the
 * longer guest path wins, a later mount of the same path wins); symlinks and ".." never
 * leaving the mount they are in; a FIFO refused without hanging; the errors for a name
 * nowhere, a Linux program, a script and a file that is no module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cri/exec_resolve.h"

static char dir[] = "/tmp/kumo-test-exec-XXXXXX";
static char *rootfs, *data, *tools;

static void put(const char *path, const char *bytes, size_t n)
{
	kumo_error_t err = NULL;
	if (kumo_write_file_replace(path, bytes, n, 0644, &err) < 0)
		fail_msg("%s", kumo_error_msg(err));
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	rootfs = xasprintf("%s/rootfs", dir);
	data = xasprintf("%s/data", dir);
	tools = xasprintf("%s/tools", dir);
	kumo_error_t err = NULL;
	autofree char *bin = xasprintf("%s/bin", rootfs), *sbin = xasprintf("%s/usr/sbin", rootfs);
	if (kumo_mkdir_p(bin, 0755, &err) < 0 || kumo_mkdir_p(sbin, 0755, &err) < 0 ||
	    kumo_mkdir_p(data, 0755, &err) < 0 || kumo_mkdir_p(tools, 0755, &err) < 0)
		return -1;
	static const char wasm[] = "\0asm\1\0\0\0", elf[] = "\177ELF\2\1\1\0";
	autofree char *p1 = xasprintf("%s/tool.wasm", bin), *p2 = xasprintf("%s/true", bin),
		      *p3 = xasprintf("%s/script", bin), *p4 = xasprintf("%s/notes.txt", bin),
		      *p5 = xasprintf("%s/health.wasm", data), *p6 = xasprintf("%s/tool.wasm", tools),
		      *p7 = xasprintf("%s/secret.wasm", dir), *p8 = xasprintf("%s/admin.wasm", sbin);
	put(p1, wasm, 8);
	put(p2, elf, 8);
	put(p3, "#!/bin/sh\necho hi\n", 18);
	put(p4, "plain text", 10);
	put(p5, wasm, 8);
	put(p6, wasm, 8);
	put(p7, wasm, 8); /* outside every mount: never reachable */
	put(p8, wasm, 8);
	autofree char *l1 = xasprintf("%s/abs", bin), *l2 = xasprintf("%s/up", bin),
		      *l3 = xasprintf("%s/escape.wasm", data), *f = xasprintf("%s/fifo", bin);
	if (symlink("/bin/tool.wasm", l1) < 0 || symlink("../../../../secret.wasm", l2) < 0 ||
	    symlink("../secret.wasm", l3) < 0 || mkfifo(f, 0644) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	autofree char *cmd = xasprintf("rm -rf %s", dir);
	if (system(cmd) != 0)
		return -1;
	free(rootfs);
	free(data);
	free(tools);
	return 0;
}

static json_t *mounts(void)
{
	return json_pack("[{s:s, s:s}, {s:s, s:s}]", "guest", "/data", "host", data, "guest",
			 "/data/../opt/tools", "host", tools);
}

/* Resolves argv0 with env (JSON text) and returns where it was found ("!" + the error's
 * status and message on failure), also checking it is a module when `module`. */
static char *found(const char *argv0, const char *env, bool module)
{
	json_t *m = mounts(), *e = env ? json_loads(env, 0, NULL) : NULL;
	int fd = -1;
	char *guest = NULL, *out;
	kumo_error_t err = NULL;
	if (exec_resolve(rootfs, m, e, argv0, "c0ffee", &fd, &guest, &err) < 0 ||
	    (module && exec_check_module(fd, argv0, guest, &err) < 0))
		out = xasprintf("!%d %s", err->status, kumo_error_msg(err));
	else
		out = xstrdup(guest);
	if (fd >= 0)
		close(fd);
	free(guest);
	kumo_error_free(&err);
	json_decref(m);
	json_decref(e);
	return out;
}

static void test_clean_path(void **state)
{
	(void)state;
	static const char *cases[][2] = {
		{"/", "/"}, {"//a///b/", "/a/b"}, {"/a/./b/../c", "/a/c"}, {"/../..", "/"},
		{"/a/b/../../../x", "/x"}, {"/.hidden/..x", "/.hidden/..x"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		autofree char *c = exec_clean_path(cases[i][0]);
		assert_string_equal(c, cases[i][1]);
	}
}

static void test_by_path(void **state)
{
	(void)state;
	autofree char *a = found("/bin/tool.wasm", NULL, true);
	assert_string_equal(a, "/bin/tool.wasm");
	autofree char *b = found("bin/../bin/./tool.wasm", "[\"PWD=/\"]", true);
	assert_string_equal(b, "/bin/tool.wasm");
	autofree char *c = found("./tool.wasm", "[\"PWD=/bin\"]", true);
	assert_string_equal(c, "/bin/tool.wasm");
	/* A mount covers the rootfs below it; the longer guest path wins. */
	autofree char *d = found("/data/health.wasm", NULL, true);
	assert_string_equal(d, "/data/health.wasm");
	autofree char *e = found("/opt/tools/tool.wasm", NULL, true);
	assert_string_equal(e, "/opt/tools/tool.wasm");
}

static void test_on_path(void **state)
{
	(void)state;
	/* NAME.wasm on PATH; the first directory that has it. */
	autofree char *a = found("tool", "[\"PATH=relative:/nowhere:/bin:/opt/tools\"]", true);
	assert_string_equal(a, "/bin/tool.wasm");
	autofree char *b = found("tool", "[\"PATH=/opt/tools:/bin\"]", true);
	assert_string_equal(b, "/opt/tools/tool.wasm");
	/* No PATH: containerd's default. */
	autofree char *c = found("admin", "[\"HOME=/\"]", true);
	assert_string_equal(c, "/usr/sbin/admin.wasm");
	/* NAME itself before NAME.wasm: a Linux program found first is refused as one. */
	autofree char *d = found("true", "[\"PATH=/bin\"]", true);
	assert_non_null(strstr(d, "`true` (`/bin/true`) is a Linux program (ELF)"));
}

static void test_confined(void **state)
{
	(void)state;
	/* An absolute symlink is the image's own root; ".." stops at the mount's top. */
	autofree char *a = found("/bin/abs", NULL, true);
	assert_string_equal(a, "/bin/abs");
	autofree char *b = found("/bin/up", NULL, false);
	assert_true(b[0] == '!');
	assert_non_null(strstr(b, "is not a file of container `c0ffee`'s image or mounts"));
	autofree char *c = found("/data/escape.wasm", NULL, false);
	assert_true(c[0] == '!');
	autofree char *d = found("/data/../secret.wasm", NULL, false);
	assert_true(d[0] == '!');
	/* A FIFO, a directory: not regular files (and the open does not hang). */
	autofree char *e = found("/bin/fifo", NULL, false);
	assert_true(e[0] == '!');
	autofree char *f = found("/bin", NULL, false);
	assert_true(f[0] == '!');
}

static void test_errors(void **state)
{
	(void)state;
	char want[64];
	autofree char *a = found("sh", "[\"PATH=/bin\"]", true);
	snprintf(want, sizeof(want), "!%d ", KUMO_E_NOT_FOUND);
	assert_true(strncmp(a, want, strlen(want)) == 0);
	assert_non_null(strstr(a, "`sh` is not on container `c0ffee`'s PATH (`/bin`), as `sh` or "
				  "`sh.wasm`"));
	assert_non_null(strstr(a, "exec on kumo runs WebAssembly modules"));
	autofree char *b = found("/bin/script", NULL, true);
	snprintf(want, sizeof(want), "!%d ", KUMO_E_INVALID);
	assert_true(strncmp(b, want, strlen(want)) == 0);
	assert_non_null(strstr(b, "is a script (`#!`)"));
	autofree char *c = found("/bin/notes.txt", NULL, true);
	assert_non_null(strstr(c, "is not a WebAssembly module (no `\\0asm` header)"));
	/* No rootfs at all (an artifact image): only the mounts. */
	json_t *m = mounts();
	int fd = -1;
	char *guest = NULL;
	kumo_error_t err = NULL;
	assert_int_equal(exec_resolve(NULL, m, NULL, "/bin/tool.wasm", "c0ffee", &fd, &guest, &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	kumo_error_free(&err);
	assert_int_equal(exec_resolve(NULL, m, NULL, "/data/health.wasm", "c0ffee", &fd, &guest, &err), 0);
	close(fd);
	free(guest);
	json_decref(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_path),
		cmocka_unit_test(test_by_path),
		cmocka_unit_test(test_on_path),
		cmocka_unit_test(test_confined),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
