/* tests/unit/test_builder.c - the build stage: the compile cache (hits, keys, concurrency,
 * bad input, imports recorded), builder_prepare (argv/env/PWD, rootfs, preopens, file
 * mounts, shares, warm builds that read nothing), the boot config and the initrd. */
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

#include "builder/boot_config.h"
#include "builder/builder.h"
#include "kernel/boot_abi.h"

/* (module (func (export "f") (result i32) i32.const 42)) */
static const uint8_t mod42[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,
	0x03, 0x02, 0x01, 0x00, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04,
	0x00, 0x41, 0x2a, 0x0b,
};

/* Writes bytes as <dir>/<name> and returns the path (malloc'd). */
static char *put_module(const char *dir, const char *name, const uint8_t *bytes, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	kumo_error_t err = NULL;
	assert_int_equal(kumo_write_file_atomic(path, bytes, len, 0644, &err), 0);
	return path;
}

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
	struct builder_options o = {.root = *state};
	struct builder_object a, b, c;
	kumo_error_t err = NULL;
	autofree char *path = put_module(*state, "m.wasm", mod42, sizeof(mod42));
	struct builder_module m = {.path = path};
	assert_int_equal(builder_compile(&o, &m, &a, &err), 0);
	assert_false(a.cache_hit);
	assert_int_equal(strncmp(a.module_digest, "sha256:", 7), 0);
	struct stat st;
	assert_int_equal(stat(a.path, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_equal(builder_compile(&o, &m, &b, &err), 0);
	assert_true(b.cache_hit);
	assert_string_equal(a.path, b.path);
	/* Another CPU target is another entry. */
	o.cpu = "x86-64";
	assert_int_equal(builder_compile(&o, &m, &c, &err), 0);
	assert_false(c.cache_hit);
	assert_string_not_equal(a.key, c.key);
	assert_int_equal(count_objects(*state), 2);
	builder_object_free(&a);
	builder_object_free(&b);
	builder_object_free(&c);
}

static void concurrent_builds_compile_once(void **state)
{
	enum { N = 4 };
	pid_t pids[N];
	autofree char *path = put_module(*state, "m.wasm", mod42, sizeof(mod42));
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct builder_options o = {.root = *state};
			struct builder_object r;
			kumo_error_t err = NULL;
			if (builder_compile(&o, &(struct builder_module){.path = path}, &r, &err) < 0)
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
	struct builder_options o = {.root = *state};
	struct builder_object r;
	kumo_error_t err = NULL;
	uint8_t bad[sizeof(mod42)];
	memcpy(bad, mod42, sizeof(bad));
	bad[sizeof(bad) - 3] = 0x42; /* i32.const -> i64.const: type mismatch */
	autofree char *p1 = put_module(*state, "bad.wasm", bad, sizeof(bad));
	autofree char *p2 = put_module(*state, "short.wasm", bad, 5);
	assert_int_equal(builder_compile(&o, &(struct builder_module){.path = p1}, &r, &err), -1);
	assert_non_null(err);
	assert_int_equal(err->status, KUMO_E_INVALID);
	kumo_error_free(&err);
	assert_int_equal(builder_compile(&o, &(struct builder_module){.path = p2}, &r, &err), -1);
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
	struct boot_preopen pre = {.guest = "/", .path = "/", .readonly = true};
	struct boot_config cfg = {.args = args, .nargs = 3, .env = env, .nenv = 2,
				       .preopens = &pre, .npreopens = 1};
	autofree char *img = xasprintf("%s/initrd.img", root);
	struct rootfs_dir dirs[] = {{rootfs, ""}, {sub, "/data/x"}};
	assert_int_equal(initrd_write(img, &cfg, dirs, 2, NULL, &err), 0);

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
	assert_int_equal(initrd_write(img, &cfg, NULL, 0, NULL, &err), 0);
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
	assert_int_equal(initrd_write(img, &cfg, NULL, 0, NULL, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "boot config"));
	kumo_error_free(&err);
	free(big);
	/* A missing rootfs is an error naming it, and leaves no temp file behind. */
	cfg.env = env;
	cfg.nenv = 2;
	assert_int_equal(initrd_write(img, &cfg, &(struct rootfs_dir){"/nonexistent/rootfs", ""}, 1, NULL, &err), -1);
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
	struct boot_config cfg = {.args = args, .nargs = 1};
	autofree char *img = xasprintf("%s/initrd.img", root);
	struct rootfs_dir dirs[] = {{hosts, "/etc/hosts"}, {term, "/dev/termination-log"},
					 {cm, "/etc/config"}, {sub, "/etc/one-key"}};
	assert_int_equal(initrd_write(img, &cfg, dirs, 4, NULL, &err), 0);
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
	struct builder_net net = {
		.has_mac = true, .mac = {0x02, 0x6b, 10, 88, 0, 5}, .address = "10.88.0.5/16",
		.gateway = "10.88.0.1", .mtu = 1400, .dns = dns, .ndns = 2, .search = search,
		.nsearch = 2, .hostname = "web-7d9f", .listen = listen, .nlisten = 2,
	};
	struct boot_config cfg = {.args = args, .nargs = 1, .net = &net};
	autofree char *text = boot_config_json(&cfg);
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
	struct builder_net min = {.address = "192.168.7.2/24"};
	cfg.net = &min;
	free(text);
	text = boot_config_json(&cfg);
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
	text = boot_config_json(&cfg);
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
	struct boot_preopen pre[] = {
		{.guest = "/", .path = "/"},
		{.guest = "/data", .path = "/data"},
	};
	struct boot_mount mnt[] = {
		{.path = "/data", .share = "kumo0"},
		{.path = "/etc/hosts", .share = "kumo1", .entry = "etc-hosts", .readonly = true},
	};
	struct boot_config cfg = {.args = args, .nargs = 1, .preopens = pre, .npreopens = 2,
				       .mounts = mnt, .nmounts = 2};
	autofree char *text = boot_config_json(&cfg);
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	assert_non_null(j);
	autofree char *mtext = json_dumps(json_object_get(j, "mounts"), JSON_COMPACT);
	assert_string_equal(mtext,
			    "[{\"path\":\"/data\",\"share\":\"kumo0\",\"readonly\":false},"
			    "{\"path\":\"/etc/hosts\",\"share\":\"kumo1\",\"readonly\":true,"
			    "\"entry\":\"etc-hosts\"}]");
	assert_int_equal(json_integer_value(json_object_get(j, "version")), KUMO_BOOT_ABI_VERSION);
	json_decref(j);

	/* No mounts: no "mounts" key. */
	cfg.nmounts = 0;
	free(text);
	text = boot_config_json(&cfg);
	j = json_loads(text, 0, &je);
	assert_non_null(j);
	assert_null(json_object_get(j, "mounts"));
	json_decref(j);
}

/* The boot config builder_prepare wrote (parsed from its artifact). */
static json_t *artifact_config(const struct builder_artifact *a)
{
	json_error_t je;
	json_t *j = json_loads(a->boot_config, 0, &je);
	assert_non_null(j);
	return j;
}

static char *compact(json_t *j)
{
	char *t = json_dumps(j, JSON_COMPACT);
	assert_non_null(t);
	return t;
}

/* An image with files and a config, a container with env, copied and shared mounts:
 * what the app sees, in kernel/boot_abi.h's terms. */
static void prepare_lays_out_a_container(void **state)
{
	const char *root = *state;
	kumo_error_t err = NULL;
	autofree char *rootfs = xasprintf("%s/rootfs", root);
	autofree char *etc = xasprintf("%s/rootfs/etc", root);
	assert_int_equal(kumo_mkdir_p(etc, 0755, &err), 0);
	autofree char *motd = xasprintf("%s/motd", etc);
	assert_int_equal(kumo_write_file_atomic(motd, "hi\n", 3, 0644, &err), 0);
	autofree char *mod = put_module(rootfs, "app.wasm", mod42, sizeof(mod42));
	autofree char *data = xasprintf("%s/data", root);
	autofree char *live = xasprintf("%s/live", root);
	autofree char *one_dir = xasprintf("%s/onedir", root);
	assert_int_equal(kumo_mkdir_p(data, 0755, &err), 0);
	assert_int_equal(kumo_mkdir_p(live, 0755, &err), 0);
	assert_int_equal(kumo_mkdir_p(one_dir, 0755, &err), 0);
	autofree char *term = put_module(root, "term", (const uint8_t *)"", 0);
	autofree char *hosts = put_module(root, "hosts", (const uint8_t *)"h\n", 2);
	autofree char *one = put_module(one_dir, "one", (const uint8_t *)"1", 1);
	autofree char *run = xasprintf("%s/run", root);

	const char *entry[] = {"/app.wasm", "--x", NULL}, *cmd[] = {"c1", NULL};
	const char *ienv[] = {"A=image", "B=image", NULL}, *cenv[] = {"B=ctr", NULL};
	struct builder_mount mounts[] = {
		{.guest_path = "/data", .host_path = data},
		{.guest_path = "/dev/termination-log", .host_path = term},
		{.guest_path = "/etc/hosts", .host_path = hosts, .readonly = true},
		{.guest_path = "/live", .host_path = live, .share = true},
		{.guest_path = "/etc/one", .host_path = one, .readonly = true, .share = true},
	};
	struct builder_input in = {
		.options = {.root = root}, .module = {.path = mod},
		.image = {.entrypoint = entry, .cmd = cmd, .env = ienv, .working_dir = "/w",
			  .rootfs = rootfs},
		.env = cenv, .mounts = mounts, .nmounts = 5, .run_dir = run,
	};
	struct builder_artifact a;
	assert_int_equal(builder_prepare(&in, &a, &err), 0);
	struct stat st;
	assert_int_equal(stat(a.kernel, &st), 0);
	assert_int_equal(stat(a.initrd, &st), 0);
	assert_non_null(strstr(a.initrd, run));
	assert_false(a.image_cached);
	json_t *j = artifact_config(&a);
	autofree char *args = compact(json_object_get(j, "args"));
	assert_string_equal(args, "[\"app.wasm\",\"/app.wasm\",\"--x\",\"c1\"]");
	autofree char *env = compact(json_object_get(j, "env"));
	assert_string_equal(env, "[\"B=ctr\",\"A=image\",\"PWD=/w\"]");
	autofree char *pre = compact(json_object_get(j, "preopens"));
	assert_string_equal(pre, "[{\"guest\":\"/\",\"path\":\"/\",\"readonly\":false},"
				 "{\"guest\":\"/data\",\"path\":\"/data\",\"readonly\":false},"
				 "{\"guest\":\"/live\",\"path\":\"/live\",\"readonly\":false}]");
	autofree char *files = compact(json_object_get(j, "files"));
	assert_string_equal(files,
			    "[{\"path\":\"/dev/termination-log\",\"readonly\":false,\"copy_back\":true},"
			    "{\"path\":\"/etc/hosts\",\"readonly\":true,\"copy_back\":false}]");
	autofree char *mnt = compact(json_object_get(j, "mounts"));
	assert_string_equal(mnt, "[{\"path\":\"/live\",\"share\":\"kumo0\",\"readonly\":false},"
				 "{\"path\":\"/etc/one\",\"share\":\"kumo1\",\"readonly\":true,"
				 "\"entry\":\"one\"}]");
	json_decref(j);
	/* The shares: the directory itself, and the shared file's directory. */
	assert_int_equal(a.nshares, 2);
	autofree char *live_real = realpath(live, NULL);
	autofree char *one_real = realpath(one_dir, NULL);
	assert_string_equal(a.shares[0].host_path, live_real);
	assert_string_equal(a.shares[0].tag, "kumo0");
	assert_string_equal(a.shares[1].host_path, one_real);
	assert_true(a.shares[1].readonly);
	/* The writable copied file comes back at exit. */
	assert_int_equal(a.ncopy_back, 1);
	assert_string_equal(a.copy_back[0].guest_path, "/dev/termination-log");
	assert_string_equal(a.copy_back[0].host_path, term);
	/* The rootfs: the image's files, and the copied mounts (not the shared ones). */
	autofree char *list = rootfs_listing(a.initrd);
	assert_non_null(strstr(list, "f etc/motd = hi\n"));
	assert_non_null(strstr(list, "f etc/hosts = h\n"));
	assert_non_null(strstr(list, "f dev/termination-log = \n"));
	assert_null(strstr(list, "live"));
	builder_artifact_free(&a);

	/* The container's command and PWD win over the image's. */
	const char *argv[] = {"x", "y", NULL}, *cenv2[] = {"PWD=/mine", NULL};
	in.argv = argv;
	in.env = cenv2;
	in.nmounts = 0;
	assert_int_equal(builder_prepare(&in, &a, &err), 0);
	assert_true(a.image_cached);
	j = artifact_config(&a);
	free(args);
	args = compact(json_object_get(j, "args"));
	assert_string_equal(args, "[\"app.wasm\",\"x\",\"y\"]");
	free(env);
	env = compact(json_object_get(j, "env"));
	assert_string_equal(env, "[\"PWD=/mine\",\"A=image\",\"B=image\"]");
	json_decref(j);
	builder_artifact_free(&a);
}

/* A warm build with imagestore's digest needs neither the module's bytes nor a hash of
 * them: the module file can be gone. */
static void warm_prepare_reads_no_module(void **state)
{
	const char *root = *state;
	kumo_error_t err = NULL;
	autofree char *mod = put_module(root, "m.wasm", mod42, sizeof(mod42));
	autofree char *run = xasprintf("%s/run", root);
	char digest[KUMO_DIGEST_BUF];
	kumo_sha256(mod42, sizeof(mod42), digest);
	struct builder_input in = {.options = {.root = root}, .module = {mod, digest},
				   .run_dir = run};
	struct builder_artifact a, b;
	assert_int_equal(builder_prepare(&in, &a, &err), 0);
	assert_false(a.object_cached);
	assert_int_equal(unlink(mod), 0);
	assert_int_equal(builder_prepare(&in, &b, &err), 0);
	assert_true(b.object_cached);
	assert_true(b.image_cached);
	assert_string_equal(a.kernel, b.kernel);
	assert_string_equal(a.kernel_id, b.kernel_id);
	builder_artifact_free(&a);
	builder_artifact_free(&b);
	/* Given a digest, builder keys on it and never hashes the file. */
	struct builder_object o;
	autofree char *mod2 = put_module(root, "m2.wasm", mod42, sizeof(mod42));
	const char *other = "sha256:0000000000000000000000000000000000000000000000000000000000000001";
	assert_int_equal(builder_compile(&in.options, &(struct builder_module){mod2, other}, &o, &err), 0);
	assert_string_equal(o.module_digest, other);
	assert_false(o.cache_hit);
	builder_object_free(&o);
}

/* The imports are recorded beside the object at compile time: the link-time check
 * reads them, not the module. */
static void imports_recorded_at_compile(void **state)
{
	/* (module (import "env" "foo" (func))) */
	static const uint8_t mod[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04,
				      0x01, 0x60, 0x00, 0x00, 0x02, 0x0b, 0x01, 0x03, 0x65, 0x6e,
				      0x76, 0x03, 0x66, 0x6f, 0x6f, 0x00, 0x00};
	const char *root = *state;
	kumo_error_t err = NULL;
	autofree char *path = put_module(root, "imp.wasm", mod, sizeof(mod));
	struct builder_options opts = {.root = root};
	struct builder_object o;
	assert_int_equal(builder_compile(&opts, &(struct builder_module){.path = path}, &o, &err), 0);
	autofree char *rec = xasprintf("%s/build/objects/%s.imports", root, o.key);
	json_t *j = json_load_file(rec, 0, NULL);
	assert_non_null(j);
	autofree char *text = compact(j);
	assert_non_null(strstr(text, "\"module\":\"env\",\"field\":\"foo\""));
	json_decref(j);
	assert_int_equal(unlink(path), 0);
	autofree char *run = xasprintf("%s/run", root);
	struct builder_input in = {.options = opts, .module = {path, o.module_digest},
				   .run_dir = run};
	struct builder_artifact a;
	assert_int_equal(builder_prepare(&in, &a, &err), -1);
	assert_string_equal(kumo_error_msg(err), "unsupported import `env.foo`");
	kumo_error_free(&err);
	builder_object_free(&o);
}

/* Mounts are checked first and refused with the mount named. */
/* kumod's way: every mount an entry of the caller's staging shares, directory or file
 * alike: mounts name the tag and entry, preopens the directories, no share of builder's
 * own, nothing copied, nothing to copy back. */
static void prepare_tagged_mounts(void **state)
{
	const char *root = *state;
	kumo_error_t err = NULL;
	autofree char *mod = put_module(root, "app.wasm", mod42, sizeof(mod42));
	autofree char *vol = xasprintf("%s/vol", root);
	assert_int_equal(kumo_mkdir_p(vol, 0755, &err), 0);
	autofree char *term = put_module(root, "term", (const uint8_t *)"", 0);
	autofree char *hosts = put_module(root, "hosts", (const uint8_t *)"h\n", 2);
	autofree char *run = xasprintf("%s/run", root);
	struct builder_mount mounts[] = {
		{.guest_path = "/data", .host_path = vol, .share = true, .tag = "pod-rw",
		 .entry = "c1-0"},
		{.guest_path = "/data/cfg", .host_path = vol, .readonly = true, .share = true,
		 .tag = "pod-ro", .entry = "c1-1"},
		{.guest_path = "/etc/hosts", .host_path = hosts, .share = true, .tag = "pod-rw",
		 .entry = "c1-2"},
		{.guest_path = "/dev/termination-log", .host_path = term, .share = true,
		 .tag = "pod-rw", .entry = "c1-3"},
	};
	struct builder_input in = {.options = {.root = root}, .module = {.path = mod},
				   .mounts = mounts, .nmounts = 4, .run_dir = run};
	struct builder_artifact a;
	assert_int_equal(builder_prepare(&in, &a, &err), 0);
	json_t *j = artifact_config(&a);
	autofree char *pre = compact(json_object_get(j, "preopens"));
	assert_string_equal(pre, "[{\"guest\":\"/\",\"path\":\"/\",\"readonly\":false},"
				 "{\"guest\":\"/data\",\"path\":\"/data\",\"readonly\":false},"
				 "{\"guest\":\"/data/cfg\",\"path\":\"/data/cfg\",\"readonly\":true}]");
	autofree char *mnt = compact(json_object_get(j, "mounts"));
	assert_string_equal(mnt,
			    "[{\"path\":\"/data\",\"share\":\"pod-rw\",\"readonly\":false,"
			    "\"entry\":\"c1-0\"},"
			    "{\"path\":\"/data/cfg\",\"share\":\"pod-ro\",\"readonly\":true,"
			    "\"entry\":\"c1-1\"},"
			    "{\"path\":\"/etc/hosts\",\"share\":\"pod-rw\",\"readonly\":false,"
			    "\"entry\":\"c1-2\"},"
			    "{\"path\":\"/dev/termination-log\",\"share\":\"pod-rw\","
			    "\"readonly\":false,\"entry\":\"c1-3\"}]");
	assert_null(json_object_get(j, "files"));
	json_decref(j);
	assert_int_equal(a.nshares, 0);
	assert_int_equal(a.ncopy_back, 0);
	/* Nothing is copied: the initrd carries no rootfs. */
	autofree uint8_t *img = NULL;
	size_t len;
	assert_int_equal(kumo_read_file(a.initrd, 1 << 24, &img, &len, &err), 0);
	struct kumo_initrd_header h;
	memcpy(&h, img, sizeof(h));
	assert_int_equal(h.rootfs_size, 0);
	builder_artifact_free(&a);

	/* A tag of builder's own form, an entry that is no single name, a tag without
	 * share: refused, naming the mount. */
	struct builder_mount bad[] = {
		{.guest_path = "/x", .host_path = vol, .share = true, .tag = "kumo0", .entry = "e"},
		{.guest_path = "/x", .host_path = vol, .share = true, .tag = "t", .entry = "a/b"},
		{.guest_path = "/x", .host_path = vol, .share = true, .tag = "t", .entry = ".."},
		{.guest_path = "/x", .host_path = vol, .share = true, .tag = "t"},
		{.guest_path = "/x", .host_path = vol, .tag = "t", .entry = "e"},
		{.guest_path = "/x", .host_path = vol, .share = true, .tag = "a,b", .entry = "e"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		in.mounts = &bad[i];
		in.nmounts = 1;
		assert_int_equal(builder_prepare(&in, &a, &err), -1);
		assert_int_equal(err->status, KUMO_E_INVALID);
		assert_non_null(strstr(kumo_error_msg(err), "mount `/x`"));
		kumo_error_free(&err);
	}
}

static void prepare_refuses_bad_mounts(void **state)
{
	const char *root = *state;
	kumo_error_t err = NULL;
	autofree char *mod = put_module(root, "m.wasm", mod42, sizeof(mod42));
	autofree char *run = xasprintf("%s/run", root);
	struct builder_mount m = {.guest_path = "data", .host_path = root};
	struct builder_input in = {.options = {.root = root}, .module = {.path = mod},
				   .mounts = &m, .nmounts = 1, .run_dir = run};
	struct builder_artifact a;
	assert_int_equal(builder_prepare(&in, &a, &err), -1);
	assert_int_equal(err->status, KUMO_E_INVALID);
	assert_non_null(strstr(kumo_error_msg(err), "must be absolute"));
	kumo_error_free(&err);
	m = (struct builder_mount){.guest_path = "/data", .host_path = "/nonexistent/x"};
	assert_int_equal(builder_prepare(&in, &a, &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	assert_non_null(strstr(kumo_error_msg(err), "`/nonexistent/x`"));
	kumo_error_free(&err);
	m = (struct builder_mount){.guest_path = "/", .host_path = mod};
	assert_int_equal(builder_prepare(&in, &a, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "cannot be mounted at the root"));
	kumo_error_free(&err);
	assert_int_equal(count_objects(root), 0);
}

static void unsupported_import_refused(void **state)
{
	/* (module (import "env" "foo" (func))) */
	static const uint8_t mod[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04,
				      0x01, 0x60, 0x00, 0x00, 0x02, 0x0b, 0x01, 0x03, 0x65, 0x6e,
				      0x76, 0x03, 0x66, 0x6f, 0x6f, 0x00, 0x00};
	autofree char *path = put_module(*state, "imp.wasm", mod, sizeof(mod));
	autofree char *run = xasprintf("%s/run", (char *)*state);
	struct builder_input in = {.options = {.root = *state}, .module = {.path = path}, .run_dir = run};
	struct builder_artifact r;
	kumo_error_t err = NULL;
	assert_int_equal(builder_prepare(&in, &r, &err), -1);
	assert_string_equal(kumo_error_msg(err), "unsupported import `env.foo`");
	assert_int_equal(err->status, KUMO_E_UNSUPPORTED);
	kumo_error_free(&err);
	assert_int_equal(count_objects(*state), 0);
}

/* A pod VM's container (builder_pod_container): the cached object (no link), the CREATE
 * config with argv and env merged as builder_prepare merges them, PWD, a preopen per
 * tagged directory mount naming its share and entry, a file mount left out and counted,
 * the listening sockets and the memory limit; a missing WASI import refused. And the pod
 * VM's initrd (builder_pod_initrd): "pod" with the network but no listen list. */
static void pod_container_config(void **state)
{
	const char *root = *state;
	kumo_error_t err = NULL;
	autofree char *mod = put_module(root, "app.wasm", mod42, sizeof(mod42));
	autofree char *vol = xasprintf("%s/vol", root);
	assert_int_equal(kumo_mkdir_p(vol, 0755, &err), 0);
	autofree char *hosts = put_module(root, "hosts", (const uint8_t *)"h\n", 2);
	struct builder_mount mounts[] = {
		{.guest_path = "/data", .host_path = vol, .share = true, .tag = "pod-rw",
		 .entry = "c1-0"},
		{.guest_path = "/cfg", .host_path = vol, .readonly = true, .share = true,
		 .tag = "pod-ro", .entry = "c1-1"},
		{.guest_path = "/etc/hosts", .host_path = hosts, .share = true, .tag = "pod-rw",
		 .entry = "c1-2"},
	};
	const char *const entry[] = {"serve", NULL}, *const cmd[] = {"--port", "80", NULL};
	const char *const ienv[] = {"A=image", "B=image", NULL}, *const env[] = {"B=ctr", NULL};
	struct builder_input in = {.options = {.root = root}, .module = {.path = mod},
				   .image = {entry, cmd, ienv, "/srv", NULL}, .env = env,
				   .mounts = mounts, .nmounts = 3};
	const char *const listen[] = {"tcp:0.0.0.0:8080"};
	struct builder_object obj;
	autofree char *json = NULL;
	size_t skipped = 9;
	assert_int_equal(builder_pod_container(&in, "web", listen, 1, 4 << 20, &obj, &json, &skipped,
					       &err), 0);
	assert_true(strstr(obj.path, "/build/objects/") != NULL);
	assert_int_equal(skipped, 1);
	assert_string_equal(json,
			    "{\"name\":\"web\",\"args\":[\"app.wasm\",\"serve\",\"--port\",\"80\"],"
			    "\"env\":[\"B=ctr\",\"A=image\",\"PWD=/srv\"],"
			    "\"preopens\":[{\"guest\":\"/data\",\"share\":\"pod-rw\",\"path\":\"c1-0\","
			    "\"readonly\":false},{\"guest\":\"/cfg\",\"share\":\"pod-ro\","
			    "\"path\":\"c1-1\",\"readonly\":true}],"
			    "\"listen\":[\"tcp:0.0.0.0:8080\"],\"memory_limit\":4194304}");
	builder_object_free(&obj);
	/* An import the kernel lacks: refused before anything is shipped. */
	static const uint8_t badimp[] = {
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
		0x02, 0x0b, 0x01, 0x03, 'e', 'n', 'v', 0x03, 'f', 'o', 'o', 0x00, 0x00,
	};
	autofree char *bad = put_module(root, "bad.wasm", badimp, sizeof(badimp));
	struct builder_input bin = {.options = {.root = root}, .module = {.path = bad}};
	free(json);
	json = NULL;
	assert_int_equal(builder_pod_container(&bin, "bad", NULL, 0, 0, &obj, &json, &skipped, &err),
			 -1);
	assert_string_equal(kumo_error_msg(err), "unsupported import `env.foo`");
	kumo_error_free(&err);
	assert_null(json);

	/* The pod VM's initrd: "pod" and "net", no listen list (a container takes its own). */
	const char *const dns[] = {"10.96.0.10"};
	struct builder_net net = {.has_mac = true, .mac = {2, 0, 0, 0, 0, 1}, .address = "10.0.0.2/24",
				  .gateway = "10.0.0.1", .dns = dns, .ndns = 1, .listen = listen,
				  .nlisten = 1};
	autofree char *run = xasprintf("%s/pod", root);
	autofree char *initrd = NULL;
	assert_int_equal(builder_pod_initrd(run, "web-7d9f", &net, &initrd, &err), 0);
	autofree uint8_t *img = NULL;
	size_t len;
	assert_int_equal(kumo_read_file(initrd, 1 << 20, &img, &len, &err), 0);
	struct kumo_initrd_header h;
	memcpy(&h, img, sizeof(h));
	json_t *j = json_loadb((const char *)img + h.config_offset, h.config_size, 0, NULL);
	assert_non_null(j);
	autofree char *pod = compact(json_object_get(j, "pod"));
	assert_string_equal(pod, "{\"name\":\"web-7d9f\"}");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "net"), "address")),
			    "10.0.0.2/24");
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "net"), "listen")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "args")), 0);
	json_decref(j);
}

