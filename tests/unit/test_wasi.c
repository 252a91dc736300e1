/* tests/unit/test_wasi.c - WASI preview1 (kernel/wasi) over the POSIX platform: the
 * functions are called as a compiled module calls them, with the fake module's vmctx
 * and guest addresses in its memory, on a temporary directory preopened as /sandbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/hosted/embed.h"
#include "kernel/wasi/wasi_funcs.h"

extern const struct kumo_module kumo_module;

struct fx {
	char dir[64];                 /* host temp dir, preopened as /sandbox (fd 3) */
	struct kumo_rt_store *store;
	struct kumo_wasi *wasi;
	struct kumo_vmctx *vm;
	uint8_t *mem;                 /* guest memory base */
};

#define PRE 3 /* the preopen's fd */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup_with(void **state, bool readonly)
{
	struct fx *f = xzalloc(sizeof(*f));
	strcpy(f->dir, "/tmp/kumo-test-wasi-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	struct kumo_plat_file *d;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_hosted_open_dir(f->dir, &d, &err), 0);
	static const char *argv[] = {"app", "one", "two"};
	static const char *envp[] = {"A=1", "HOME=/sandbox"};
	struct kumo_wasi_preopen pre = {"/sandbox", d, readonly};
	struct kumo_wasi_config cfg = {.argc = 3, .argv = argv, .envc = 2, .envp = envp,
				       .npreopens = 1, .preopens = &pre};
	f->wasi = kumo_wasi_new(&cfg);
	assert_non_null(f->wasi);
	f->store = kumo_rt_store_new();
	kumo_rt_store_set_wasi(f->store, f->wasi);
	struct kumo_rt_instance *inst;
	struct kumo_rt_outcome out;
	assert_int_equal(kumo_rt_instantiate(f->store, &kumo_module, kumo_wasi_resolve, f->store,
					     &inst, &out),
			 0);
	f->vm = kumo_rt_instance_vmctx(inst);
	f->mem = f->vm->mem_base;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

static int setup_readonly(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	kumo_rt_store_free(f->store);
	kumo_wasi_free(f->wasi);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Puts a string at guest address `at`; returns its length. */
static uint32_t put_str(struct fx *f, uint32_t at, const char *s)
{
	memcpy(f->mem + at, s, strlen(s));
	return (uint32_t)strlen(s);
}

static uint32_t u32_at(struct fx *f, uint32_t at)
{
	uint32_t v;
	memcpy(&v, f->mem + at, 4);
	return v;
}

static uint64_t u64_at(struct fx *f, uint32_t at)
{
	uint64_t v;
	memcpy(&v, f->mem + at, 8);
	return v;
}

/* Guest scratch layout. */
#define PATH_AT 1024u
#define IOV_AT 2048u
#define OUT_AT 2100u
#define BUF_AT 4096u

static const uint64_t RW = WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_SEEK |
			   WASI_RIGHT_FD_TELL | WASI_RIGHT_FD_FILESTAT_GET;

static uint32_t open_at(struct fx *f, uint32_t dirfd, const char *path, uint32_t oflags,
			uint64_t rights, uint32_t lookup, uint32_t *fd)
{
	uint32_t n = put_str(f, PATH_AT, path);
	uint32_t e = KUMO_WASI_SYM(9, path_open, iiiiillii_i)(f->vm, dirfd, lookup, PATH_AT, n,
							     oflags, rights, 0, 0, OUT_AT);
	if (e == 0)
		*fd = u32_at(f, OUT_AT);
	return e;
}

static uint32_t write_str(struct fx *f, uint32_t fd, const char *s)
{
	uint32_t n = put_str(f, BUF_AT, s);
	uint32_t iov[2] = {BUF_AT, n};
	memcpy(f->mem + IOV_AT, iov, 8);
	return KUMO_WASI_SYM(8, fd_write, iiii_i)(f->vm, fd, IOV_AT, 1, OUT_AT);
}

static void args_and_environ(void **state)
{
	struct fx *f = *state;
	assert_int_equal(KUMO_WASI_SYM(14, args_sizes_get, ii_i)(f->vm, 100, 104), 0);
	assert_int_equal(u32_at(f, 100), 3);
	assert_int_equal(u32_at(f, 104), sizeof("app\0one\0two"));
	assert_int_equal(KUMO_WASI_SYM(8, args_get, ii_i)(f->vm, 200, 300), 0);
	assert_string_equal((char *)f->mem + u32_at(f, 204), "one");
	assert_string_equal((char *)f->mem + u32_at(f, 208), "two");
	assert_int_equal(KUMO_WASI_SYM(17, environ_sizes_get, ii_i)(f->vm, 100, 104), 0);
	assert_int_equal(u32_at(f, 100), 2);
	assert_int_equal(KUMO_WASI_SYM(11, environ_get, ii_i)(f->vm, 200, 300), 0);
	assert_string_equal((char *)f->mem + u32_at(f, 204), "HOME=/sandbox");
	/* Bad pointers are EFAULT, never a host fault. */
	assert_int_equal(KUMO_WASI_SYM(8, args_get, ii_i)(f->vm, 65534, 300), WASI_EFAULT);
	assert_int_equal(KUMO_WASI_SYM(8, args_get, ii_i)(f->vm, 200, UINT32_MAX), WASI_EFAULT);
	assert_int_equal(KUMO_WASI_SYM(14, args_sizes_get, ii_i)(f->vm, 65533, 104), WASI_EFAULT);
}

static void file_read_write_seek_stat(void **state)
{
	struct fx *f = *state;
	uint32_t fd;
	assert_int_equal(open_at(f, PRE, "f.txt", WASI_OFLAG_CREAT, RW, 0, &fd), 0);
	assert_true(fd > PRE);
	assert_int_equal(write_str(f, fd, "hello world"), 0);
	assert_int_equal(u32_at(f, OUT_AT), 11);
	assert_int_equal(KUMO_WASI_SYM(7, fd_tell, ii_i)(f->vm, fd, OUT_AT), 0);
	assert_int_equal(u64_at(f, OUT_AT), 11);
	assert_int_equal(KUMO_WASI_SYM(7, fd_seek, ilii_i)(f->vm, fd, 6, WASI_WHENCE_SET, OUT_AT), 0);
	uint32_t iov[4] = {BUF_AT, 2, BUF_AT + 10, 10}; /* two iovecs */
	memcpy(f->mem + IOV_AT, iov, sizeof(iov));
	assert_int_equal(KUMO_WASI_SYM(7, fd_read, iiii_i)(f->vm, fd, IOV_AT, 2, OUT_AT), 0);
	assert_int_equal(u32_at(f, OUT_AT), 5);
	assert_memory_equal(f->mem + BUF_AT, "wo", 2);
	assert_memory_equal(f->mem + BUF_AT + 10, "rld", 3);
	/* Seeking before 0 is EINVAL; a bad whence too. */
	assert_int_equal(KUMO_WASI_SYM(7, fd_seek, ilii_i)(f->vm, fd, (uint64_t)-100,
							   WASI_WHENCE_SET, OUT_AT),
			 WASI_EINVAL);
	assert_int_equal(KUMO_WASI_SYM(7, fd_seek, ilii_i)(f->vm, fd, 0, 7, OUT_AT), WASI_EINVAL);
	/* pwrite/pread do not move the offset. */
	uint32_t piov[2] = {BUF_AT, put_str(f, BUF_AT, "W")};
	memcpy(f->mem + IOV_AT, piov, 8);
	assert_int_equal(KUMO_WASI_SYM(9, fd_pwrite, iiili_i)(f->vm, fd, IOV_AT, 1, 0, OUT_AT), 0);
	piov[1] = 11;
	memcpy(f->mem + IOV_AT, piov, 8);
	assert_int_equal(KUMO_WASI_SYM(8, fd_pread, iiili_i)(f->vm, fd, IOV_AT, 1, 0, OUT_AT), 0);
	assert_memory_equal(f->mem + BUF_AT, "Wello world", 11);
	assert_int_equal(KUMO_WASI_SYM(15, fd_filestat_get, ii_i)(f->vm, fd, BUF_AT), 0);
	assert_int_equal(f->mem[BUF_AT + 16], WASI_FILETYPE_REGULAR_FILE);
	assert_int_equal(u64_at(f, BUF_AT + 32), 11);
	assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, fd), 0);
	assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, fd), WASI_EBADF);

	/* The host sees what the guest wrote. */
	autofree char *p = xasprintf("%s/f.txt", f->dir);
	uint8_t *data;
	size_t len;
	kumo_error_t err = NULL;
	assert_int_equal(kumo_read_file(p, 100, &data, &len, &err), 0);
	assert_int_equal(len, 11);
	free(data);
}

