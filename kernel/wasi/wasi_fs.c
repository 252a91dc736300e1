/* kernel/wasi/wasi_fs.c - the fd_* and path_* functions of WASI preview1: rights,
 * argument checks and errno choices here, file operations through the platform. */
#include "kernel/wasi/wasi_funcs.h"
#include "kernel/wasi/wasi_path.h"

/* The calling instance's fd entry holding `rights`, or NULL with *e set. */
static struct wasi_fd *fd_of(struct kumo_vmctx *vm, uint32_t fd, uint64_t rights, uint32_t *e)
{
	return wasi_fd_get(wasi_of(vm), fd, rights, e);
}

/* File-only operations on a directory fail with WASI_EISDIR before rights are checked. */
static struct wasi_fd *file_fd_of(struct kumo_vmctx *vm, uint32_t fd, uint64_t rights,
				  uint32_t *e)
{
	struct wasi_fd *f = fd_of(vm, fd, 0, e);
	if (!f)
		return NULL;
	if (f->filetype == WASI_FILETYPE_DIRECTORY) {
		*e = WASI_EISDIR;
		return NULL;
	}
	if ((f->rights_base & rights) != rights) {
		*e = WASI_ENOTCAPABLE;
		return NULL;
	}
	return f;
}

static void put_filestat(uint8_t *p, const struct kumo_plat_stat *st)
{
	w_memset(p, 0, WASI_FILESTAT_SIZE);
	put_u64(p + 0, st->dev);
	put_u64(p + 8, st->ino);
	p[16] = st->filetype;
	put_u64(p + 24, st->nlink);
	put_u64(p + 32, st->size);
	put_u64(p + 40, st->atim);
	put_u64(p + 48, st->mtim);
	put_u64(p + 56, st->ctim);
}

static uint32_t check_fstflags(uint32_t fst)
{
	if (fst & ~(uint32_t)(WASI_FSTFLAG_ATIM | WASI_FSTFLAG_ATIM_NOW | WASI_FSTFLAG_MTIM |
			      WASI_FSTFLAG_MTIM_NOW))
		return WASI_EINVAL;
	if ((fst & WASI_FSTFLAG_ATIM) && (fst & WASI_FSTFLAG_ATIM_NOW))
		return WASI_EINVAL;
	if ((fst & WASI_FSTFLAG_MTIM) && (fst & WASI_FSTFLAG_MTIM_NOW))
		return WASI_EINVAL;
	return 0;
}

/* ---- fd_* ---- */

u32 KUMO_WASI_SYM(9, fd_advise, illi_i)(wvm *vm, u32 fd, u64 offset, u64 len, u32 advice)
{
	uint32_t e;
	struct wasi_fd *f = file_fd_of(vm, fd, WASI_RIGHT_FD_ADVISE, &e);
	if (!f)
		return e;
	if (advice > WASI_ADVICE_NOREUSE)
		return WASI_EINVAL;
	if (offset > INT64_MAX || len > INT64_MAX)
		return WASI_EINVAL;
	return wasi_err(kumo_plat_advise(f->file, offset, len, advice));
}

u32 KUMO_WASI_SYM(11, fd_allocate, ill_i)(wvm *vm, u32 fd, u64 offset, u64 len)
{
	uint32_t e;
	struct wasi_fd *f = file_fd_of(vm, fd, WASI_RIGHT_FD_ALLOCATE, &e);
	if (!f)
		return e;
	return wasi_err(kumo_plat_allocate(f->file, offset, len));
}

u32 KUMO_WASI_SYM(8, fd_close, i_i)(wvm *vm, u32 fd)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, 0, &e);
	if (!f)
		return e;
	if (f->owned)
		kumo_plat_close(f->file);
	kumo_plat_free(f->preopen);
	*f = (struct wasi_fd){0};
	return 0;
}

u32 KUMO_WASI_SYM(11, fd_datasync, i_i)(wvm *vm, u32 fd)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, WASI_RIGHT_FD_DATASYNC, &e);
	if (!f)
		return e;
	return wasi_err(kumo_plat_sync(f->file, true));
}