int main(void)
{
	/* A sanitized build (build/asan) builds no kernel: link with the plain build's. */
	char *kdir = NULL;
	kumo_error_t kerr = NULL;
	if (builder_kernel_dir(&kdir, &kerr) < 0 && access("build/kernel/libkumo-kernel.a", R_OK) == 0)
		setenv("KUMO_KERNEL_DIR", "build/kernel", 0);
	kumo_error_free(&kerr);
	free(kdir);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(miss_then_hit, setup, teardown),
		cmocka_unit_test(boot_config_net_json),
		cmocka_unit_test(boot_config_shares_json),
		cmocka_unit_test_setup_teardown(concurrent_builds_compile_once, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_module_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(initrd_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(initrd_file_mounts_and_configmap_links, setup, teardown),
		cmocka_unit_test_setup_teardown(unsupported_import_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(prepare_lays_out_a_container, setup, teardown),
		cmocka_unit_test_setup_teardown(warm_prepare_reads_no_module, setup, teardown),
		cmocka_unit_test_setup_teardown(imports_recorded_at_compile, setup, teardown),
		cmocka_unit_test_setup_teardown(prepare_refuses_bad_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(prepare_tagged_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(pod_container_config, setup, teardown),
	};
	return cmocka_run_group_tests_name("builder", tests, NULL, NULL);
}
