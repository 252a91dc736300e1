/* tests/unit/test_imagestore_unpack.c - layer unpacking: contents, whiteouts, compression, and hostile layers refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "imagestore/istore.h"

struct ent {
	const char *name;
	int type;           /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, AE_IFIFO; 0 = hard link */
	const char *data;   /* file data, or link target */
	int mode;
	int64_t size;       /* declared size override (with no data), or -1 */
};

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static la_ssize_t wr(struct archive *a, void *ud, const void *b, size_t n)
{
	struct buf *o = ud;
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, b, n);
	o->len += n;
	return (la_ssize_t)n;
}

/* filter: 0 none, 1 gzip, 2 zstd */
static struct buf make_tar(const struct ent *e, size_t n, int filter)
{
	struct buf o = {0};
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if (filter == 1)
		archive_write_add_filter_gzip(a);
	else if (filter == 2)
		archive_write_add_filter_zstd(a);
	archive_write_set_bytes_in_last_block(a, 1);
	assert_int_equal(archive_write_open2(a, &o, NULL, wr, NULL, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *x = archive_entry_new();
		archive_entry_set_pathname(x, e[i].name);
		archive_entry_set_perm(x, e[i].mode ? e[i].mode : 0644);
		if (e[i].type == 0) {
			archive_entry_set_filetype(x, AE_IFREG);
			archive_entry_set_hardlink(x, e[i].data);
			archive_entry_set_size(x, 0);
		} else {
			archive_entry_set_filetype(x, e[i].type);
			if (e[i].type == AE_IFLNK)
				archive_entry_set_symlink(x, e[i].data);
			if (e[i].type == AE_IFREG)
				archive_entry_set_size(x, e[i].size >= 0 && !e[i].data ? e[i].size
								      : (int64_t)strlen(e[i].data ? e[i].data : ""));
		}
		assert_int_equal(archive_write_header(x == NULL ? NULL : a, x), ARCHIVE_OK);
		if (e[i].type == AE_IFREG && e[i].data)
			archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_free(x);
	}
	archive_write_close(a);
	archive_write_free(a);
	return o;
}

struct fixture {
	char top[64];   /* temp dir */
	char *root;     /* top/root: the rootfs */
	int rootfd;
};

static int setup(void **state)
{
	struct fixture *f = xzalloc(sizeof(*f));
	strcpy(f->top, "/tmp/kumo-unpack-XXXXXX");
	if (!mkdtemp(f->top))
		return -1;
	f->root = xasprintf("%s/root", f->top);
	mkdir(f->root, 0755);
	f->rootfd = open(f->root, O_RDONLY | O_DIRECTORY);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	close(f->rootfd);
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	remove_tree_at(fd, f->top + 5);
	close(fd);
	free(f->root);
	free(f);
	return 0;
}

static int apply(struct fixture *f, const struct ent *e, size_t n, int filter, struct unpack_limits *lim,
		 kumo_error_t *err)
{
	struct unpack_limits def = {.max_entry = 1 << 20, .max_total = 1 << 22};
	struct buf b = make_tar(e, n, filter);
	int rc = unpack_layer_mem(f->rootfd, b.p, b.len, lim ? lim : &def, err);
	free(b.p);
	return rc;
}

static char *slurp(struct fixture *f, const char *rel)
{
	char *p = xasprintf("%s/%s", f->root, rel);
	uint8_t *d = NULL;
	size_t l;
	kumo_error_t err = NULL;
	if (kumo_read_file(p, 1 << 20, &d, &l, &err) < 0) {
		kumo_error_free(&err);
		d = NULL;
	}
	free(p);
	return (char *)d;
}

static bool exists(struct fixture *f, const char *rel)
{
	struct stat st;
	return fstatat(f->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void contents(void **state)
{
	struct fixture *f = *state;
	for (int filter = 0; filter < 3; filter++) {
		const struct ent e[] = {
			{"./", AE_IFDIR, NULL, 0755, -1},
			{"./app.wasm", AE_IFREG, "\0asm", 04755, -1},
			{"etc/conf", AE_IFREG, "k=v\n", 0600, -1},
			{"etc/link", AE_IFLNK, "conf", 0777, -1},
			{"etc/hard", 0, "etc/conf", 0, -1},
			{"deep/a/b/c.txt", AE_IFREG, "c", 0644, -1},
		};
		kumo_error_t err = NULL;
		if (apply(f, e, 6, filter, NULL, &err) < 0)
			fail_msg("filter %d: %s", filter, kumo_error_msg(err));
		char *s = slurp(f, "etc/conf");
		assert_string_equal(s, "k=v\n");
		free(s);
		s = slurp(f, "etc/hard");
		assert_string_equal(s, "k=v\n");
		free(s);
		s = slurp(f, "deep/a/b/c.txt");
		assert_string_equal(s, "c");
		free(s);
		char tgt[16] = {0};
		assert_int_equal(readlinkat(f->rootfd, "etc/link", tgt, sizeof(tgt) - 1), 4);
		assert_string_equal(tgt, "conf");
		struct stat st;
		assert_int_equal(fstatat(f->rootfd, "app.wasm", &st, 0), 0);
		assert_int_equal(st.st_mode & 07777, 0755); /* setuid dropped */
		/* Re-applying replaces files in place. */
	}
}

static void whiteouts(void **state)
{
	struct fixture *f = *state;
	const struct ent l1[] = {
		{"keep", AE_IFREG, "1", 0, -1},   {"gone", AE_IFREG, "1", 0, -1},
		{"dir/x", AE_IFREG, "x", 0, -1},  {"opq/a", AE_IFREG, "a", 0, -1},
		{"opq/sub/b", AE_IFREG, "b", 0, -1},
	};
	const struct ent l2[] = {
		{".wh.gone", AE_IFREG, "", 0, -1},
		{".wh.dir", AE_IFREG, "", 0, -1},
		{"opq/.wh..wh..opq", AE_IFREG, "", 0, -1},
		{"opq/new", AE_IFREG, "n", 0, -1},
		{"keep", AE_IFREG, "2", 0, -1},
	};
	kumo_error_t err = NULL;
	assert_int_equal(apply(f, l1, 5, 1, NULL, &err), 0);
	assert_int_equal(apply(f, l2, 5, 1, NULL, &err), 0);
	assert_false(exists(f, "gone"));
	assert_false(exists(f, "dir"));
	assert_false(exists(f, "opq/a"));
	assert_false(exists(f, "opq/sub"));
	assert_true(exists(f, "opq/new"));
	assert_false(exists(f, ".wh.gone"));
	char *s = slurp(f, "keep");
	assert_string_equal(s, "2");
	free(s);
	/* A whiteout may not name "..". */
	const struct ent bad[] = {{"a/.wh...", AE_IFREG, "", 0, -1}};
	assert_int_equal(apply(f, bad, 1, 0, NULL, &err), -1);
	kumo_error_free(&err);
}

static void refuse(struct fixture *f, const struct ent *e, size_t n, struct unpack_limits *lim,
		   const char *msg)
{
	kumo_error_t err = NULL;
	if (apply(f, e, n, 1, lim, &err) == 0)
		fail_msg("hostile layer accepted (want `%s`)", msg);
	if (!strstr(kumo_error_msg(err), msg))
		fail_msg("error `%s` does not say `%s`", kumo_error_msg(err), msg);
	kumo_error_free(&err);
	/* Nothing landed next to the root. */
	char *p = xasprintf("%s/evil", f->top);
	assert_int_not_equal(access(p, F_OK), 0);
	free(p);
	assert_int_not_equal(access("/tmp/kumo-unpack-evil", F_OK), 0);
}

static void hostile(void **state)
{
	struct fixture *f = *state;
	mkdirat(f->rootfd, "sub", 0755);
	const struct ent dotdot[] = {{"../evil", AE_IFREG, "x", 0, -1}};
	refuse(f, dotdot, 1, NULL, "escapes the root");
	const struct ent dotdot2[] = {{"a/b/../../../evil", AE_IFREG, "x", 0, -1}};
	refuse(f, dotdot2, 1, NULL, "escapes the root");
	const struct ent abs[] = {{"/tmp/kumo-unpack-evil", AE_IFREG, "x", 0, -1}};
	refuse(f, abs, 1, NULL, "absolute path");
	const struct ent sl_out[] = {{"l", AE_IFLNK, "../evil", 0, -1}};
	refuse(f, sl_out, 1, NULL, "points outside the layer root");
	const struct ent sl_deep[] = {{"sub/l", AE_IFLNK, "x/../../..", 0, -1}};
	refuse(f, sl_deep, 1, NULL, "points outside the layer root");
	const struct ent sl_abs[] = {{"l", AE_IFLNK, "/etc", 0, -1}};
	refuse(f, sl_abs, 1, NULL, "points outside the layer root");
	/* An in-root symlink may not be walked through to write a file. */
	const struct ent sl_walk[] = {{"lnk", AE_IFLNK, "sub", 0, -1}, {"lnk/evil", AE_IFREG, "x", 0, -1}};
	refuse(f, sl_walk, 2, NULL, "symlink or not a directory");
	assert_false(exists(f, "sub/evil"));
	const struct ent dev[] = {{"null", AE_IFCHR, NULL, 0666, -1}};
	refuse(f, dev, 1, NULL, "device node");
	const struct ent fifo[] = {{"fifo", AE_IFIFO, NULL, 0666, -1}};
	refuse(f, fifo, 1, NULL, "fifo");
	const struct ent hl[] = {{"h", 0, "../../etc/passwd", 0, -1}};
	refuse(f, hl, 1, NULL, "escapes the root");
	const struct ent hl_missing[] = {{"h", 0, "nothere", 0, -1}};
	refuse(f, hl_missing, 1, NULL, "not a file in the layer");
	struct unpack_limits small = {.max_entry = 4, .max_total = 100};
	const struct ent big[] = {{"big", AE_IFREG, "12345", 0, -1}};
	refuse(f, big, 1, &small, "more than the limit of 4");
	struct unpack_limits tot = {.max_entry = 100, .max_total = 6};
	const struct ent many[] = {{"a", AE_IFREG, "1234", 0, -1}, {"b", AE_IFREG, "1234", 0, -1}};
	refuse(f, many, 2, &tot, "unpack to more than the limit");
	kumo_error_t err = NULL;
	struct unpack_limits def = {.max_entry = 1 << 20, .max_total = 1 << 22};
	assert_int_equal(unpack_layer_mem(f->rootfd, "this is not a tar archive at all, no no no", 41, &def, &err), -1);
	if (!strstr(kumo_error_msg(err), "not a valid tar"))
		fail_msg("%s", kumo_error_msg(err));
	kumo_error_free(&err);
	/* A truncated gzip layer. */
	const struct ent ok[] = {{"f", AE_IFREG, "some data that compresses some data that compresses", 0, -1}};
	struct buf b = make_tar(ok, 1, 1);
	assert_int_equal(unpack_layer_mem(f->rootfd, b.p, b.len / 2, &def, &err), -1);
	kumo_error_free(&err);
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(contents, setup, teardown),
		cmocka_unit_test_setup_teardown(whiteouts, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
