/* kernel/hosted/fs_hosted.c - the file half of the POSIX platform: one-component *at
 * calls under preopened host directories, never following symlinks, host errno ->
 * WASI errno. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kernel/hosted/embed.h"
#include "kernel/rt/rt_platform.h"

struct kumo_plat_file {
	int fd;        /* host descriptor */
	bool borrowed; /* stdio or caller-owned: close() leaves the host fd open */
};

static struct kumo_plat_file stdio_files[3] = {{0, true}, {1, true}, {2, true}};

int kumo_hosted_errno(int e)
{
	switch (e) {
	case 0: return 0;
	case E2BIG: return WASI_E2BIG;
	case EACCES: return WASI_EACCES;
	case EADDRINUSE: return WASI_EADDRINUSE;
	case EADDRNOTAVAIL: return WASI_EADDRNOTAVAIL;
	case EAFNOSUPPORT: return WASI_EAFNOSUPPORT;
	case EAGAIN: return WASI_EAGAIN;
	case EALREADY: return WASI_EALREADY;
	case EBADF: return WASI_EBADF;
	case EBADMSG: return WASI_EBADMSG;
	case EBUSY: return WASI_EBUSY;
	case ECANCELED: return WASI_ECANCELED;
	case ECHILD: return WASI_ECHILD;
	case ECONNABORTED: return WASI_ECONNABORTED;
	case ECONNREFUSED: return WASI_ECONNREFUSED;
	case ECONNRESET: return WASI_ECONNRESET;
	case EDEADLK: return WASI_EDEADLK;
	case EDESTADDRREQ: return WASI_EDESTADDRREQ;
	case EDOM: return WASI_EDOM;
	case EDQUOT: return WASI_EDQUOT;
	case EEXIST: return WASI_EEXIST;
	case EFAULT: return WASI_EFAULT;
	case EFBIG: return WASI_EFBIG;
	case EHOSTUNREACH: return WASI_EHOSTUNREACH;
	case EIDRM: return WASI_EIDRM;
	case EILSEQ: return WASI_EILSEQ;
	case EINPROGRESS: return WASI_EINPROGRESS;
	case EINTR: return WASI_EINTR;
	case EINVAL: return WASI_EINVAL;
	case EIO: return WASI_EIO;
	case EISCONN: return WASI_EISCONN;
	case EISDIR: return WASI_EISDIR;
	case ELOOP: return WASI_ELOOP;
	case EMFILE: return WASI_EMFILE;
	case EMLINK: return WASI_EMLINK;
	case EMSGSIZE: return WASI_EMSGSIZE;
	case ENAMETOOLONG: return WASI_ENAMETOOLONG;
	case ENETDOWN: return WASI_ENETDOWN;
	case ENETRESET: return WASI_ENETRESET;
	case ENETUNREACH: return WASI_ENETUNREACH;
	case ENFILE: return WASI_ENFILE;
	case ENOBUFS: return WASI_ENOBUFS;
	case ENODEV: return WASI_ENODEV;
	case ENOENT: return WASI_ENOENT;
	case ENOEXEC: return WASI_ENOEXEC;
	case ENOLCK: return WASI_ENOLCK;
	case ENOMEM: return WASI_ENOMEM;
	case ENOSPC: return WASI_ENOSPC;
	case ENOSYS: return WASI_ENOSYS;
	case ENOTCONN: return WASI_ENOTCONN;
	case ENOTDIR: return WASI_ENOTDIR;
	case ENOTEMPTY: return WASI_ENOTEMPTY;
	case ENOTSOCK: return WASI_ENOTSOCK;
	case ENOTSUP: return WASI_ENOTSUP;
	case ENOTTY: return WASI_ENOTTY;
	case ENXIO: return WASI_ENXIO;
	case EOVERFLOW: return WASI_EOVERFLOW;
	case EPERM: return WASI_EPERM;
	case EPIPE: return WASI_EPIPE;
	case ERANGE: return WASI_ERANGE;
	case EROFS: return WASI_EROFS;
	case ESPIPE: return WASI_ESPIPE;
	case ESRCH: return WASI_ESRCH;
	case ETIMEDOUT: return WASI_ETIMEDOUT;
	case ETXTBSY: return WASI_ETXTBSY;
	case EXDEV: return WASI_EXDEV;
	default: return WASI_EIO;
	}
}

