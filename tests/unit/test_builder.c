/* tests/unit/test_builder.c - the compile cache: hits, keys, concurrency, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "builder/builder.h"
#include "kernel/boot_abi.h"

/* (module (func (export "f") (result i32) i32.const 42)) */
static const uint8_t mod42[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,
	0x03, 0x02, 0x01, 0x00, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04,
	0x00, 0x41, 0x2a, 0x0b,
};

static int setup(void **state)
{
	char *dir = xstrdup("/tmp/kumo-builder-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	autofree char *cmd = xasprintf("rm -rf '%s'", (char *)*state);
	free(*state);
	return system(cmd) == 0 ? 0 : -1;
}

static int count_objects(const char *root)
{
	autofree char *dir = xasprintf("%s/build/objects", root);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".o") && !strstr(e->d_name, ".tmp"))
			n++;
	closedir(d);
	return n;
}

static void miss_then_hit(void **state)
{
	struct kumo_build_options o = {.root = *state};
	struct kumo_build_result a, b, c;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_build_object(&o, mod42, sizeof(mod42), &a, &err), 0);
	assert_false(a.cache_hit);
	assert_int_equal(strncmp(a.module_digest, "sha256:", 7), 0);
	struct stat st;
	assert_int_equal(stat(a.object_path, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_equal(kumo_build_object(&o, mod42, sizeof(mod42), &b, &err), 0);
	assert_true(b.cache_hit);
	assert_string_equal(a.object_path, b.object_path);
	/* Another CPU target is another entry. */
	o.cpu = "x86-64";
	assert_int_equal(kumo_build_object(&o, mod42, sizeof(mod42), &c, &err), 0);
	assert_false(c.cache_hit);
	assert_string_not_equal(a.key, c.key);
	assert_int_equal(count_objects(*state), 2);
	kumo_build_result_free(&a);
	kumo_build_result_free(&b);
	kumo_build_result_free(&c);
}

static void concurrent_builds_compile_once(void **state)
{
	enum { N = 4 };
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct kumo_build_options o = {.root = *state};
			struct kumo_build_result r;
			kumo_error_t err = NULL;
			if (kumo_build_object(&o, mod42, sizeof(mod42), &r, &err) < 0)
				_exit(1);
			_exit(r.cache_hit ? 11 : 10);
		}
	}
	int compiled = 0, hits = 0;
	for (int i = 0; i < N; i++) {
		int status;
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		compiled += WEXITSTATUS(status) == 10;
		hits += WEXITSTATUS(status) == 11;
	}
	assert_int_equal(compiled, 1);
	assert_int_equal(hits, N - 1);
	assert_int_equal(count_objects(*state), 1);
}

static void bad_module_leaves_nothing(void **state)
{
	struct kumo_build_options o = {.root = *state};
	struct kumo_build_result r;
	kumo_error_t err = NULL;
	uint8_t bad[sizeof(mod42)];
	memcpy(bad, mod42, sizeof(bad));
	bad[sizeof(bad) - 3] = 0x42; /* i32.const -> i64.const: type mismatch */
	assert_int_equal(kumo_build_object(&o, bad, sizeof(bad), &r, &err), -1);
	assert_non_null(err);
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	assert_int_equal(kumo_build_object(&o, bad, 5, &r, &err), -1);
	kumo_error_free(&err);
	assert_int_equal(count_objects(*state), 0);
}

