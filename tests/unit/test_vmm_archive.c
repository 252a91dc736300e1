/* tests/unit/test_vmm_archive.c - the snapshot archive (vmm/archive.c): round trip, and
 * every kind of bad input refused before a restore could use it. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "vmm/vmm.h"

#define STATE_TEXT "QEVM-fake-migration-stream-0123456789"

static char tmp[64];

static void put(const char *dir, const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/kumo-archive-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	char snap[128];
	snprintf(snap, sizeof(snap), "%s/snap", tmp);
	mkdir(snap, 0700);
	put(snap, VMM_SNAPSHOT_VM, "{\"version\": 1, \"accel\": \"tcg\", \"qemu\": \"7.2.22\"}");
	put(snap, VMM_SNAPSHOT_KERNEL_LOG, "KUMO-BOOT v=1\n");
	put(snap, VMM_SNAPSHOT_KERNEL, "\177ELF fake kernel");
	put(snap, VMM_SNAPSHOT_INITRD, "fake initrd");
	put(snap, VMM_SNAPSHOT_STATE, STATE_TEXT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd);
}

static const char *const modules[] = {"sha256:aaaa", NULL};
static const struct vmm_archive_ids ids = {"sha256:kernel-1", "compiler-1", modules};

/* Writes tmp/<name>.kumo and returns its path (static buffer). */
static const char *write_archive(const char *name)
{
	static char path[256];
	char snap[128];
	snprintf(snap, sizeof(snap), "%s/snap", tmp);
	snprintf(path, sizeof(path), "%s/%s.kumo", tmp, name);
	struct vmm_archive_record recs[] = {{"pod.json", "{\"pod\":1}", 9},
					    {"container.json", "{\"c\":2}", 7}};
	kumo_error_t err = NULL;
	uint64_t size = 0;
	int rc = vmm_archive_write(path, snap, &ids, recs, 2, &size, &err);
	if (rc < 0)
		fail_msg("%s", kumo_error_msg(err));
	assert_true(size > 512);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600); /* the guest's memory is in there */
	return path;
}

/* Opens path into a fresh work dir: the status of the error (0 on success), message in
 * msg. */
static int open_status(const char *path, const struct vmm_archive_ids *here, char *msg,
		       size_t cap, struct vmm_archive **out)
{
	static int n;
	char work[256];
	snprintf(work, sizeof(work), "%s/work%d", tmp, n++);
	kumo_error_t err = NULL;
	struct vmm_archive *a = NULL;
	int rc = vmm_archive_open(path, work, here, &a, &err);
	snprintf(msg, cap, "%s", kumo_error_msg(err));
	int st = rc < 0 ? err->status : 0;
	kumo_error_free(&err);
	if (out)
		*out = a;
	else
		vmm_archive_free(a);
	if (rc < 0) { /* nothing unpacked is left */
		char p[300];
		snprintf(p, sizeof(p), "%s/vm/" VMM_SNAPSHOT_STATE, work);
		assert_int_not_equal(access(p, F_OK), 0);
	}
	return st;
}

static void round_trip(void **state)
{
	(void)state;
	const char *path = write_archive("good");
	char msg[512];
	struct vmm_archive *a = NULL;
	assert_int_equal(open_status(path, &ids, msg, sizeof(msg), &a), 0);
	assert_string_equal(a->kernel_id, "sha256:kernel-1");
	assert_string_equal(a->compiler_id, "compiler-1");
	assert_string_equal(a->accel, "tcg");
	assert_string_equal(a->modules[0], "sha256:aaaa");
	assert_null(a->modules[1]);
	const struct vmm_archive_record *r = vmm_archive_record(a, "pod.json");
	assert_non_null(r);
	assert_int_equal(r->len, 9);
	assert_memory_equal(r->data, "{\"pod\":1}", 9);
	assert_null(vmm_archive_record(a, "nope"));
	char p[300];
	snprintf(p, sizeof(p), "%s/" VMM_SNAPSHOT_STATE, a->snap_dir);
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_read_file(p, 1 << 20, &buf, &len, &err), 0);
	assert_int_equal(len, strlen(STATE_TEXT));
	assert_memory_equal(buf, STATE_TEXT, len);
	free(buf);
	vmm_archive_free(a);
	/* No node ids to compare: not compared. */
	assert_int_equal(open_status(path, NULL, msg, sizeof(msg), NULL), 0);
}

/* Flips one byte of the first occurrence of needle in the file. */
static void flip(const char *path, const char *needle)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_read_file(path, 1 << 24, &buf, &len, &err), 0);
	uint8_t *at = memmem(buf, len, needle, strlen(needle));
	assert_non_null(at);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	uint8_t b = at[5] ^ 0x20;
	assert_int_equal(pwrite(fd, &b, 1, at + 5 - buf), 1);
	close(fd);
	free(buf);
}

static void tampered(void **state)
{
	(void)state;
	const char *path = write_archive("tampered");
	flip(path, STATE_TEXT);
	char msg[512];
	assert_int_equal(open_status(path, &ids, msg, sizeof(msg), NULL), KUMO_E_INVALID);
	assert_non_null(strstr(msg, "member `vm/qemu.state` has digest"));
	assert_non_null(strstr(msg, "altered or damaged"));
}