u32 KUMO_WASI_SYM(7, fd_sync, i_i)(wvm *vm, u32 fd)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, WASI_RIGHT_FD_SYNC, &e);
	if (!f)
		return e;
	return wasi_err(kumo_plat_sync(f->file, false));
}

u32 KUMO_WASI_SYM(13, fd_fdstat_get, ii_i)(wvm *vm, u32 fd, u32 stat)
{
	uint32_t e, flags = 0;
	struct wasi_fd *f = fd_of(vm, fd, 0, &e);
	if (!f)
		return e;
	uint8_t *p = wasi_mem(vm, stat, WASI_FDSTAT_SIZE);
	if (!p)
		return WASI_EFAULT;
	if (f->filetype != WASI_FILETYPE_DIRECTORY)
		kumo_plat_get_flags(f->file, &flags);
	w_memset(p, 0, WASI_FDSTAT_SIZE);
	p[0] = f->filetype;
	put_u16(p + 2, (uint16_t)flags);
	put_u64(p + 8, f->rights_base);
	put_u64(p + 16, f->rights_inheriting);
	return 0;
}

u32 KUMO_WASI_SYM(19, fd_fdstat_set_flags, ii_i)(wvm *vm, u32 fd, u32 flags)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &e);
	if (!f)
		return e;
	if (flags & ~(uint32_t)(WASI_FDFLAG_APPEND | WASI_FDFLAG_DSYNC | WASI_FDFLAG_NONBLOCK |
				WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC))
		return WASI_EINVAL;
	if (flags & (WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC))
		return WASI_ENOTSUP; /* cannot be changed on an open file */
	return wasi_err(kumo_plat_set_flags(f->file, flags));
}

u32 KUMO_WASI_SYM(20, fd_fdstat_set_rights, ill_i)(wvm *vm, u32 fd, u64 base, u64 inheriting)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, 0, &e);
	if (!f)
		return e;
	if ((base & ~f->rights_base) || (inheriting & ~f->rights_inheriting))
		return WASI_ENOTCAPABLE; /* rights only ever shrink */
	f->rights_base = base;
	f->rights_inheriting = inheriting;
	return 0;
}

u32 KUMO_WASI_SYM(15, fd_filestat_get, ii_i)(wvm *vm, u32 fd, u32 buf)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, WASI_RIGHT_FD_FILESTAT_GET, &e);
	if (!f)
		return e;
	uint8_t *p = wasi_mem(vm, buf, WASI_FILESTAT_SIZE);
	if (!p)
		return WASI_EFAULT;
	struct kumo_plat_stat st;
	int rc = kumo_plat_fstat(f->file, &st);
	if (rc < 0)
		return wasi_err(rc);
	put_filestat(p, &st);
	return 0;
}

u32 KUMO_WASI_SYM(20, fd_filestat_set_size, il_i)(wvm *vm, u32 fd, u64 size)
{
	uint32_t e;
	struct wasi_fd *f = file_fd_of(vm, fd, WASI_RIGHT_FD_FILESTAT_SET_SIZE, &e);
	if (!f)
		return e;
	return wasi_err(kumo_plat_truncate(f->file, size));
}

u32 KUMO_WASI_SYM(21, fd_filestat_set_times, illi_i)(wvm *vm, u32 fd, u64 atim, u64 mtim,
						     u32 fst_flags)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, WASI_RIGHT_FD_FILESTAT_SET_TIMES, &e);
	if (!f)
		return e;
	e = check_fstflags(fst_flags);
	if (e)
		return e;
	return wasi_err(kumo_plat_set_times(f->file, atim, mtim, fst_flags));
}

/* The four data-transfer calls: the same checks, one platform call each. */
enum fd_io_op { FD_IO_READ, FD_IO_WRITE, FD_IO_PREAD, FD_IO_PWRITE };

