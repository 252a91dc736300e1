/* imagestore/unpack.c - applies tar layers (plain, gzip, zstd; OCI whiteouts) into a rootfs, refusing escapes, devices and oversize entries. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "imagestore/istore.h"

bool layer_media_type_ok(const char *mt)
{
	return strcmp(mt, IMAGESTORE_MT_OCI_LAYER) == 0 || strcmp(mt, IMAGESTORE_MT_OCI_LAYER_GZIP) == 0 ||
	       strcmp(mt, IMAGESTORE_MT_OCI_LAYER_ZSTD) == 0 || strcmp(mt, IMAGESTORE_MT_DOCKER_LAYER) == 0 ||
	       strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar") == 0;
}

/* Removes `name` under dirfd, recursively, never following symlinks. */
int remove_tree_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0);
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (remove_tree_at(fd, e->d_name) < 0)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		rc = -1;
	return rc;
}

static int clear_dir(int dirfd)
{
	int fd = dup(dirfd);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (remove_tree_at(dirfd, e->d_name) < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

/* Splits a layer path into clean components ("./a//b/" -> a, b). Refuses absolute
 * paths and "..". Returns the number of components, or -1. */
#define MAX_DEPTH 128
static int split_path(char *p, char **comp, const char *orig, kumo_error_t *err)
{
	if (p[0] == '/')
		return kumo_error(err, KUMO_E_INVALID, "layer entry `%.200s` is an absolute path", orig);
	int n = 0;
	char *save = NULL;
	for (char *t = strtok_r(p, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0)
			return kumo_error(err, KUMO_E_INVALID,
					  "layer entry `%.200s` escapes the root with `..`", orig);
		if (n == MAX_DEPTH)
			return kumo_error(err, KUMO_E_INVALID, "layer entry `%.200s` is nested too deep",
					  orig);
		comp[n++] = t;
	}
	return n;
}

/* Opens the directory holding the last component, creating missing directories,
 * refusing to go through symlinks or non-directories. */
static int open_parent(int rootfd, char **comp, int n, const char *orig, kumo_error_t *err)
{
	int fd = dup(rootfd);
	if (fd < 0)
		return kumo_error_errno(err, errno, "dup");
	for (int i = 0; i < n - 1; i++) {
		int nfd = openat(fd, comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT) {
			if (mkdirat(fd, comp[i], 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(fd);
				return kumo_error_errno(err, e, "layer entry `%.200s`: mkdir", orig);
			}
			nfd = openat(fd, comp[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			int e = errno;
			close(fd);
			if (e == ELOOP || e == ENOTDIR)
				return kumo_error(err, KUMO_E_INVALID,
						  "layer entry `%.200s` goes through `%.100s`, which is a "
						  "symlink or not a directory",
						  orig, comp[i]);
			return kumo_error_errno(err, e, "layer entry `%.200s`", orig);
		}
		close(fd);
		fd = nfd;
	}
	return fd;
}

/* True when a symlink at depth `depth` (components of its directory) pointing to
 * `target` stays inside the root. */
static bool symlink_target_ok(const char *target, int depth)
{
	if (target[0] == '/' || target[0] == 0)
		return false;
	autofree char *t = xstrdup(target);
	char *save = NULL;
	for (char *c = strtok_r(t, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, "..") == 0) {
			if (--depth < 0)
				return false;
		} else if (strcmp(c, ".") != 0) {
			depth++;
		}
	}
	return true;
}

/* Copies an entry's data to fd; hashes it into ctx (if any) and clears *contiguous when
 * the entry has holes (the hash then does not describe the file). */
static int copy_data(struct archive *a, int fd, const char *orig, struct kumo_sha256 *ctx,
		     bool *contiguous, kumo_error_t *err)
{
	la_int64_t expect = 0;
	const void *buf;
	size_t size;
	la_int64_t off;
	for (;;) {
		int r = archive_read_data_block(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return kumo_error(err, KUMO_E_INVALID, "layer entry `%.200s`: %s", orig,
					  archive_error_string(a));
		if (off != expect)
			*contiguous = false;
		expect = off + (la_int64_t)size;
		if (ctx)
			kumo_sha256_update(ctx, buf, size);
		size_t done = 0;
		while (done < size) {
			ssize_t w = pwrite(fd, (const char *)buf + done, size - done, off + (off_t)done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return kumo_error_errno(err, errno, "write layer entry `%.200s`", orig);
			done += (size_t)w;
		}
	}
}

static int apply_entry(struct archive *a, struct archive_entry *ent, int rootfd,
		       struct unpack_limits *lim, kumo_error_t *err)
{
	const char *orig = archive_entry_pathname(ent);
	if (!orig)
		return kumo_error(err, KUMO_E_INVALID, "layer entry without a usable path name");
	if (strlen(orig) > 4096)
		return kumo_error(err, KUMO_E_INVALID, "layer entry path is longer than 4096 bytes");
	autofree char *pbuf = xstrdup(orig);
	char *comp[MAX_DEPTH];
	int n = split_path(pbuf, comp, orig, err);
	if (n < 0)
		return -1;
	if (n == 0)
		return 0; /* the root itself */
	const char *leaf = comp[n - 1];
	if (strlen(leaf) > 255)
		return kumo_error(err, KUMO_E_INVALID, "layer entry `%.200s` has a name longer than 255", orig);
	int type = archive_entry_filetype(ent);
	const char *hardlink = archive_entry_hardlink(ent);
	if (!hardlink && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return kumo_error(err, KUMO_E_INVALID,
				  "layer entry `%.200s` is a %s: refused", orig,
				  type == AE_IFCHR || type == AE_IFBLK ? "device node"
				  : type == AE_IFIFO		       ? "fifo"
				  : type == AE_IFSOCK		       ? "socket"
								       : "special file");
	autoclose int pfd = open_parent(rootfd, comp, n, orig, err);
	if (pfd < 0)
		return -1;
	/* OCI whiteouts. */
	if (strncmp(leaf, ".wh.", 4) == 0) {
		if (strcmp(leaf, ".wh..wh..opq") == 0) {
			if (clear_dir(pfd) < 0)
				return kumo_error_errno(err, errno, "opaque whiteout `%.200s`", orig);
			return 0;
		}
		const char *victim = leaf + 4;
		if (!*victim || strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)
			return kumo_error(err, KUMO_E_INVALID, "bad whiteout `%.200s`", orig);
		if (remove_tree_at(pfd, victim) < 0)
			return kumo_error_errno(err, errno, "whiteout `%.200s`", orig);
		return 0;
	}
	mode_t mode = archive_entry_perm(ent) & 0777;
	struct stat st;
	bool exists = fstatat(pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (type == AE_IFDIR && !hardlink) {
		if (exists && S_ISDIR(st.st_mode)) {
			fchmodat(pfd, leaf, mode | 0700, 0);
			return 0;
		}
		if (exists && remove_tree_at(pfd, leaf) < 0)
			return kumo_error_errno(err, errno, "replace `%.200s`", orig);
		if (mkdirat(pfd, leaf, mode | 0700) < 0)
			return kumo_error_errno(err, errno, "mkdir layer entry `%.200s`", orig);
		return 0;
	}
	if (exists && remove_tree_at(pfd, leaf) < 0)
		return kumo_error_errno(err, errno, "replace `%.200s`", orig);
	if (hardlink) {
		autofree char *tbuf = xstrdup(hardlink);
		char *tcomp[MAX_DEPTH];
		int tn = split_path(tbuf, tcomp, hardlink, err);
		if (tn <= 0)
			return tn < 0 ? kumo_error_wrap(err, "hard link `%.200s`", orig)
				      : kumo_error(err, KUMO_E_INVALID, "hard link `%.200s` to the root", orig);
		autoclose int tfd = open_parent(rootfd, tcomp, tn, hardlink, err);
		if (tfd < 0)
			return kumo_error_wrap(err, "hard link `%.200s`", orig);
		struct stat ts;
		if (fstatat(tfd, tcomp[tn - 1], &ts, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(ts.st_mode))
			return kumo_error(err, KUMO_E_INVALID,
					  "hard link `%.200s` points to `%.200s`, which is not a file in the layer",
					  orig, hardlink);
		if (linkat(tfd, tcomp[tn - 1], pfd, leaf, 0) < 0)
			return kumo_error_errno(err, errno, "hard link `%.200s`", orig);
		return 0;
	}
	if (type == AE_IFLNK) {
		const char *target = archive_entry_symlink(ent);
		if (!target || !symlink_target_ok(target, n - 1))
			return kumo_error(err, KUMO_E_INVALID,
					  "symlink `%.200s` points outside the layer root (`%.200s`)", orig,
					  target ? target : "");
		if (symlinkat(target, pfd, leaf) < 0)
			return kumo_error_errno(err, errno, "symlink `%.200s`", orig);
		return 0;
	}
	/* Regular file. */
	int64_t size = archive_entry_size(ent);
	if (size < 0 || (uint64_t)size > lim->max_entry)
		return kumo_error(err, KUMO_E_INVALID,
				  "layer entry `%.200s` is %lld bytes, more than the limit of %llu", orig,
				  (long long)size, (unsigned long long)lim->max_entry);
	if (lim->total + (uint64_t)size > lim->max_total)
		return kumo_error(err, KUMO_E_INVALID,
				  "layers unpack to more than the limit of %llu bytes (at `%.200s`)",
				  (unsigned long long)lim->max_total, orig);
	lim->total += (uint64_t)size;
	autoclose int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return kumo_error_errno(err, errno, "create layer entry `%.200s`", orig);
	struct kumo_sha256 *ctx = NULL;
	if (lim->want) {
		/* Is this the module? Compare the clean path with the wanted one. */
		size_t wl = strlen(lim->want), pos = 0;
		bool same = true;
		for (int i = 0; i < n && same; i++) {
			size_t cl = strlen(comp[i]);
			same = pos + cl <= wl && memcmp(lim->want + pos, comp[i], cl) == 0 &&
			       (i == n - 1 ? pos + cl == wl : lim->want[pos + cl] == '/');
			pos += cl + 1;
		}
		if (same)
			ctx = kumo_sha256_new();
	}
	bool contiguous = true;
	int rc = copy_data(a, fd, orig, ctx, &contiguous, err);
	if (rc == 0 && contiguous && lseek(fd, 0, SEEK_END) != (off_t)size)
		contiguous = false; /* a hole at the end */
	if (rc == 0 && ftruncate(fd, size) < 0) /* sparse tails */
		rc = kumo_error_errno(err, errno, "size layer entry `%.200s`", orig);
	/* Durable before the rootfs is renamed into place and recorded. */
	if (rc == 0 && fdatasync(fd) < 0)
		rc = kumo_error_errno(err, errno, "sync layer entry `%.200s`", orig);
	struct stat fst;
	if (ctx) {
		lim->want_ino = 0; /* this write replaces whatever was hashed before */
		if (rc == 0 && contiguous && fstat(fd, &fst) == 0) {
			kumo_sha256_final(ctx, lim->want_digest);
			lim->want_ino = (uint64_t)fst.st_ino;
		}
		kumo_sha256_free(ctx);
	}
	if (rc < 0)
		return -1;
	fchmod(fd, mode);
	return 0;
}

static int unpack_archive(struct archive *a, int rootfd, struct unpack_limits *lim, kumo_error_t *err)
{
	struct archive_entry *ent;
	int rc = 0;
	for (;;) {
		int r = archive_read_next_header(a, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = kumo_error(err, KUMO_E_INVALID, "layer is not a valid tar archive: %s",
					archive_error_string(a));
			break;
		}
		if (apply_entry(a, ent, rootfd, lim, err) < 0) {
			rc = -1;
			break;
		}
	}
	archive_read_free(a);
	return rc;
}

static struct archive *new_reader(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		abort();
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	return a;
}

int unpack_layer(int rootfd, const char *blob_path, struct unpack_limits *lim, kumo_error_t *err)
{
	struct archive *a = new_reader();
	if (archive_read_open_filename(a, blob_path, 1 << 16) != ARCHIVE_OK) {
		int e = kumo_error(err, KUMO_E_INVALID, "layer `%s` is not a valid tar archive: %s", blob_path,
				   archive_error_string(a));
		archive_read_free(a);
		return e;
	}
	return unpack_archive(a, rootfd, lim, err);
}

int unpack_layer_mem(int rootfd, const void *data, size_t len, struct unpack_limits *lim,
		     kumo_error_t *err)
{
	struct archive *a = new_reader();
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		int e = kumo_error(err, KUMO_E_INVALID, "layer is not a valid tar archive: %s", archive_error_string(a));
		archive_read_free(a);
		return e;
	}
	return unpack_archive(a, rootfd, lim, err);
}
