/* tests/unit/test_vmm_stage.c - a pod's staging directory (vmm/stage.c) with real bind
 * mounts, in a mount namespace this test makes (needs root): a directory and a file
 * bound as entries, writes through a writable entry land in the source, a read-only
 * entry refuses them down to a submount, entries are nosuid/nodev/noexec, an entry
 * bound after a directory fd of its side was opened is reached through that fd (what
 * QEMU's 9p server does), unbind by prefix and sweep remove only what they match and
 * never the sources' data, a leftover entry is replaced, bad sources and names are
 * refused, the directories go only when empty. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "vmm/vmm.h"

static char dir[] = "/tmp/kumo-stage-XXXXXX";

static char *path_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path_of(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *rel = NULL;
	if (vasprintf(&rel, fmt, ap) < 0)
		abort();
	va_end(ap);
	char *p = xasprintf("%s/%s", dir, rel);
	free(rel);
	return p;
}

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The file's text, or "errno:N" when it cannot be read. */
static char *get(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, 1 << 20, &buf, &len, &err) < 0) {
		int e = errno;
		kumo_error_free(&err);
		return xasprintf("errno:%d", e);
	}
	return (char *)buf;
}

/* errno of a write-open of path, 0 when it opened. */
static int write_errno(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static bool is_mount_point(const char *path)
{
	struct statx stx;
	return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &stx) == 0 &&
	       (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int setup(void **state)
{
	(void)state;
	if (unshare(CLONE_NEWNS) < 0) {
		perror("unshare(CLONE_NEWNS) (the staging tests need root)");
		return -1;
	}
	/* Everything mounted here stays in this test's mount namespace. */
	if (mount("", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || !mkdtemp(dir))
		return -1;
	autofree char *src = path_of("src");
	autofree char *stage = path_of("stage");
	return mkdir(src, 0755) == 0 && mkdir(stage, 0700) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	autofree char *cmd = xasprintf("awk '$2 ~ \"^%s/\" {print $2}' /proc/mounts | sort -r | "
				       "xargs -r umount -l; rm -rf %s", dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A directory and a file, writable and read-only; what the entries are on the host. */
static void test_bind(void **state)
{
	(void)state;
	autofree char *stage = path_of("stage/pod1");
	autofree char *vol = path_of("src/vol");
	autofree char *hosts = path_of("src/hosts");
	assert_int_equal(mkdir(vol, 0755), 0);
	put(hosts, "127.0.0.1 localhost\n");
	kumo_error_t err = NULL;
	assert_int_equal(vmm_stage_bind(stage, "c1-0", vol, false, &err), 0);
	assert_int_equal(vmm_stage_bind(stage, "c1-1", hosts, false, &err), 0);
	assert_int_equal(vmm_stage_bind(stage, "c1-2", vol, true, &err), 0);
	assert_int_equal(vmm_stage_bind(stage, "c1-3", hosts, true, &err), 0);

	autofree char *rw0 = path_of("stage/pod1/rw/c1-0");
	autofree char *rw1 = path_of("stage/pod1/rw/c1-1");
	autofree char *ro2 = path_of("stage/pod1/ro/c1-2");
	autofree char *ro3 = path_of("stage/pod1/ro/c1-3");
	assert_true(is_mount_point(rw0) && is_mount_point(rw1));
	assert_true(is_mount_point(ro2) && is_mount_point(ro3));
	struct stat sb;
	assert_int_equal(stat(rw1, &sb), 0);
	assert_true(S_ISREG(sb.st_mode)); /* the file itself, not its directory */

	/* A write through the writable entry is in the source at once. */
	autofree char *note = path_of("stage/pod1/rw/c1-0/note");
	put(note, "from the app");
	autofree char *src_note = path_of("src/vol/note");
	autofree char *got = get(src_note);
	assert_string_equal(got, "from the app");
	put(rw1, "10.0.0.5 web\n");
	autofree char *got_hosts = get(hosts);
	assert_string_equal(got_hosts, "10.0.0.5 web\n");

	/* The read-only entries refuse writes; they read what the source holds now. */
	autofree char *ro_note = path_of("stage/pod1/ro/c1-2/note");
	autofree char *ro_new = path_of("stage/pod1/ro/c1-2/new");
	autofree char *got_ro = get(ro_note);
	assert_string_equal(got_ro, "from the app");
	assert_int_equal(write_errno(ro_new), EROFS);
	assert_int_equal(write_errno(ro3), EROFS);

	/* nosuid, nodev, noexec on every entry; read-only ones read-only. */
	struct statvfs vs;
	assert_int_equal(statvfs(rw0, &vs), 0);
	assert_true((vs.f_flag & ST_NOSUID) && (vs.f_flag & ST_NODEV) && (vs.f_flag & ST_NOEXEC));
	assert_false(vs.f_flag & ST_RDONLY);
	assert_int_equal(statvfs(ro2, &vs), 0);
	assert_true(vs.f_flag & ST_RDONLY);

	assert_int_equal(vmm_stage_unbind(stage, "c1-", &err), 4);
	autofree char *got_after = get(src_note);
	assert_string_equal(got_after, "from the app"); /* the source keeps its data */
	assert_int_equal(access(rw0, F_OK), -1);
	assert_int_equal(access(ro3, F_OK), -1);
	vmm_stage_remove(stage);
	assert_int_equal(access(stage, F_OK), -1);
	kumo_error_free(&err);
}

/* A read-only entry is read-only down to what is mounted under its source. */
static void test_readonly_submount(void **state)
{
	(void)state;
	autofree char *stage = path_of("stage/pod2");
	autofree char *vol = path_of("src/hp");
	autofree char *sub = path_of("src/hp/tmp");
	assert_int_equal(mkdir(vol, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mount("tmpfs", sub, "tmpfs", 0, "size=1m"), 0);
	kumo_error_t err = NULL;
	assert_int_equal(vmm_stage_bind(stage, "c2-0", vol, true, &err), 0);
	assert_int_equal(vmm_stage_bind(stage, "c2-1", vol, false, &err), 0);
	autofree char *ro_sub = path_of("stage/pod2/ro/c2-0/tmp/x");
	autofree char *rw_sub = path_of("stage/pod2/rw/c2-1/tmp/x");
	assert_int_equal(write_errno(ro_sub), EROFS);
	assert_int_equal(write_errno(rw_sub), 0); /* the submount came along */
	autofree char *src_x = path_of("src/hp/tmp/x");
	assert_int_equal(access(src_x, F_OK), 0);
	assert_int_equal(vmm_stage_unbind(stage, NULL, &err), 2);
	assert_int_equal(access(src_x, F_OK), 0);
	assert_int_equal(umount(sub), 0);
	vmm_stage_remove(stage);
	kumo_error_free(&err);
}

/* A directory fd of the side opened before the bind (QEMU's share root) reaches the
 * entry's content: the pod VM's shares exist before its containers' mounts. */
static void test_bound_after_open(void **state)
{
	(void)state;
	autofree char *stage = path_of("stage/pod3");
	autofree char *vol = path_of("src/late");
	assert_int_equal(mkdir(vol, 0755), 0);
	autofree char *f = path_of("src/late/f");
	put(f, "late");
	kumo_error_t err = NULL;
	assert_int_equal(vmm_stage_open(stage, &err), 0);
	autofree char *rw = vmm_stage_side(stage, false);
	int dfd = open(rw, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(vmm_stage_bind(stage, "c3-0", vol, false, &err), 0);
	int fd = openat(dfd, "c3-0/f", O_RDONLY | O_NOFOLLOW);
	assert_true(fd >= 0);
	char buf[8] = {0};
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 4);
	assert_string_equal(buf, "late");
	close(fd);
	close(dfd);
	/* With an empty side left, the directory stays until both are empty. */
	assert_int_equal(vmm_stage_unbind(stage, "c3-", &err), 1);
	vmm_stage_remove(stage);
	assert_int_equal(access(stage, F_OK), -1);
	kumo_error_free(&err);
}

static bool keep_c4(const char *entry, void *ctx)
{
	(*(int *)ctx)++;
	return strncmp(entry, "c4-", 3) == 0;
}

/* Prefix and sweep take only what they match; a leftover entry is replaced; a stage
 * directory with an entry left is not removed. */
static void test_unbind_sweep(void **state)
{
	(void)state;
	autofree char *stage = path_of("stage/pod4");
	autofree char *vol = path_of("src/v4");
	assert_int_equal(mkdir(vol, 0755), 0);
	kumo_error_t err = NULL;
	assert_int_equal(vmm_stage_bind(stage, "c4-0", vol, false, &err), 0);
	assert_int_equal(vmm_stage_bind(stage, "c4-0", vol, false, &err), 0); /* replaced */
	assert_int_equal(vmm_stage_bind(stage, "c5-0", vol, false, &err), 0);
	assert_int_equal(vmm_stage_bind(stage, "c5-1", vol, true, &err), 0);
	assert_int_equal(vmm_stage_bind(stage, "c40-0", vol, true, &err), 0);
	assert_int_equal(vmm_stage_unbind(stage, "c4-", &err), 1); /* not c40-0 */
	autofree char *c40 = path_of("stage/pod4/ro/c40-0");
	assert_true(is_mount_point(c40));
	assert_int_equal(vmm_stage_bind(stage, "c4-9", vol, false, &err), 0);
	int seen = 0;
	assert_int_equal(vmm_stage_sweep(stage, keep_c4, &seen, &err), 3);
	assert_int_equal(seen, 4);
	autofree char *c49 = path_of("stage/pod4/rw/c4-9");
	assert_true(is_mount_point(c49));
	vmm_stage_remove(stage);
	assert_int_equal(access(c49, F_OK), 0); /* still staged: nothing removed */
	assert_int_equal(vmm_stage_unbind(stage, "", &err), 1);
	vmm_stage_remove(stage);
	assert_int_equal(access(stage, F_OK), -1);
	kumo_error_free(&err);
}

/* What cannot be staged, and nothing left behind by it. */
static void test_refused(void **state)
{
	(void)state;
	autofree char *stage = path_of("stage/pod5");
	autofree char *fifo = path_of("src/fifo");
	autofree char *missing = path_of("src/missing");
	autofree char *vol = path_of("src/v5");
	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(mkdir(vol, 0755), 0);
	kumo_error_t err = NULL;
	assert_int_equal(vmm_stage_bind(stage, "c6-0", fifo, false, &err), -1);
	assert_int_equal(err->status, KUMO_E_UNSUPPORTED);
	assert_non_null(strstr(kumo_error_msg(err), "neither a directory nor a regular file"));
	kumo_error_free(&err);
	assert_int_equal(vmm_stage_bind(stage, "c6-1", missing, false, &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	kumo_error_free(&err);
	const char *bad[] = {"", ".", "..", "a/b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(vmm_stage_bind(stage, bad[i], vol, false, &err), -1);
		assert_int_equal(err->status, KUMO_E_INVALID);
		kumo_error_free(&err);
	}
	assert_int_equal(vmm_stage_unbind(stage, NULL, &err), 0);
	vmm_stage_remove(stage);
	assert_int_equal(access(stage, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_readonly_submount),
		cmocka_unit_test(test_bound_after_open),
		cmocka_unit_test(test_unbind_sweep),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