static void bad_iovecs_are_efault(void **state)
{
	struct fx *f = *state;
	uint32_t fd;
	assert_int_equal(open_at(f, PRE, "g.txt", WASI_OFLAG_CREAT, RW, 0, &fd), 0);
	uint32_t iov[2] = {65530, 100}; /* runs past the end of memory */
	memcpy(f->mem + IOV_AT, iov, 8);
	assert_int_equal(KUMO_WASI_SYM(8, fd_write, iiii_i)(f->vm, fd, IOV_AT, 1, OUT_AT),
			 WASI_EFAULT);
	iov[0] = UINT32_MAX;
	iov[1] = UINT32_MAX;
	memcpy(f->mem + IOV_AT, iov, 8);
	assert_int_equal(KUMO_WASI_SYM(7, fd_read, iiii_i)(f->vm, fd, IOV_AT, 1, OUT_AT),
			 WASI_EFAULT);
	/* The iovec array itself out of range, and an overflowing count. */
	assert_int_equal(KUMO_WASI_SYM(8, fd_write, iiii_i)(f->vm, fd, 65532, 1, OUT_AT),
			 WASI_EFAULT);
	assert_int_equal(KUMO_WASI_SYM(8, fd_write, iiii_i)(f->vm, fd, IOV_AT, 0x20000000, OUT_AT),
			 WASI_EINVAL);
	/* The result pointer out of range. */
	iov[0] = BUF_AT;
	iov[1] = 1;
	memcpy(f->mem + IOV_AT, iov, 8);
	assert_int_equal(KUMO_WASI_SYM(8, fd_write, iiii_i)(f->vm, fd, IOV_AT, 1, 65535),
			 WASI_EFAULT);
	/* A path out of range. */
	assert_int_equal(KUMO_WASI_SYM(21, path_create_directory, iii_i)(f->vm, PRE, 65000, 1000),
			 WASI_EFAULT);
	assert_int_equal(KUMO_WASI_SYM(8, fd_write, iiii_i)(f->vm, 999, IOV_AT, 1, OUT_AT),
			 WASI_EBADF);
}