static u32 fd_io(wvm *vm, enum fd_io_op op, u32 fd, u32 iovs, u32 iovs_len, u64 offset,
		 u32 ndone)
{
	static const uint64_t rights[] = {
		[FD_IO_READ] = WASI_RIGHT_FD_READ,
		[FD_IO_WRITE] = WASI_RIGHT_FD_WRITE,
		[FD_IO_PREAD] = WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK,
		[FD_IO_PWRITE] = WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_SEEK,
	};
	uint32_t e;
	struct wasi_fd *f = file_fd_of(vm, fd, rights[op], &e);
	if (!f)
		return e;
	struct kumo_plat_iov iov[WASI_MAX_IOV];
	size_t n = 0, done = 0;
	e = wasi_iovs(vm, iovs, iovs_len, iov, &n);
	if (e)
		return e;
	if (!wasi_mem(vm, ndone, 4))
		return WASI_EFAULT;
	int rc = 0;
	if (n) {
		switch (op) {
		case FD_IO_READ: rc = kumo_plat_readv(f->file, iov, n, &done); break;
		case FD_IO_WRITE: rc = kumo_plat_writev(f->file, iov, n, &done); break;
		case FD_IO_PREAD: rc = kumo_plat_preadv(f->file, iov, n, offset, &done); break;
		case FD_IO_PWRITE: rc = kumo_plat_pwritev(f->file, iov, n, offset, &done); break;
		}
	}
	if (rc < 0)
		return wasi_err(rc);
	return wasi_store_u32(vm, ndone, (uint32_t)done);
}

u32 KUMO_WASI_SYM(8, fd_pread, iiili_i)(wvm *vm, u32 fd, u32 iovs, u32 iovs_len, u64 offset,
					u32 nread)
{
	return fd_io(vm, FD_IO_PREAD, fd, iovs, iovs_len, offset, nread);
}

u32 KUMO_WASI_SYM(9, fd_pwrite, iiili_i)(wvm *vm, u32 fd, u32 iovs, u32 iovs_len, u64 offset,
					 u32 nwritten)
{
	return fd_io(vm, FD_IO_PWRITE, fd, iovs, iovs_len, offset, nwritten);
}

u32 KUMO_WASI_SYM(7, fd_read, iiii_i)(wvm *vm, u32 fd, u32 iovs, u32 iovs_len, u32 nread)
{
	return fd_io(vm, FD_IO_READ, fd, iovs, iovs_len, 0, nread);
}

u32 KUMO_WASI_SYM(8, fd_write, iiii_i)(wvm *vm, u32 fd, u32 iovs, u32 iovs_len, u32 nwritten)
{
	return fd_io(vm, FD_IO_WRITE, fd, iovs, iovs_len, 0, nwritten);
}

u32 KUMO_WASI_SYM(14, fd_prestat_get, ii_i)(wvm *vm, u32 fd, u32 buf)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, 0, &e);
	if (!f)
		return e;
	if (!f->preopen)
		return WASI_EBADF;
	uint8_t *p = wasi_mem(vm, buf, WASI_PRESTAT_SIZE);
	if (!p)
		return WASI_EFAULT;
	w_memset(p, 0, WASI_PRESTAT_SIZE);
	p[0] = WASI_PREOPENTYPE_DIR;
	put_u32(p + 4, f->preopen_len);
	return 0;
}

u32 KUMO_WASI_SYM(19, fd_prestat_dir_name, iii_i)(wvm *vm, u32 fd, u32 path, u32 path_len)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, 0, &e);
	if (!f)
		return e;
	if (!f->preopen)
		return WASI_EBADF;
	if (path_len < f->preopen_len)
		return WASI_EINVAL;
	uint8_t *p = wasi_mem(vm, path, f->preopen_len);
	if (!p)
		return WASI_EFAULT;
	w_memcpy(p, f->preopen, f->preopen_len);
	return 0;
}

struct readdir_state {
	uint8_t *buf;
	uint32_t cap;
	uint32_t used;
};

static int readdir_emit(void *ctx, uint64_t next, uint64_t ino, uint8_t type, const char *name,
			size_t namelen)
{
	struct readdir_state *s = ctx;
	uint8_t hdr[WASI_DIRENT_SIZE];
	w_memset(hdr, 0, sizeof(hdr));
	put_u64(hdr, next);
	put_u64(hdr + 8, ino);
	put_u32(hdr + 16, (uint32_t)namelen);
	hdr[20] = type;
	uint32_t room = s->cap - s->used;
	uint32_t n = room < WASI_DIRENT_SIZE ? room : WASI_DIRENT_SIZE;
	w_memcpy(s->buf + s->used, hdr, n);
	s->used += n;
	room -= n;
	uint32_t m = room < namelen ? room : (uint32_t)namelen;
	w_memcpy(s->buf + s->used, name, m);
	s->used += m;
	return s->used == s->cap; /* full: the guest sees bufused == buf_len and asks again */
}