static void initrd_layout(void **state)
{
	const char *root = *state;
	autofree char *rootfs = xasprintf("%s/rootfs", root);
	autofree char *sub = xasprintf("%s/etc", rootfs);
	kumo_error_t err = NULL;
	assert_int_equal(kumo_mkdir_p(sub, 0755, &err), 0);
	autofree char *file = xasprintf("%s/etc/motd", rootfs);
	assert_int_equal(kumo_write_file_atomic(file, "hello\n", 6, 0644, &err), 0);

	const char *args[] = {"app.wasm", "--flag", "\"quoted\" \u00e9"};
	const char *env[] = {"A=1", "PATH=/bin"};
	struct kumo_boot_preopen pre = {.guest = "/", .path = "/", .readonly = true};
	struct kumo_boot_config cfg = {.args = args, .nargs = 3, .env = env, .nenv = 2,
				       .preopens = &pre, .npreopens = 1};
	autofree char *img = xasprintf("%s/initrd.img", root);
	struct kumo_rootfs_dir dirs[] = {{rootfs, ""}, {sub, "/data/x"}};
	assert_int_equal(kumo_write_initrd(img, &cfg, dirs, 2, &err), 0);

	uint8_t *buf;
	size_t len;
	assert_int_equal(kumo_read_file(img, 1 << 24, &buf, &len, &err), 0);
	struct kumo_initrd_header h;
	assert_true(len >= sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_memory_equal(h.magic, KUMO_INITRD_MAGIC, 8);
	assert_int_equal(h.version, KUMO_BOOT_ABI_VERSION);
	assert_int_equal(h.config_offset % 8, 0);
	assert_int_equal(h.rootfs_offset % 8, 0);
	assert_true(h.rootfs_offset + h.rootfs_size == len);

	json_error_t je;
	json_t *j = json_loadb((char *)buf + h.config_offset, h.config_size, 0, &je);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), KUMO_BOOT_ABI_VERSION);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "args"), 2)),
			    args[2]);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "env"), 1)),
			    "PATH=/bin");
	assert_true(json_is_true(json_object_get(json_array_get(json_object_get(j, "preopens"), 0),
						 "readonly")));
	json_decref(j);

	/* The rootfs is a ustar archive with relative names and the file's bytes. */
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, buf + h.rootfs_offset, h.rootfs_size),
			 ARCHIVE_OK);
	struct archive_entry *e;
	bool found = false, found_prefixed = false;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		found_prefixed |= strcmp(archive_entry_pathname(e), "data/x/motd") == 0;
		assert_true(archive_entry_pathname(e)[0] != '/');
		if (strcmp(archive_entry_pathname(e), "etc/motd") == 0) {
			char data[16] = {0};
			assert_int_equal(archive_read_data(a, data, sizeof(data)), 6);
			assert_string_equal(data, "hello\n");
			found = true;
		}
	}
	assert_true(found);
	assert_true(found_prefixed);
	archive_read_free(a);
	free(buf);

	/* No rootfs: an empty region that still starts inside the file. */
	assert_int_equal(kumo_write_initrd(img, &cfg, NULL, 0, &err), 0);
	assert_int_equal(kumo_read_file(img, 1 << 24, &buf, &len, &err), 0);
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.rootfs_size, 0);
	assert_int_equal(h.rootfs_offset, len);
	free(buf);
	/* An oversized config is refused. */
	size_t big_n = 20000;
	const char **big = xzalloc(big_n * sizeof(char *));
	autofree char *val = xzalloc(100);
	memset(val, 'x', 99);
	for (size_t i = 0; i < big_n; i++)
		big[i] = val;
	cfg.env = big;
	cfg.nenv = big_n;
	assert_int_equal(kumo_write_initrd(img, &cfg, NULL, 0, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "boot config"));
	kumo_error_free(&err);
	free(big);
	/* A missing rootfs is an error naming it, and leaves no temp file behind. */
	cfg.env = env;
	cfg.nenv = 2;
	assert_int_equal(kumo_write_initrd(img, &cfg, &(struct kumo_rootfs_dir){"/nonexistent/rootfs", ""}, 1, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "/nonexistent/rootfs"));
	kumo_error_free(&err);
}

/* Reads the rootfs archive of an initrd into "type name[ -> target][ = data]" lines. */
static char *rootfs_listing(const char *img)
{
	uint8_t *buf;
	size_t len;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_read_file(img, 1 << 24, &buf, &len, &err), 0);
	struct kumo_initrd_header h;
	memcpy(&h, buf, sizeof(h));
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, buf + h.rootfs_offset, h.rootfs_size),
			 ARCHIVE_OK);
	char *out = xstrdup("");
	struct archive_entry *e;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char data[64] = {0};
		char type = archive_entry_filetype(e) == AE_IFDIR   ? 'd'
			    : archive_entry_filetype(e) == AE_IFLNK ? 'l'
			    : archive_entry_filetype(e) == AE_IFREG ? 'f'
								    : '?';
		if (type == 'f')
			assert_true(archive_read_data(a, data, sizeof(data) - 1) >= 0);
		char *line = xasprintf("%s%c %s%s%s%s%s\n", out, type, archive_entry_pathname(e),
				       type == 'l' ? " -> " : "",
				       type == 'l' ? archive_entry_symlink(e) : "",
				       type == 'f' ? " = " : "", data);
		free(out);
		out = line;
	}
	archive_read_free(a);
	free(buf);
	return out;
}