static int fail(void)
{
	return -kumo_hosted_errno(errno);
}

struct kumo_plat_file *kumo_plat_stdio(int n)
{
	return n >= 0 && n < 3 ? &stdio_files[n] : NULL;
}

struct kumo_plat_file *kumo_hosted_file(int fd, bool borrowed)
{
	struct kumo_plat_file *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->fd = fd;
	f->borrowed = borrowed;
	return f;
}

int kumo_hosted_fd(const struct kumo_plat_file *f)
{
	return f->fd;
}

int kumo_plat_openat(struct kumo_plat_file *dir, const char *name, uint32_t oflags,
		     uint32_t fdflags, bool read, bool write, struct kumo_plat_file **out)
{
	int flags = O_NOFOLLOW | O_CLOEXEC;
	if (oflags & WASI_OFLAG_CREAT)
		flags |= O_CREAT;
	if (oflags & WASI_OFLAG_DIRECTORY)
		flags |= O_DIRECTORY;
	if (oflags & WASI_OFLAG_EXCL)
		flags |= O_EXCL;
	if (oflags & WASI_OFLAG_TRUNC)
		flags |= O_TRUNC;
	if (fdflags & WASI_FDFLAG_APPEND)
		flags |= O_APPEND;
	if (fdflags & WASI_FDFLAG_DSYNC)
		flags |= O_DSYNC;
	if (fdflags & WASI_FDFLAG_NONBLOCK)
		flags |= O_NONBLOCK;
	if (fdflags & (WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC))
		flags |= O_SYNC;
	if (oflags & WASI_OFLAG_DIRECTORY)
		flags |= O_RDONLY;
	else if (read && write)
		flags |= O_RDWR;
	else if (write)
		flags |= O_WRONLY;
	else
		flags |= O_RDONLY;
	int fd = openat(dir->fd, name, flags, 0666);
	if (fd < 0)
		return fail();
	struct kumo_plat_file *f = kumo_hosted_file(fd, false);
	if (!f) {
		close(fd);
		return -WASI_ENOMEM;
	}
	*out = f;
	return 0;
}

int kumo_plat_close(struct kumo_plat_file *f)
{
	if (!f || (f >= stdio_files && f < stdio_files + 3))
		return 0;
	int rc = 0;
	if (!f->borrowed && close(f->fd) < 0 && errno != EINTR)
		rc = fail();
	free(f);
	return rc;
}

static int done_or_fail(ssize_t n, size_t *done)
{
	if (n < 0)
		return fail();
	*done = (size_t)n;
	return 0;
}

/* struct kumo_plat_iov has struct iovec's layout. */
_Static_assert(sizeof(struct kumo_plat_iov) == sizeof(struct iovec), "iov");
_Static_assert(offsetof(struct kumo_plat_iov, len) == offsetof(struct iovec, iov_len), "iov");

static int iovcnt(size_t n)
{
	return n > 1024 ? 1024 : (int)n;
}

int kumo_plat_readv(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		    size_t *done)
{
	return done_or_fail(readv(f->fd, (const struct iovec *)iov, iovcnt(n)), done);
}

int kumo_plat_writev(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     size_t *done)
{
	return done_or_fail(writev(f->fd, (const struct iovec *)iov, iovcnt(n)), done);
}

int kumo_plat_preadv(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     uint64_t offset, size_t *done)
{
	if (offset > INT64_MAX)
		return -WASI_EINVAL;
	return done_or_fail(preadv(f->fd, (const struct iovec *)iov, iovcnt(n), (off_t)offset),
			    done);
}