u32 KUMO_WASI_SYM(10, fd_readdir, iiili_i)(wvm *vm, u32 fd, u32 buf, u32 buf_len, u64 cookie,
					   u32 bufused)
{
	uint32_t e;
	struct wasi_fd *f = fd_of(vm, fd, 0, &e);
	if (!f)
		return e;
	if (f->filetype != WASI_FILETYPE_DIRECTORY)
		return WASI_ENOTDIR;
	if ((f->rights_base & WASI_RIGHT_FD_READDIR) == 0)
		return WASI_ENOTCAPABLE;
	struct readdir_state s = {wasi_mem(vm, buf, buf_len), buf_len, 0};
	if (!s.buf || !wasi_mem(vm, bufused, 4))
		return WASI_EFAULT;
	if (buf_len) {
		int rc = kumo_plat_readdir(f->file, cookie, readdir_emit, &s);
		if (rc < 0)
			return wasi_err(rc);
	}
	return wasi_store_u32(vm, bufused, s.used);
}

u32 KUMO_WASI_SYM(11, fd_renumber, ii_i)(wvm *vm, u32 fd, u32 to)
{
	uint32_t e;
	struct kumo_wasi *w = wasi_of(vm);
	struct wasi_fd *f = wasi_fd_get(w, fd, 0, &e);
	if (!f)
		return e;
	struct wasi_fd *t = wasi_fd_get(w, to, 0, &e);
	if (!t)
		return e;
	if (f == t)
		return 0;
	if (t->owned)
		kumo_plat_close(t->file);
	kumo_plat_free(t->preopen);
	*t = *f;
	*f = (struct wasi_fd){0};
	return 0;
}

u32 KUMO_WASI_SYM(7, fd_seek, ilii_i)(wvm *vm, u32 fd, u64 offset, u32 whence, u32 newoffset)
{
	uint32_t e;
	bool tell_only = offset == 0 && whence == WASI_WHENCE_CUR;
	struct wasi_fd *f = file_fd_of(vm, fd, tell_only ? WASI_RIGHT_FD_TELL : WASI_RIGHT_FD_SEEK,
				       &e);
	if (!f && e == WASI_ENOTCAPABLE && tell_only)
		f = file_fd_of(vm, fd, WASI_RIGHT_FD_SEEK, &e);
	if (!f)
		return e;
	if (whence > WASI_WHENCE_END)
		return WASI_EINVAL;
	if (!wasi_mem(vm, newoffset, 8))
		return WASI_EFAULT;
	uint64_t pos = 0;
	int rc = kumo_plat_seek(f->file, (int64_t)offset, whence, &pos);
	if (rc < 0)
		return wasi_err(rc);
	return wasi_store_u64(vm, newoffset, pos);
}

u32 KUMO_WASI_SYM(7, fd_tell, ii_i)(wvm *vm, u32 fd, u32 offset)
{
	uint32_t e;
	struct wasi_fd *f = file_fd_of(vm, fd, WASI_RIGHT_FD_TELL, &e);
	if (!f)
		return e;
	if (!wasi_mem(vm, offset, 8))
		return WASI_EFAULT;
	uint64_t pos = 0;
	int rc = kumo_plat_seek(f->file, 0, WASI_WHENCE_CUR, &pos);
	if (rc < 0)
		return wasi_err(rc);
	return wasi_store_u64(vm, offset, pos);
}

/* ---- path_* ---- */

/* Resolves `path` under directory fd `fd`, which must hold `rights`. */
static uint32_t resolve_at(struct kumo_vmctx *vm, uint32_t fd, uint64_t rights, uint32_t path,
			   uint32_t len, bool follow, struct wasi_resolved *r)
{
	uint32_t e;
	struct wasi_fd *d = fd_of(vm, fd, 0, &e);
	if (!d)
		return e;
	if (d->filetype != WASI_FILETYPE_DIRECTORY)
		return WASI_ENOTDIR;
	if ((d->rights_base & rights) != rights)
		return WASI_ENOTCAPABLE;
	return wasi_resolve(vm, d, path, len, follow, r);
}