/* Reads the whole directory fd; returns the names joined by ' ' in sorted order
 * (the directory order is the platform's). */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *list_dir(struct fx *f, uint32_t fd)
{
	assert_int_equal(KUMO_WASI_SYM(10, fd_readdir, iiili_i)(f->vm, fd, BUF_AT, 4096, 0, OUT_AT),
			 0);
	uint32_t used = u32_at(f, OUT_AT);
	char *names[64];
	int n = 0;
	for (uint32_t off = 0; off + 24 <= used && n < 64;) {
		uint32_t len = u32_at(f, BUF_AT + off + 16);
		names[n++] = xstrndup((char *)f->mem + BUF_AT + off + 24, len);
		off += 24 + len;
	}
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	char *s = xstrdup("");
	for (int i = 0; i < n; i++) {
		char *t = xasprintf("%s%s%s", s, i ? " " : "", names[i]);
		free(s);
		free(names[i]);
		s = t;
	}
	return s;
}

static void directories_rename_unlink_readdir(void **state)
{
	struct fx *f = *state;
	uint32_t fd, n;
	n = put_str(f, PATH_AT, "sub");
	assert_int_equal(KUMO_WASI_SYM(21, path_create_directory, iii_i)(f->vm, PRE, PATH_AT, n), 0);
	assert_int_equal(KUMO_WASI_SYM(21, path_create_directory, iii_i)(f->vm, PRE, PATH_AT, n),
			 WASI_EEXIST);
	assert_int_equal(open_at(f, PRE, "sub/a", WASI_OFLAG_CREAT, RW, 0, &fd), 0);
	KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, fd);
	/* rename sub/a -> sub/../b (a path through ".." that stays inside). */
	n = put_str(f, PATH_AT, "sub/a");
	uint32_t m = put_str(f, PATH_AT + 100, "sub/../b");
	assert_int_equal(KUMO_WASI_SYM(11, path_rename, iiiiii_i)(f->vm, PRE, PATH_AT, n, PRE,
								 PATH_AT + 100, m),
			 0);
	autofree char *listing = list_dir(f, PRE);
	assert_string_equal(listing, ". .. b sub");
	/* A buffer too small for everything comes back full. */
	assert_int_equal(KUMO_WASI_SYM(10, fd_readdir, iiili_i)(f->vm, PRE, BUF_AT, 30, 0, OUT_AT),
			 0);
	assert_int_equal(u32_at(f, OUT_AT), 30);
	/* stat through the path */
	n = put_str(f, PATH_AT, "b");
	assert_int_equal(KUMO_WASI_SYM(17, path_filestat_get, iiiii_i)(f->vm, PRE, 0, PATH_AT, n,
								      BUF_AT),
			 0);
	assert_int_equal(f->mem[BUF_AT + 16], WASI_FILETYPE_REGULAR_FILE);
	n = put_str(f, PATH_AT, "sub");
	assert_int_equal(KUMO_WASI_SYM(21, path_remove_directory, iii_i)(f->vm, PRE, PATH_AT, n), 0);
	n = put_str(f, PATH_AT, "b/");
	assert_int_equal(KUMO_WASI_SYM(16, path_unlink_file, iii_i)(f->vm, PRE, PATH_AT, n),
			 WASI_ENOTDIR);
	assert_int_equal(KUMO_WASI_SYM(16, path_unlink_file, iii_i)(f->vm, PRE, PATH_AT, 1), 0);
	assert_int_equal(KUMO_WASI_SYM(16, path_unlink_file, iii_i)(f->vm, PRE, PATH_AT, 1),
			 WASI_ENOENT);
	autofree char *empty = list_dir(f, PRE);
	assert_string_equal(empty, ". ..");
	/* readdir on a file is ENOTDIR. */
	assert_int_equal(open_at(f, PRE, "c", WASI_OFLAG_CREAT, RW, 0, &fd), 0);
	assert_int_equal(KUMO_WASI_SYM(10, fd_readdir, iiili_i)(f->vm, fd, BUF_AT, 100, 0, OUT_AT),
			 WASI_ENOTDIR);
}