/* kubelet's mounts: files (/etc/hosts, the termination-message file, a subPath given
 * as a symlink to a file) and a ConfigMap directory whose entries are symlinks into
 * `..data`, itself a symlink: the mount's own path is followed, the links inside are
 * kept as links. */
static void initrd_file_mounts_and_configmap_links(void **state)
{
	const char *root = *state;
	kumo_error_t err = NULL;
	autofree char *hosts = xasprintf("%s/etc-hosts", root);
	autofree char *term = xasprintf("%s/term", root);
	autofree char *cm = xasprintf("%s/cm", root);
	autofree char *ts = xasprintf("%s/cm/..2024_01_01", root);
	autofree char *key = xasprintf("%s/cm/..2024_01_01/greeting", root);
	autofree char *sub = xasprintf("%s/subpath-link", root);
	assert_int_equal(kumo_write_file_atomic(hosts, "127.0.0.1 localhost\n", 20, 0644, &err), 0);
	assert_int_equal(kumo_write_file_atomic(term, "", 0, 0644, &err), 0);
	assert_int_equal(kumo_mkdir_p(ts, 0755, &err), 0);
	assert_int_equal(kumo_write_file_atomic(key, "hi", 2, 0644, &err), 0);
	autofree char *data = xasprintf("%s/..data", cm);
	autofree char *link = xasprintf("%s/greeting", cm);
	assert_int_equal(symlink("..2024_01_01", data), 0);
	assert_int_equal(symlink("..data/greeting", link), 0);
	assert_int_equal(symlink(key, sub), 0);

	const char *args[] = {"app.wasm"};
	struct kumo_boot_config cfg = {.args = args, .nargs = 1};
	autofree char *img = xasprintf("%s/initrd.img", root);
	struct kumo_rootfs_dir dirs[] = {{hosts, "/etc/hosts"}, {term, "/dev/termination-log"},
					 {cm, "/etc/config"}, {sub, "/etc/one-key"}};
	assert_int_equal(kumo_write_initrd(img, &cfg, dirs, 4, &err), 0);
	autofree char *list = rootfs_listing(img);
	static const char *const want[] = {
		"d etc/\n", "f etc/hosts = 127.0.0.1 localhost\n\n", "d dev/\n",
		"f dev/termination-log = \n", "d etc/config/\n",
		"l etc/config/..data -> ..2024_01_01\n", "l etc/config/greeting -> ..data/greeting\n",
		"f etc/config/..2024_01_01/greeting = hi\n", "f etc/one-key = hi\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(list, want[i]))
			fail_msg("rootfs lacks `%s` in:\n%s", want[i], list);
}

/* The "net" object of the boot config, exactly as kernel/boot_abi.h documents it. */
static void boot_config_net_json(void **state)
{
	(void)state;
	const char *args[] = {"srv.wasm"};
	const char *dns[] = {"10.96.0.10", "8.8.8.8"};
	const char *search[] = {"default.svc.cluster.local", "svc.cluster.local"};
	const char *listen[] = {"tcp:0.0.0.0:8080", "udp:0.0.0.0:5353"};
	struct kumo_boot_net net = {
		.has_mac = true, .mac = {0x02, 0x6b, 10, 88, 0, 5}, .address = "10.88.0.5/16",
		.gateway = "10.88.0.1", .mtu = 1400, .dns = dns, .ndns = 2, .search = search,
		.nsearch = 2, .hostname = "web-7d9f", .listen = listen, .nlisten = 2,
	};
	struct kumo_boot_config cfg = {.args = args, .nargs = 1, .net = &net};
	autofree char *text = kumo_boot_config_json(&cfg);
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	assert_non_null(j);
	json_t *n = json_object_get(j, "net");
	assert_true(json_is_object(n));
	autofree char *ntext = json_dumps(n, JSON_COMPACT);
	assert_string_equal(ntext,
			    "{\"mac\":\"02:6b:0a:58:00:05\",\"address\":\"10.88.0.5/16\","
			    "\"gateway\":\"10.88.0.1\",\"mtu\":1400,"
			    "\"dns\":[\"10.96.0.10\",\"8.8.8.8\"],"
			    "\"search\":[\"default.svc.cluster.local\",\"svc.cluster.local\"],"
			    "\"hostname\":\"web-7d9f\","
			    "\"listen\":[\"tcp:0.0.0.0:8080\",\"udp:0.0.0.0:5353\"]}");
	json_decref(j);

	/* Optional fields stay out when unset; lists are always present. */
	struct kumo_boot_net min = {.address = "192.168.7.2/24"};
	cfg.net = &min;
	free(text);
	text = kumo_boot_config_json(&cfg);
	j = json_loads(text, 0, &je);
	assert_non_null(j);
	free(ntext);
	ntext = json_dumps(json_object_get(j, "net"), JSON_COMPACT);
	assert_string_equal(ntext,
			    "{\"address\":\"192.168.7.2/24\",\"dns\":[],\"search\":[],\"listen\":[]}");
	json_decref(j);

	/* No net: no "net" key at all (the kernel then ignores any NIC). */
	cfg.net = NULL;
	free(text);
	text = kumo_boot_config_json(&cfg);
	j = json_loads(text, 0, &je);
	assert_non_null(j);
	assert_null(json_object_get(j, "net"));
	json_decref(j);
}

/* Host shares in the boot config (kernel/boot_abi.h v2): mounts carry the guest path,
 * the share's tag, readonly and an optional entry; a preopen of a mounted path hands
 * the share to the app. */
static void boot_config_shares_json(void **state)
{
	(void)state;
	const char *args[] = {"app.wasm"};
	struct kumo_boot_preopen pre[] = {
		{.guest = "/", .path = "/"},
		{.guest = "/data", .path = "/data"},
	};
	struct kumo_boot_mount mnt[] = {
		{.path = "/data", .share = "kumo0"},
		{.path = "/etc/hosts", .share = "kumo1", .entry = "etc-hosts", .readonly = true},
	};
	struct kumo_boot_config cfg = {.args = args, .nargs = 1, .preopens = pre, .npreopens = 2,
				       .mounts = mnt, .nmounts = 2};
	autofree char *text = kumo_boot_config_json(&cfg);
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	assert_non_null(j);
	autofree char *mtext = json_dumps(json_object_get(j, "mounts"), JSON_COMPACT);
	assert_string_equal(mtext,
			    "[{\"path\":\"/data\",\"share\":\"kumo0\",\"readonly\":false},"
			    "{\"path\":\"/etc/hosts\",\"share\":\"kumo1\",\"readonly\":true,"
			    "\"entry\":\"etc-hosts\"}]");
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
	json_decref(j);

	/* No mounts: no "mounts" key. */
	cfg.nmounts = 0;
	free(text);
	text = kumo_boot_config_json(&cfg);
	j = json_loads(text, 0, &je);
	assert_non_null(j);
	assert_null(json_object_get(j, "mounts"));
	json_decref(j);
}

static void unsupported_import_refused(void **state)
{
	/* (module (import "env" "foo" (func))) */
	static const uint8_t mod[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04,
				      0x01, 0x60, 0x00, 0x00, 0x02, 0x0b, 0x01, 0x03, 0x65, 0x6e,
				      0x76, 0x03, 0x66, 0x6f, 0x6f, 0x00, 0x00};
	struct kumo_build_options o = {.root = *state};
	struct kumo_image_result r;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_build_image(&o, mod, sizeof(mod), &r, &err), -1);
	assert_string_equal(kumo_error_msg(err), "unsupported import `env.foo`");
	assert_int_equal(err->status, KUMO_E_UNSUPPORTED);
	kumo_error_free(&err);
	assert_int_equal(count_objects(*state), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(miss_then_hit, setup, teardown),
		cmocka_unit_test(boot_config_net_json),
		cmocka_unit_test(boot_config_shares_json),
		cmocka_unit_test_setup_teardown(concurrent_builds_compile_once, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_module_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(initrd_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(initrd_file_mounts_and_configmap_links, setup, teardown),
		cmocka_unit_test_setup_teardown(unsupported_import_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("builder", tests, NULL, NULL);
}