/* For a name given with a trailing slash to an operation that creates a non-directory:
 * EEXIST when it exists, ENOENT otherwise (what Linux answers). */
static uint32_t trailing_slash_create(struct wasi_resolved *r, bool dir_is_exist)
{
	struct kumo_plat_stat st;
	if (kumo_plat_statat(r->dir, r->name, &st) < 0)
		return WASI_ENOENT;
	if (st.filetype == WASI_FILETYPE_DIRECTORY || dir_is_exist)
		return WASI_EEXIST;
	return WASI_ENOTDIR;
}

u32 KUMO_WASI_SYM(21, path_create_directory, iii_i)(wvm *vm, u32 fd, u32 path, u32 path_len)
{
	struct wasi_resolved r;
	uint32_t e = resolve_at(vm, fd, WASI_RIGHT_PATH_CREATE_DIRECTORY, path, path_len, false,
				&r);
	if (e)
		return e;
	e = wasi_err(kumo_plat_mkdirat(r.dir, r.name));
	wasi_resolved_done(&r);
	return e;
}

u32 KUMO_WASI_SYM(17, path_filestat_get, iiiii_i)(wvm *vm, u32 fd, u32 flags, u32 path,
						  u32 path_len, u32 buf)
{
	struct wasi_resolved r;
	uint8_t *p = wasi_mem(vm, buf, WASI_FILESTAT_SIZE);
	if (!p)
		return WASI_EFAULT;
	uint32_t e = resolve_at(vm, fd, WASI_RIGHT_PATH_FILESTAT_GET, path, path_len,
				flags & WASI_LOOKUP_SYMLINK_FOLLOW, &r);
	if (e)
		return e;
	struct kumo_plat_stat st;
	int rc = kumo_plat_statat(r.dir, r.name, &st);
	if (rc == 0 && r.trailing_slash && st.filetype != WASI_FILETYPE_DIRECTORY)
		rc = -WASI_ENOTDIR;
	wasi_resolved_done(&r);
	if (rc < 0)
		return wasi_err(rc);
	put_filestat(p, &st);
	return 0;
}

u32 KUMO_WASI_SYM(23, path_filestat_set_times, iiiilli_i)(wvm *vm, u32 fd, u32 flags, u32 path,
							  u32 path_len, u64 atim, u64 mtim,
							  u32 fst_flags)
{
	struct wasi_resolved r;
	uint32_t e = check_fstflags(fst_flags);
	if (e)
		return e;
	e = resolve_at(vm, fd, WASI_RIGHT_PATH_FILESTAT_SET_TIMES, path, path_len,
		       flags & WASI_LOOKUP_SYMLINK_FOLLOW, &r);
	if (e)
		return e;
	e = wasi_err(kumo_plat_set_times_at(r.dir, r.name, atim, mtim, fst_flags));
	wasi_resolved_done(&r);
	return e;
}

u32 KUMO_WASI_SYM(9, path_link, iiiiiii_i)(wvm *vm, u32 old_fd, u32 old_flags, u32 old_path,
					   u32 old_len, u32 new_fd, u32 new_path, u32 new_len)
{
	struct wasi_resolved o, n;
	uint32_t e = resolve_at(vm, old_fd, WASI_RIGHT_PATH_LINK_SOURCE, old_path, old_len,
				old_flags & WASI_LOOKUP_SYMLINK_FOLLOW, &o);
	if (e)
		return e;
	e = resolve_at(vm, new_fd, WASI_RIGHT_PATH_LINK_TARGET, new_path, new_len, false, &n);
	if (e) {
		wasi_resolved_done(&o);
		return e;
	}
	if (n.trailing_slash)
		e = trailing_slash_create(&n, true);
	else if (o.trailing_slash)
		e = WASI_ENOTDIR;
	else
		e = wasi_err(kumo_plat_linkat(o.dir, o.name, n.dir, n.name));
	wasi_resolved_done(&n);
	wasi_resolved_done(&o);
	return e;
}