int kumo_plat_pwritev(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		      uint64_t offset, size_t *done)
{
	if (offset > INT64_MAX)
		return -WASI_EINVAL;
	return done_or_fail(pwritev(f->fd, (const struct iovec *)iov, iovcnt(n), (off_t)offset),
			    done);
}

int kumo_plat_seek(struct kumo_plat_file *f, int64_t offset, uint32_t whence, uint64_t *pos)
{
	int w = whence == WASI_WHENCE_SET ? SEEK_SET : whence == WASI_WHENCE_CUR ? SEEK_CUR
										 : SEEK_END;
	off_t r = lseek(f->fd, (off_t)offset, w);
	if (r < 0)
		return fail();
	*pos = (uint64_t)r;
	return 0;
}

static uint8_t filetype_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return WASI_FILETYPE_REGULAR_FILE;
	case S_IFDIR: return WASI_FILETYPE_DIRECTORY;
	case S_IFLNK: return WASI_FILETYPE_SYMBOLIC_LINK;
	case S_IFCHR: return WASI_FILETYPE_CHARACTER_DEVICE;
	case S_IFBLK: return WASI_FILETYPE_BLOCK_DEVICE;
	case S_IFSOCK: return WASI_FILETYPE_SOCKET_STREAM;
	default: return WASI_FILETYPE_UNKNOWN;
	}
}