static void symlinks_and_escapes(void **state)
{
	struct fx *f = *state;
	uint32_t fd, n, m;
	/* Host-side traps: a symlink out of the sandbox and an absolute one. */
	autofree char *out = xasprintf("%s/out", f->dir);
	autofree char *abs = xasprintf("%s/abs", f->dir);
	assert_int_equal(symlink("../../../../etc", out), 0);
	assert_int_equal(symlink("/etc", abs), 0);
	assert_int_equal(open_at(f, PRE, "../x", 0, RW, 0, &fd), WASI_EPERM);
	assert_int_equal(open_at(f, PRE, "/etc/passwd", 0, RW, 0, &fd), WASI_EPERM);
	assert_int_equal(open_at(f, PRE, "a/../../x", 0, RW, 0, &fd), WASI_ENOENT);
	assert_int_equal(open_at(f, PRE, "./../x", 0, RW, 0, &fd), WASI_EPERM);
	assert_int_equal(open_at(f, PRE, "out/passwd", 0, RW, 0, &fd), WASI_EPERM);
	assert_int_equal(open_at(f, PRE, "abs/passwd", 0, RW, 0, &fd), WASI_EPERM);
	assert_int_equal(open_at(f, PRE, "abs", 0, RW, WASI_LOOKUP_SYMLINK_FOLLOW, &fd),
			 WASI_EPERM);
	/* Not following the final symlink: ELOOP from the platform's O_NOFOLLOW. */
	assert_int_equal(open_at(f, PRE, "abs", 0, RW, 0, &fd), WASI_ELOOP);
	/* A symlink inside the sandbox works, both ways. */
	assert_int_equal(open_at(f, PRE, "t", WASI_OFLAG_CREAT, RW, 0, &fd), 0);
	n = put_str(f, PATH_AT, "t");
	m = put_str(f, PATH_AT + 100, "l");
	assert_int_equal(KUMO_WASI_SYM(12, path_symlink, iiiii_i)(f->vm, PATH_AT, n, PRE,
								  PATH_AT + 100, m),
			 0);
	assert_int_equal(open_at(f, PRE, "l", 0, RW, WASI_LOOKUP_SYMLINK_FOLLOW, &fd), 0);
	m = put_str(f, PATH_AT + 100, "l");
	assert_int_equal(KUMO_WASI_SYM(13, path_readlink, iiiiii_i)(f->vm, PRE, PATH_AT + 100, m,
								    BUF_AT, 100, OUT_AT),
			 0);
	assert_int_equal(u32_at(f, OUT_AT), 1);
	assert_int_equal(f->mem[BUF_AT], 't');
	/* A symlink loop. */
	n = put_str(f, PATH_AT, "loop");
	assert_int_equal(KUMO_WASI_SYM(12, path_symlink, iiiii_i)(f->vm, PATH_AT, n, PRE, PATH_AT,
								  n),
			 0);
	assert_int_equal(open_at(f, PRE, "loop", 0, RW, WASI_LOOKUP_SYMLINK_FOLLOW, &fd),
			 WASI_ELOOP);
	/* Absolute targets are refused; a NUL in a path is EINVAL. */
	n = put_str(f, PATH_AT, "/etc");
	assert_int_equal(KUMO_WASI_SYM(12, path_symlink, iiiii_i)(f->vm, PATH_AT, n, PRE,
								  PATH_AT + 100, 1),
			 WASI_EPERM);
	memcpy(f->mem + PATH_AT, "t\0x", 3);
	assert_int_equal(KUMO_WASI_SYM(9, path_open, iiiiillii_i)(f->vm, PRE, 0, PATH_AT, 3, 0, RW,
								  0, 0, OUT_AT),
			 WASI_EINVAL);
	/* A path relative to a file fd is ENOTDIR. */
	assert_int_equal(open_at(f, fd, "x", 0, RW, 0, &fd), WASI_ENOTDIR);
}