u32 KUMO_WASI_SYM(9, path_open, iiiiillii_i)(wvm *vm, u32 fd, u32 dirflags, u32 path,
					     u32 path_len, u32 oflags, u64 rights_base,
					     u64 rights_inheriting, u32 fdflags, u32 opened)
{
	struct kumo_wasi *w = wasi_of(vm);
	uint32_t e;
	struct wasi_fd *d = wasi_fd_get(w, fd, 0, &e);
	if (!d)
		return e;
	if (d->filetype != WASI_FILETYPE_DIRECTORY)
		return WASI_ENOTDIR;
	if (oflags & ~(uint32_t)(WASI_OFLAG_CREAT | WASI_OFLAG_DIRECTORY | WASI_OFLAG_EXCL |
				 WASI_OFLAG_TRUNC))
		return WASI_EINVAL;
	if (fdflags & ~(uint32_t)(WASI_FDFLAG_APPEND | WASI_FDFLAG_DSYNC | WASI_FDFLAG_NONBLOCK |
				  WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC))
		return WASI_EINVAL;
	uint64_t need = WASI_RIGHT_PATH_OPEN;
	if (oflags & WASI_OFLAG_CREAT)
		need |= WASI_RIGHT_PATH_CREATE_FILE;
	if (oflags & WASI_OFLAG_TRUNC)
		need |= WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
	if ((d->rights_base & need) != need)
		return (d->rights_base & WASI_RIGHT_PATH_OPEN) &&
				       !(d->rights_inheriting & WASI_RIGHT_FD_WRITE)
			       ? WASI_EROFS
			       : WASI_ENOTCAPABLE;
	if (!wasi_mem(vm, opened, 4))
		return WASI_EFAULT;

	struct wasi_resolved r;
	e = wasi_resolve(vm, d, path, path_len, dirflags & WASI_LOOKUP_SYMLINK_FOLLOW, &r);
	if (e)
		return e;
	if (r.trailing_slash)
		oflags |= WASI_OFLAG_DIRECTORY;
	/* Under a read-only preopen, asking to write is EROFS, as on a read-only mount. */
	if ((rights_base & WASI_RIGHT_FD_WRITE) && !(d->rights_inheriting & WASI_RIGHT_FD_WRITE)) {
		wasi_resolved_done(&r);
		return WASI_EROFS;
	}
	/* The new fd's rights: what was asked, within what the directory passes on. */
	uint64_t base = rights_base & d->rights_inheriting;
	uint64_t inh = rights_inheriting & d->rights_inheriting;
	bool read = (base & (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR)) != 0;
	bool write = (base & (WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_DATASYNC |
			      WASI_RIGHT_FD_ALLOCATE | WASI_RIGHT_FD_FILESTAT_SET_SIZE)) != 0;
	struct kumo_plat_file *f = NULL;
	int rc = kumo_plat_openat(r.dir, r.name, oflags, fdflags, read, write, &f);
	wasi_resolved_done(&r);
	if (rc < 0)
		return wasi_err(rc);
	struct kumo_plat_stat st = {0};
	kumo_plat_fstat(f, &st);
	if (st.filetype == WASI_FILETYPE_DIRECTORY && write) {
		/* A directory is never writable (the platform opened it read-only). */
		kumo_plat_close(f);
		return WASI_EISDIR;
	}
	if (st.filetype == WASI_FILETYPE_DIRECTORY) {
		base &= WASI_RIGHTS_DIR_BASE;
	} else {
		base &= WASI_RIGHTS_FILE_BASE;
		inh = 0;
	}
	uint32_t nfd;
	e = wasi_fd_install(w, f, st.filetype, base, inh, &nfd);
	if (e) {
		kumo_plat_close(f);
		return e;
	}
	return wasi_store_u32(vm, opened, nfd);
}