static uint64_t ns_of(struct timespec ts)
{
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void stat_of(const struct stat *s, struct kumo_plat_stat *st)
{
	st->dev = s->st_dev;
	st->ino = s->st_ino;
	st->filetype = filetype_of(s->st_mode);
	st->nlink = s->st_nlink;
	st->size = (uint64_t)s->st_size;
	st->atim = ns_of(s->st_atim);
	st->mtim = ns_of(s->st_mtim);
	st->ctim = ns_of(s->st_ctim);
}

int kumo_plat_fstat(struct kumo_plat_file *f, struct kumo_plat_stat *st)
{
	struct stat s;
	if (fstat(f->fd, &s) < 0)
		return fail();
	stat_of(&s, st);
	int type = 0;
	socklen_t tl = sizeof(type);
	if (S_ISSOCK(s.st_mode) && getsockopt(f->fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
	    type == SOCK_DGRAM)
		st->filetype = WASI_FILETYPE_SOCKET_DGRAM;
	return 0;
}

int kumo_plat_statat(struct kumo_plat_file *dir, const char *name, struct kumo_plat_stat *st)
{
	struct stat s;
	if (fstatat(dir->fd, name, &s, AT_SYMLINK_NOFOLLOW) < 0)
		return fail();
	stat_of(&s, st);
	return 0;
}

int kumo_plat_get_flags(struct kumo_plat_file *f, uint32_t *fdflags)
{
	int fl = fcntl(f->fd, F_GETFL);
	if (fl < 0)
		return fail();
	uint32_t r = 0;
	if (fl & O_APPEND)
		r |= WASI_FDFLAG_APPEND;
	if (fl & O_NONBLOCK)
		r |= WASI_FDFLAG_NONBLOCK;
	if ((fl & O_SYNC) == O_SYNC)
		r |= WASI_FDFLAG_SYNC;
	else if (fl & O_DSYNC)
		r |= WASI_FDFLAG_DSYNC;
	*fdflags = r;
	return 0;
}

int kumo_plat_set_flags(struct kumo_plat_file *f, uint32_t fdflags)
{
	int fl = fcntl(f->fd, F_GETFL);
	if (fl < 0)
		return fail();
	fl &= ~(O_APPEND | O_NONBLOCK);
	if (fdflags & WASI_FDFLAG_APPEND)
		fl |= O_APPEND;
	if (fdflags & WASI_FDFLAG_NONBLOCK)
		fl |= O_NONBLOCK;
	if (fcntl(f->fd, F_SETFL, fl) < 0)
		return fail();
	return 0;
}

int kumo_plat_truncate(struct kumo_plat_file *f, uint64_t size)
{
	if (size > INT64_MAX)
		return -WASI_EINVAL;
	return ftruncate(f->fd, (off_t)size) < 0 ? fail() : 0;
}

int kumo_plat_allocate(struct kumo_plat_file *f, uint64_t offset, uint64_t len)
{
	if (offset > INT64_MAX || len > INT64_MAX || offset + len > INT64_MAX)
		return -WASI_EFBIG;
	int e = posix_fallocate(f->fd, (off_t)offset, (off_t)len);
	if (e == EOPNOTSUPP || e == EINVAL) {
		/* File systems without fallocate: extend the size, as wasmtime does. */
		struct stat s;
		if (fstat(f->fd, &s) < 0)
			return fail();
		if ((uint64_t)s.st_size < offset + len && ftruncate(f->fd, (off_t)(offset + len)) < 0)
			return fail();
		return 0;
	}
	return e ? -kumo_hosted_errno(e) : 0;
}

int kumo_plat_advise(struct kumo_plat_file *f, uint64_t offset, uint64_t len, uint32_t advice)
{
	static const int map[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
				  POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
	if (advice > WASI_ADVICE_NOREUSE)
		return -WASI_EINVAL;
	int e = posix_fadvise(f->fd, (off_t)offset, (off_t)len, map[advice]);
	return e ? -kumo_hosted_errno(e) : 0;
}

int kumo_plat_sync(struct kumo_plat_file *f, bool data_only)
{
	int r = data_only ? fdatasync(f->fd) : fsync(f->fd);
	if (r < 0 && errno != EINVAL && errno != EROFS) /* ttys and pipes: nothing to sync */
		return fail();
	return 0;
}

static void times_of(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2])
{
	ts[0].tv_sec = (time_t)(atim / 1000000000ull);
	ts[0].tv_nsec = (long)(atim % 1000000000ull);
	ts[1].tv_sec = (time_t)(mtim / 1000000000ull);
	ts[1].tv_nsec = (long)(mtim % 1000000000ull);
	if (fst & WASI_FSTFLAG_ATIM_NOW)
		ts[0].tv_nsec = UTIME_NOW;
	else if (!(fst & WASI_FSTFLAG_ATIM))
		ts[0].tv_nsec = UTIME_OMIT;
	if (fst & WASI_FSTFLAG_MTIM_NOW)
		ts[1].tv_nsec = UTIME_NOW;
	else if (!(fst & WASI_FSTFLAG_MTIM))
		ts[1].tv_nsec = UTIME_OMIT;
}

int kumo_plat_set_times(struct kumo_plat_file *f, uint64_t atim, uint64_t mtim,
			uint32_t fstflags)
{
	struct timespec ts[2];
	times_of(atim, mtim, fstflags, ts);
	return futimens(f->fd, ts) < 0 ? fail() : 0;
}

int kumo_plat_set_times_at(struct kumo_plat_file *dir, const char *name, uint64_t atim,
			   uint64_t mtim, uint32_t fstflags)
{
	struct timespec ts[2];
	times_of(atim, mtim, fstflags, ts);
	return utimensat(dir->fd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? fail() : 0;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static uint8_t filetype_of_dtype(unsigned char t)
{
	switch (t) {
	case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
	case DT_DIR: return WASI_FILETYPE_DIRECTORY;
	case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
	case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
	case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
	case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
	default: return WASI_FILETYPE_UNKNOWN;
	}
}

int kumo_plat_readdir(struct kumo_plat_file *dir, uint64_t cookie, kumo_plat_dirent_fn emit,
		      void *ctx)
{
	/* Directory offsets from getdents64 are the cookies: seek, then read on. */
	char buf[8192] __attribute__((aligned(8)));
	if (lseek(dir->fd, (off_t)cookie, SEEK_SET) < 0)
		return fail();
	for (;;) {
		long n = syscall(SYS_getdents64, dir->fd, buf, sizeof(buf));
		if (n < 0)
			return fail();
		if (n == 0)
			return 0;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			off += d->d_reclen;
			uint8_t type = filetype_of_dtype(d->d_type);
			if (d->d_type == DT_UNKNOWN) {
				struct stat s;
				if (fstatat(dir->fd, d->d_name, &s, AT_SYMLINK_NOFOLLOW) == 0)
					type = filetype_of(s.st_mode);
			}
			if (emit(ctx, (uint64_t)d->d_off, d->d_ino, type, d->d_name,
				 strlen(d->d_name)))
				return 0;
		}
	}
}

int kumo_plat_mkdirat(struct kumo_plat_file *dir, const char *name)
{
	return mkdirat(dir->fd, name, 0777) < 0 ? fail() : 0;
}

int kumo_plat_unlinkat(struct kumo_plat_file *dir, const char *name, bool is_dir)
{
	return unlinkat(dir->fd, name, is_dir ? AT_REMOVEDIR : 0) < 0 ? fail() : 0;
}

int kumo_plat_renameat(struct kumo_plat_file *odir, const char *oname,
		       struct kumo_plat_file *ndir, const char *nname)
{
	return renameat(odir->fd, oname, ndir->fd, nname) < 0 ? fail() : 0;
}

int kumo_plat_linkat(struct kumo_plat_file *odir, const char *oname,
		     struct kumo_plat_file *ndir, const char *nname)
{
	return linkat(odir->fd, oname, ndir->fd, nname, 0) < 0 ? fail() : 0;
}

int kumo_plat_symlinkat(const char *target, struct kumo_plat_file *dir, const char *name)
{
	return symlinkat(target, dir->fd, name) < 0 ? fail() : 0;
}

int kumo_plat_readlinkat(struct kumo_plat_file *dir, const char *name, char *buf, size_t cap,
			 size_t *len)
{
	char tmp[4096];
	ssize_t n = readlinkat(dir->fd, name, tmp, sizeof(tmp));
	if (n < 0)
		return fail();
	memcpy(buf, tmp, (size_t)n < cap ? (size_t)n : cap);
	*len = (size_t)n;
	return 0;
}

int kumo_plat_poll(struct kumo_plat_pollfd *fds, size_t n, int64_t timeout_ns)
{
	struct pollfd stack_pfd[64];
	struct pollfd *pfd = stack_pfd;
	if (n > 64) {
		pfd = calloc(n, sizeof(*pfd));
		if (!pfd)
			return -WASI_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		pfd[i].fd = fds[i].f->fd;
		pfd[i].events = fds[i].write ? POLLOUT : POLLIN;
		pfd[i].revents = 0;
	}
	struct timespec ts, *tsp = NULL;
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	int r;
	do {
		r = ppoll(n ? pfd : NULL, n, tsp, NULL);
	} while (r < 0 && errno == EINTR && !tsp);
	if (r < 0 && errno != EINTR) {
		int e = fail();
		if (pfd != stack_pfd)
			free(pfd);
		return e;
	}
	for (size_t i = 0; i < n; i++) {
		short re = pfd[i].revents;
		fds[i].ready = re != 0;
		fds[i].hangup = (re & POLLHUP) != 0;
		fds[i].error = (re & (POLLERR | POLLNVAL)) ? WASI_EBADF : 0;
		fds[i].nbytes = 0;
		if (fds[i].ready && !fds[i].write) {
			struct stat s;
			int avail = 0;
			if (fstat(pfd[i].fd, &s) == 0 && S_ISREG(s.st_mode)) {
				off_t pos = lseek(pfd[i].fd, 0, SEEK_CUR);
				if (pos >= 0 && s.st_size > pos)
					fds[i].nbytes = (uint64_t)(s.st_size - pos);
			} else if (ioctl(pfd[i].fd, FIONREAD, &avail) == 0 && avail > 0) {
				fds[i].nbytes = (uint64_t)avail;
			}
		}
	}
	if (pfd != stack_pfd)
		free(pfd);
	return 0;
}