static void rights_only_shrink(void **state)
{
	struct fx *f = *state;
	uint32_t fd;
	assert_int_equal(open_at(f, PRE, "r", WASI_OFLAG_CREAT, WASI_RIGHT_FD_READ, 0, &fd), 0);
	assert_int_equal(write_str(f, fd, "x"), WASI_ENOTCAPABLE);
	assert_int_equal(KUMO_WASI_SYM(13, fd_fdstat_get, ii_i)(f->vm, fd, BUF_AT), 0);
	assert_int_equal(f->mem[BUF_AT], WASI_FILETYPE_REGULAR_FILE);
	assert_int_equal(u64_at(f, BUF_AT + 8), WASI_RIGHT_FD_READ);
	assert_int_equal(KUMO_WASI_SYM(20, fd_fdstat_set_rights, ill_i)(f->vm, fd, RW, 0),
			 WASI_ENOTCAPABLE);
	assert_int_equal(KUMO_WASI_SYM(20, fd_fdstat_set_rights, ill_i)(f->vm, fd, 0, 0), 0);
	uint32_t iov[2] = {BUF_AT, 1};
	memcpy(f->mem + IOV_AT, iov, 8);
	assert_int_equal(KUMO_WASI_SYM(7, fd_read, iiii_i)(f->vm, fd, IOV_AT, 1, OUT_AT),
			 WASI_ENOTCAPABLE);
	/* Reading from the directory fd is EISDIR. */
	assert_int_equal(KUMO_WASI_SYM(7, fd_read, iiii_i)(f->vm, PRE, IOV_AT, 1, OUT_AT),
			 WASI_EISDIR);
}

