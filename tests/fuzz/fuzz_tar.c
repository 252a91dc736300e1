/* tests/fuzz/fuzz_tar.c - fuzz target for layer unpacking (imagestore/unpack.c:
 * libarchive's tar, gzip and zstd readers plus kumo's own path, link and size checks).
 * Each input is unpacked into <scratch>/a/b/root, then checked:
 *   - nothing appeared beside root at any level up to <scratch> (a write that escaped);
 *   - every symlink left in root resolves inside root, following the symlinks it goes
 *     through as the kernel would (a link that escapes through another link);
 *   - nothing but directories, regular files and symlinks exists in root;
 *   - a refusal carries a message; the size limits hold (no file over max_entry).
 * The layer is applied twice over the same root, as a second layer would be. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "imagestore/istore.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRY (1u << 20)
#define MAX_TOTAL (4u << 20)

static void fail(const char *what, const char *path)
{
	fprintf(stderr, "fuzz_tar: %s: `%s`\n", what, path);
	abort();
}

/* The only entry of dir must be `name`. */
static void only_entry(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	if (!d)
		fail("cannot list", dir);
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, name)) {
			char *p = xasprintf("%s/%s", dir, e->d_name);
			fail("a layer entry landed outside the root", p);
		}
	closedir(d);
}

/* Resolves rel (relative to directory `dir`, both relative to the root, "" = the root)
 * the way open(2) would, by components, following symlinks; returns false when it
 * goes above the root. Components that do not exist end the walk (inside). */
static bool resolves_inside(int rootfd, const char *dir, const char *rel, int hops)
{
	if (hops > 40)
		return true; /* ELOOP: the kernel refuses it */
	if (rel[0] == '/')
		return false;
	char cur[PATH_MAX];
	snprintf(cur, sizeof(cur), "%s", dir);
	char *copy = xstrdup(rel), *save = NULL;
	bool ok = true;
	for (char *c = strtok_r(copy, "/", &save); c && ok; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (!cur[0]) {
				ok = false;
				break;
			}
			char *slash = strrchr(cur, '/');
			if (slash)
				*slash = 0;
			else
				cur[0] = 0;
			continue;
		}
		char next[PATH_MAX];
		if ((size_t)snprintf(next, sizeof(next), "%s%s%s", cur, cur[0] ? "/" : "", c) >= sizeof(next))
			break;
		struct stat st;
		if (fstatat(rootfd, next, &st, AT_SYMLINK_NOFOLLOW) < 0)
			break; /* does not exist (or cannot be reached): nothing to follow */
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(rootfd, next, target, sizeof(target) - 1);
			if (n < 0)
				break;
			target[n] = 0;
			/* The rest of rel continues from where the link leads. */
			const char *rest = save && *save ? save : "";
			char *joined = xasprintf("%s%s%s", target, rest[0] ? "/" : "", rest);
			ok = resolves_inside(rootfd, cur, joined, hops + 1);
			free(joined);
			break;
		}
		snprintf(cur, sizeof(cur), "%s", next);
	}
	free(copy);
	return ok;
}

/* Every entry under rel: a directory, a regular file within the limit, or a symlink
 * that resolves inside the root. */
static void check_tree(int rootfd, const char *rel, int depth)
{
	if (depth > 200)
		fail("tree deeper than the depth limit", rel);
	int fd = rel[0] ? openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
			: dup(rootfd);
	if (fd < 0)
		fail("cannot open directory", rel);
	DIR *d = fdopendir(fd);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = rel[0] ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		struct stat st;
		if (fstatat(rootfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
			fail("cannot stat", p);
		if (S_ISDIR(st.st_mode)) {
			check_tree(rootfd, p, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			if ((uint64_t)st.st_size > MAX_ENTRY)
				fail("a file larger than max_entry", p);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(rootfd, p, target, sizeof(target) - 1);
			if (n < 0)
				fail("cannot read symlink", p);
			target[n] = 0;
			char *dir = xstrdup(rel);
			if (!resolves_inside(rootfd, dir, target, 0))
				fail("a symlink resolves outside the root", p);
			free(dir);
		} else {
			fail("a special file was created", p);
		}
		free(p);
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *base = fz_mkdtemp("tar");
	char *a = xasprintf("%s/a", base), *b = xasprintf("%s/a/b", base);
	char *root = xasprintf("%s/a/b/root", base);
	if (mkdir(a, 0700) < 0 || mkdir(b, 0700) < 0 || mkdir(root, 0700) < 0)
		fail("mkdir", root);
	int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		fail("open", root);
	struct unpack_limits lim = {.max_entry = MAX_ENTRY, .max_total = MAX_TOTAL, .want = "app.wasm"};
	for (int pass = 0; pass < 2; pass++) {
		kumo_error_t err = NULL;
		if (unpack_layer_mem(rootfd, data, size, &lim, &err) < 0 &&
		    (!err || !kumo_error_msg(err)[0]))
			fail("refused without a message", root);
		kumo_error_free(&err);
		if (lim.total > MAX_TOTAL)
			fail("unpacked more than max_total", root);
	}
	only_entry(base, "a");
	only_entry(a, "b");
	only_entry(b, "root");
	check_tree(rootfd, "", 0);
	close(rootfd);
	fz_rm_rf(base);
	free(root);
	free(b);
	free(a);
	free(base);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "tests/fuzz/fuzz_replay_main.h"
#endif