static void truncated(void **state)
{
	(void)state;
	const char *path = write_archive("truncated");
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	/* Cut anywhere before the end-of-archive blocks (two zero blocks of 512 bytes,
	 * written last): every cut is refused. */
	assert_int_equal(sb.st_size % 512, 0);
	for (off_t cut = sb.st_size - 1025; cut > 0; cut = cut * 2 / 3) {
		const char *p2 = write_archive("truncated");
		assert_int_equal(truncate(p2, cut), 0);
		char msg[512];
		int st = open_status(p2, &ids, msg, sizeof(msg), NULL);
		if (st != KUMO_E_INVALID)
			fail_msg("cut at %lld: status %d, `%s`", (long long)cut, st, msg);
	}
}

/* A hand-made archive: the manifest text, then members (name, data) pairs. */
static const char *hand_made(const char *name, const char *manifest, const char *const *members)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s.kumo", tmp, name);
	struct archive *a = archive_write_new();
	archive_write_set_format_ustar(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	const char *first[] = {VMM_ARCHIVE_MANIFEST, manifest};
	for (int i = -1; i < 0 || (members && members[i * 2]); i++) {
		const char *const *m = i < 0 ? first : members + i * 2;
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, m[0]);
		archive_entry_set_size(e, (la_int64_t)strlen(m[1]));
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0600);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		archive_write_data(a, m[1], strlen(m[1]));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	return path;
}

static void wrong_version(void **state)
{
	(void)state;
	const char *path = hand_made("v2", "{\"format\":\"kumo-snapshot\",\"version\":2,\"files\":[]}",
				     NULL);
	char msg[512];
	assert_int_equal(open_status(path, &ids, msg, sizeof(msg), NULL), KUMO_E_UNSUPPORTED);
	assert_non_null(strstr(msg, "has format version 2, this kumo reads version 1"));
}

static void other_builds(void **state)
{
	(void)state;
	const char *path = write_archive("builds");
	char msg[512];
	struct vmm_archive_ids k2 = {"sha256:kernel-2", "compiler-1", NULL};
	assert_int_equal(open_status(path, &k2, msg, sizeof(msg), NULL), KUMO_E_PRECONDITION);
	assert_non_null(strstr(msg, "kernel build `sha256:kernel-1`, this node has `sha256:kernel-2`"));
	struct vmm_archive_ids c2 = {"sha256:kernel-1", "compiler-2", NULL};
	assert_int_equal(open_status(path, &c2, msg, sizeof(msg), NULL), KUMO_E_PRECONDITION);
	assert_non_null(strstr(msg, "compiler build `compiler-1`, this node has `compiler-2`"));
}

static void not_ours(void **state)
{
	(void)state;
	char msg[512];
	char path[256];
	snprintf(path, sizeof(path), "%s/snap/" VMM_SNAPSHOT_KERNEL, tmp);
	assert_int_equal(open_status(path, &ids, msg, sizeof(msg), NULL), KUMO_E_INVALID);
	assert_non_null(strstr(msg, "is not a kumo snapshot archive"));
	const char *other = hand_made("other", "{\"format\":\"docker\",\"version\":1}", NULL);
	assert_int_equal(open_status(other, &ids, msg, sizeof(msg), NULL), KUMO_E_INVALID);
	snprintf(path, sizeof(path), "%s/absent.kumo", tmp);
	assert_int_equal(open_status(path, &ids, msg, sizeof(msg), NULL), KUMO_E_NOT_FOUND);
}

static void bad_members(void **state)
{
	(void)state;
	char msg[512];
	/* A name that climbs out of the work directory is refused in the manifest. */
	const char *m1 = "{\"format\":\"kumo-snapshot\",\"version\":1,\"files\":[{\"name\":"
			 "\"vm/../../evil\",\"size\":1,\"digest\":\"sha256:x\"}]}";
	const char *mem1[] = {"vm/../../evil", "x", NULL};
	assert_int_equal(open_status(hand_made("climb", m1, mem1), NULL, msg, sizeof(msg), NULL),
			 KUMO_E_INVALID);
	assert_non_null(strstr(msg, "malformed"));
	/* A member the manifest does not list. */
	const char *m2 = "{\"format\":\"kumo-snapshot\",\"version\":1,\"files\":[{\"name\":"
			 "\"records/a\",\"size\":1,\"digest\":\"sha256:x\"}]}";
	const char *mem2[] = {"records/b", "x", NULL};
	assert_int_equal(open_status(hand_made("extra", m2, mem2), NULL, msg, sizeof(msg), NULL),
			 KUMO_E_INVALID);
	assert_non_null(strstr(msg, "not in its manifest"));
	/* A listed member that is not there. */
	const char *mem3[] = {NULL};
	assert_int_equal(open_status(hand_made("missing", m2, mem3), NULL, msg, sizeof(msg), NULL),
			 KUMO_E_INVALID);
	assert_non_null(strstr(msg, "member `records/a` is missing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),    cmocka_unit_test(tampered),
		cmocka_unit_test(truncated),     cmocka_unit_test(wrong_version),
		cmocka_unit_test(other_builds),  cmocka_unit_test(not_ours),
		cmocka_unit_test(bad_members),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