/* A read-only preopen: reads work, opening for writing is EROFS, and no other change
 * (mkdir, unlink, rename, symlink, times) is possible under it, at any depth. */
static void readonly_preopen(void **state)
{
	struct fx *f = *state;
	char path[128];
	snprintf(path, sizeof(path), "%s/f", f->dir);
	FILE *hf = fopen(path, "w");
	assert_non_null(hf);
	fputs("data", hf);
	fclose(hf);
	snprintf(path, sizeof(path), "%s/sub", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	uint32_t fd;
	assert_int_equal(open_at(f, PRE, "f", 0, WASI_RIGHT_FD_READ, 0, &fd), 0);
	uint32_t iov[2] = {BUF_AT, 4};
	memcpy(f->mem + IOV_AT, iov, 8);
	assert_int_equal(KUMO_WASI_SYM(7, fd_read, iiii_i)(f->vm, fd, IOV_AT, 1, OUT_AT), 0);
	assert_memory_equal(f->mem + BUF_AT, "data", 4);
	assert_int_equal(write_str(f, fd, "x"), WASI_ENOTCAPABLE);
	assert_int_equal(open_at(f, PRE, "f", 0, RW, 0, &fd), WASI_EROFS);
	assert_int_equal(open_at(f, PRE, "new", WASI_OFLAG_CREAT, RW, 0, &fd), WASI_EROFS);
	assert_int_equal(open_at(f, PRE, "f", WASI_OFLAG_TRUNC, WASI_RIGHT_FD_READ, 0, &fd),
			 WASI_EROFS);
	uint32_t n = put_str(f, PATH_AT, "d");
	assert_int_equal(KUMO_WASI_SYM(21, path_create_directory, iii_i)(f->vm, PRE, PATH_AT, n),
			 WASI_ENOTCAPABLE);
	n = put_str(f, PATH_AT, "f");
	assert_int_equal(KUMO_WASI_SYM(16, path_unlink_file, iii_i)(f->vm, PRE, PATH_AT, n),
			 WASI_ENOTCAPABLE);
	/* A directory opened under it is read-only too. */
	uint32_t sub;
	assert_int_equal(open_at(f, PRE, "sub", WASI_OFLAG_DIRECTORY,
				 WASI_RIGHT_PATH_OPEN | WASI_RIGHT_PATH_CREATE_FILE |
					 WASI_RIGHT_PATH_CREATE_DIRECTORY,
				 0, &sub),
			 0);
	assert_int_equal(open_at(f, sub, "g", WASI_OFLAG_CREAT, RW, 0, &fd), WASI_EROFS);
	n = put_str(f, PATH_AT, "d");
	assert_int_equal(KUMO_WASI_SYM(21, path_create_directory, iii_i)(f->vm, sub, PATH_AT, n),
			 WASI_ENOTCAPABLE);
	struct stat st;
	snprintf(path, sizeof(path), "%s/new", f->dir);
	assert_int_equal(stat(path, &st), -1);
}

static void preopens_and_renumber(void **state)
{
	struct fx *f = *state;
	assert_int_equal(KUMO_WASI_SYM(14, fd_prestat_get, ii_i)(f->vm, PRE, BUF_AT), 0);
	assert_int_equal(f->mem[BUF_AT], WASI_PREOPENTYPE_DIR);
	assert_int_equal(u32_at(f, BUF_AT + 4), 8);
	assert_int_equal(KUMO_WASI_SYM(19, fd_prestat_dir_name, iii_i)(f->vm, PRE, BUF_AT, 8), 0);
	assert_memory_equal(f->mem + BUF_AT, "/sandbox", 8);
	assert_int_equal(KUMO_WASI_SYM(19, fd_prestat_dir_name, iii_i)(f->vm, PRE, BUF_AT, 3),
			 WASI_EINVAL);
	assert_int_equal(KUMO_WASI_SYM(14, fd_prestat_get, ii_i)(f->vm, 1, BUF_AT), WASI_EBADF);
	assert_int_equal(KUMO_WASI_SYM(14, fd_prestat_get, ii_i)(f->vm, 4, BUF_AT), WASI_EBADF);
	uint32_t fd;
	assert_int_equal(open_at(f, PRE, "n", WASI_OFLAG_CREAT, RW, 0, &fd), 0);
	assert_int_equal(KUMO_WASI_SYM(11, fd_renumber, ii_i)(f->vm, fd, 77), WASI_EBADF);
	uint32_t fd2;
	assert_int_equal(open_at(f, PRE, "n", 0, RW, 0, &fd2), 0);
	assert_int_equal(KUMO_WASI_SYM(11, fd_renumber, ii_i)(f->vm, fd, fd2), 0);
	assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, fd), WASI_EBADF);
	assert_int_equal(KUMO_WASI_SYM(8, fd_close, i_i)(f->vm, fd2), 0);
}