u32 KUMO_WASI_SYM(13, path_readlink, iiiiii_i)(wvm *vm, u32 fd, u32 path, u32 path_len, u32 buf,
					       u32 buf_len, u32 bufused)
{
	struct wasi_resolved r;
	uint8_t *p = wasi_mem(vm, buf, buf_len);
	if (!p || !wasi_mem(vm, bufused, 4))
		return WASI_EFAULT;
	uint32_t e = resolve_at(vm, fd, WASI_RIGHT_PATH_READLINK, path, path_len, false, &r);
	if (e)
		return e;
	size_t len = 0;
	int rc = kumo_plat_readlinkat(r.dir, r.name, (char *)p, buf_len, &len);
	wasi_resolved_done(&r);
	if (rc < 0)
		return wasi_err(rc);
	/* A short buffer gets the first buf_len bytes, as wasmtime. */
	return wasi_store_u32(vm, bufused, len < buf_len ? (uint32_t)len : buf_len);
}

u32 KUMO_WASI_SYM(21, path_remove_directory, iii_i)(wvm *vm, u32 fd, u32 path, u32 path_len)
{
	struct wasi_resolved r;
	uint32_t e = resolve_at(vm, fd, WASI_RIGHT_PATH_REMOVE_DIRECTORY, path, path_len, false,
				&r);
	if (e)
		return e;
	e = wasi_err(kumo_plat_unlinkat(r.dir, r.name, true));
	wasi_resolved_done(&r);
	return e;
}

u32 KUMO_WASI_SYM(11, path_rename, iiiiii_i)(wvm *vm, u32 fd, u32 old_path, u32 old_len,
					     u32 new_fd, u32 new_path, u32 new_len)
{
	struct wasi_resolved o, n;
	uint32_t e = resolve_at(vm, fd, WASI_RIGHT_PATH_RENAME_SOURCE, old_path, old_len, false,
				&o);
	if (e)
		return e;
	e = resolve_at(vm, new_fd, WASI_RIGHT_PATH_RENAME_TARGET, new_path, new_len, false, &n);
	if (e) {
		wasi_resolved_done(&o);
		return e;
	}
	if (o.trailing_slash || n.trailing_slash) {
		/* Trailing slashes are only allowed when the source is a directory. */
		struct kumo_plat_stat st;
		int rc = kumo_plat_statat(o.dir, o.name, &st);
		if (rc < 0)
			e = wasi_err(rc);
		else if (st.filetype != WASI_FILETYPE_DIRECTORY)
			e = WASI_ENOTDIR;
	}
	if (!e)
		e = wasi_err(kumo_plat_renameat(o.dir, o.name, n.dir, n.name));
	wasi_resolved_done(&n);
	wasi_resolved_done(&o);
	return e;
}

u32 KUMO_WASI_SYM(12, path_symlink, iiiii_i)(wvm *vm, u32 old_path, u32 old_len, u32 fd,
					     u32 new_path, u32 new_len)
{
	char target[WASI_PATH_MAX + 1];
	struct wasi_resolved r;
	uint32_t e = wasi_path_copy(vm, old_path, old_len, target, sizeof(target));
	if (e)
		return e;
	if (target[0] == '/')
		return WASI_EPERM; /* could never be followed inside the sandbox */
	e = resolve_at(vm, fd, WASI_RIGHT_PATH_SYMLINK, new_path, new_len, false, &r);
	if (e)
		return e;
	if (r.trailing_slash)
		e = trailing_slash_create(&r, false);
	else
		e = wasi_err(kumo_plat_symlinkat(target, r.dir, r.name));
	wasi_resolved_done(&r);
	return e;
}

u32 KUMO_WASI_SYM(16, path_unlink_file, iii_i)(wvm *vm, u32 fd, u32 path, u32 path_len)
{
	struct wasi_resolved r;
	uint32_t e = resolve_at(vm, fd, WASI_RIGHT_PATH_UNLINK_FILE, path, path_len, false, &r);
	if (e)
		return e;
	if (r.trailing_slash) {
		struct kumo_plat_stat st;
		int rc = kumo_plat_statat(r.dir, r.name, &st);
		e = rc < 0 ? wasi_err(rc)
			   : st.filetype == WASI_FILETYPE_DIRECTORY ? WASI_EISDIR : WASI_ENOTDIR;
	} else {
		e = wasi_err(kumo_plat_unlinkat(r.dir, r.name, false));
	}
	wasi_resolved_done(&r);
	return e;
}
