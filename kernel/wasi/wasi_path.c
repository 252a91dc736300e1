/* kernel/wasi/wasi_path.c - path resolution confined to a directory fd: component by
 * component, symlinks expanded here (never by the platform), absolute paths and
 * escapes through ".." or symlinks refused with WASI_EPERM, as wasmtime does. */
#include "kernel/wasi/wasi_path.h"

#define MAX_DEPTH 128
#define MAX_SYMLINKS 40

static void close_range(struct kumo_plat_file **stack, int from, int to)
{
	for (int i = from; i <= to; i++)
		kumo_plat_close(stack[i]);
}

uint32_t wasi_path_copy(struct kumo_vmctx *vm, uint32_t path, uint32_t len, char *buf,
			size_t cap)
{
	if (len >= cap)
		return WASI_ENAMETOOLONG;
	const uint8_t *p = wasi_mem(vm, path, len);
	if (!p)
		return WASI_EFAULT;
	w_memcpy(buf, p, len);
	buf[len] = 0;
	for (uint32_t i = 0; i < len; i++)
		if (buf[i] == 0)
			return WASI_EINVAL;
	return 0;
}

uint32_t wasi_resolve(struct kumo_vmctx *vm, struct wasi_fd *base, uint32_t path, uint32_t len,
		      bool follow, struct wasi_resolved *r)
{
	char work[2 * WASI_PATH_MAX + 2];
	char target[WASI_PATH_MAX];
	struct kumo_plat_file *stack[MAX_DEPTH];
	int depth = 0, links = 0;
	size_t pos = 0, wlen = len;
	bool trailing = false;
	uint32_t e;

	r->dir = NULL;
	r->owned = NULL;
	r->trailing_slash = false;
	if (base->filetype != WASI_FILETYPE_DIRECTORY)
		return WASI_ENOTDIR;
	e = wasi_path_copy(vm, path, len, work, WASI_PATH_MAX + 1);
	if (e)
		return e;
	if (len == 0)
		return WASI_ENOENT;
	if (work[0] == '/')
		return WASI_EPERM;
	stack[0] = base->file;

	for (;;) {
		while (pos < wlen && work[pos] == '/')
			pos++;
		size_t start = pos;
		while (pos < wlen && work[pos] != '/')
			pos++;
		size_t clen = pos - start, after = pos;
		while (after < wlen && work[after] == '/')
			after++;
		bool last = after == wlen;
		trailing = last && pos < wlen;
		if (clen == 0) {
			/* Only slashes left (a symlink to "dir/"): the directory itself. */
			clen = 1;
			start = 0;
			work[0] = '.';
			last = true;
			trailing = true;
		}
		if (clen >= sizeof(r->name)) {
			e = WASI_ENAMETOOLONG;
			goto out_close;
		}
		w_memcpy(r->name, work + start, clen);
		r->name[clen] = 0;

		if (clen == 1 && r->name[0] == '.') {
			if (last)
				break;
			pos = after;
			continue;
		}
		if (clen == 2 && r->name[0] == '.' && r->name[1] == '.') {
			if (depth == 0) {
				e = WASI_EPERM; /* escapes the directory */
				goto out_close;
			}
			kumo_plat_close(stack[depth--]);
			if (last) {
				r->name[0] = '.';
				r->name[1] = 0;
				break;
			}
			pos = after;
			continue;
		}
		if (last && !follow && !trailing)
			break;

		struct kumo_plat_stat st;
		int rc = kumo_plat_statat(stack[depth], r->name, &st);
		if (rc == 0 && st.filetype == WASI_FILETYPE_SYMBOLIC_LINK) {
			size_t tlen = 0;
			if (++links > MAX_SYMLINKS) {
				e = WASI_ELOOP;
				goto out_close;
			}
			rc = kumo_plat_readlinkat(stack[depth], r->name, target, sizeof(target), &tlen);
			if (rc < 0) {
				e = wasi_err(rc);
				goto out_close;
			}
			if (tlen > sizeof(target) || tlen + (wlen - pos) > sizeof(work) - 1) {
				e = WASI_ENAMETOOLONG;
				goto out_close;
			}
			if (tlen == 0) {
				e = WASI_ENOENT;
				goto out_close;
			}
			if (target[0] == '/') {
				e = WASI_EPERM; /* absolute symlink: outside the directory */
				goto out_close;
			}
			/* The rest of the path now follows the link's target. */
			__builtin_memmove(work + tlen, work + pos, wlen - pos);
			w_memcpy(work, target, tlen);
			wlen = tlen + (wlen - pos);
			pos = 0;
			continue;
		}
		if (last)
			break;
		if (rc < 0) {
			e = wasi_err(rc);
			goto out_close;
		}
		if (st.filetype != WASI_FILETYPE_DIRECTORY) {
			e = WASI_ENOTDIR;
			goto out_close;
		}
		if (depth + 1 >= MAX_DEPTH) {
			e = WASI_ENAMETOOLONG;
			goto out_close;
		}
		struct kumo_plat_file *next;
		rc = kumo_plat_openat(stack[depth], r->name, WASI_OFLAG_DIRECTORY, 0, true, false,
				      &next);
		if (rc < 0) {
			e = wasi_err(rc);
			goto out_close;
		}
		stack[++depth] = next;
		pos = after;
	}
	close_range(stack, 1, depth - 1);
	r->dir = stack[depth];
	r->owned = depth > 0 ? stack[depth] : NULL;
	r->trailing_slash = trailing;
	return 0;
out_close:
	close_range(stack, 1, depth);
	return e;
}

void wasi_resolved_done(struct wasi_resolved *r)
{
	if (r->owned)
		kumo_plat_close(r->owned);
	r->owned = NULL;
	r->dir = NULL;
}