static void clocks_random_poll_sockets(void **state)
{
	struct fx *f = *state;
	assert_int_equal(KUMO_WASI_SYM(14, clock_time_get, ili_i)(f->vm, WASI_CLOCK_MONOTONIC, 1,
								  OUT_AT),
			 0);
	assert_true(u64_at(f, OUT_AT) > 0);
	assert_int_equal(KUMO_WASI_SYM(14, clock_time_get, ili_i)(f->vm, 9, 1, OUT_AT), WASI_EINVAL);
	assert_int_equal(KUMO_WASI_SYM(13, clock_res_get, ii_i)(f->vm, WASI_CLOCK_REALTIME, OUT_AT),
			 0);
	assert_true(u64_at(f, OUT_AT) > 0);
	memset(f->mem + BUF_AT, 0, 64);
	assert_int_equal(KUMO_WASI_SYM(10, random_get, ii_i)(f->vm, BUF_AT, 64), 0);
	static const uint8_t zero[64];
	assert_memory_not_equal(f->mem + BUF_AT, zero, 64);
	assert_int_equal(KUMO_WASI_SYM(10, random_get, ii_i)(f->vm, 65500, 64), WASI_EFAULT);

	/* One clock subscription (1 ms) and one on a bad fd. */
	uint8_t sub[96] = {0};
	uint64_t ud = 0x1234, timeout = 1000000;
	memcpy(sub, &ud, 8);
	sub[8] = WASI_EVENTTYPE_CLOCK;
	uint32_t clock = WASI_CLOCK_MONOTONIC;
	memcpy(sub + 16, &clock, 4);
	memcpy(sub + 24, &timeout, 8);
	ud = 0x5678;
	memcpy(sub + 48, &ud, 8);
	sub[56] = WASI_EVENTTYPE_FD_READ;
	uint32_t badfd = 500;
	memcpy(sub + 64, &badfd, 4);
	memcpy(f->mem + BUF_AT, sub, sizeof(sub));
	assert_int_equal(KUMO_WASI_SYM(11, poll_oneoff, iiii_i)(f->vm, BUF_AT, BUF_AT + 200, 2,
								OUT_AT),
			 0);
	uint32_t nev = u32_at(f, OUT_AT);
	assert_true(nev >= 1);
	bool saw_bad = false;
	for (uint32_t i = 0; i < nev; i++) {
		uint32_t at = BUF_AT + 200 + 32 * i;
		if (u64_at(f, at) == 0x5678) {
			saw_bad = true;
			assert_int_equal(f->mem[at + 8], WASI_EBADF);
		}
	}
	assert_true(saw_bad);
	/* Only the clock: it fires. */
	assert_int_equal(KUMO_WASI_SYM(11, poll_oneoff, iiii_i)(f->vm, BUF_AT, BUF_AT + 200, 1,
								OUT_AT),
			 0);
	assert_int_equal(u32_at(f, OUT_AT), 1);
	assert_int_equal(u64_at(f, BUF_AT + 200), 0x1234);
	assert_int_equal(f->mem[BUF_AT + 210], WASI_EVENTTYPE_CLOCK);
	assert_int_equal(KUMO_WASI_SYM(11, poll_oneoff, iiii_i)(f->vm, BUF_AT, BUF_AT + 200, 0,
								OUT_AT),
			 WASI_EINVAL);

	assert_int_equal(KUMO_WASI_SYM(11, sock_accept, iii_i)(f->vm, 1, 0, OUT_AT), WASI_ENOTSOCK);
	assert_int_equal(KUMO_WASI_SYM(13, sock_shutdown, ii_i)(f->vm, 99, 0), WASI_EBADF);
	assert_int_equal(KUMO_WASI_SYM(11, sched_yield, _i)(f->vm), 0);
}

static void every_function_resolves(void **state)
{
	(void)state;
	size_t n = 0;
	for (const struct kumo_wasi_func *w = kumo_wasi_funcs; w->name; w++) {
		/* The symbol is kumo_imp_22wasi_snapshot_preview1<len><name>_<sig>. */
		autofree char *sym = xasprintf("kumo_imp_22wasi_snapshot_preview1%zu%s_%s",
					       strlen(w->name), w->name, w->sig);
		void *p = dlsym(RTLD_DEFAULT, sym);
		assert_ptr_equal(p, w->code);
		n++;
	}
	assert_int_equal(n, 46 + 24); /* preview1 + the WasmEdge socket extension */
}

/* The whole command: _start writes through fd_write, exits through proc_exit(7). */
static void run_command_exit_code_and_stdout(void **state)
{
	(void)state;
	char path[] = "/tmp/kumo-test-stdout-XXXXXX";
	int tmp = mkstemp(path);
	assert_true(tmp >= 0);
	fflush(stdout);
	int saved = dup(1);
	dup2(tmp, 1);
	static const char *argv[] = {"fake"};
	struct kumo_embed_run run = {.argc = 1, .argv = argv};
	struct kumo_rt_outcome out;
	kumo_error_t err = NULL;
	int rc = kumo_embed_run_wasi(&kumo_module, &run, &out, &err);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(rc, 0);
	assert_int_equal(out.kind, KUMO_RT_EXIT);
	assert_int_equal(out.code, 7);
	char buf[64] = {0};
	assert_true(pread(tmp, buf, sizeof(buf) - 1, 0) > 0);
	assert_string_equal(buf, "hello from the fake module\n");
	close(tmp);
	unlink(path);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(args_and_environ),
		T(file_read_write_seek_stat),
		T(bad_iovecs_are_efault),
		T(directories_rename_unlink_readdir),
		T(symlinks_and_escapes),
		T(rights_only_shrink),
		T(preopens_and_renumber),
		cmocka_unit_test_setup_teardown(readonly_preopen, setup_readonly, teardown),
		T(clocks_random_poll_sockets),
		cmocka_unit_test(every_function_resolves),
		cmocka_unit_test(run_command_exit_code_and_stdout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
