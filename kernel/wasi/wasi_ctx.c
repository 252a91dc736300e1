/* kernel/wasi/wasi_ctx.c - WASI state, fd table, checked guest memory helpers, the
 * import resolver and the list of functions. */
#include "kernel/kernel.h"
#include "kernel/wasi/wasi_funcs.h"
#include "kernel/wasi/wasi_internal.h"

struct kumo_wasi *wasi_of(struct kumo_vmctx *vm)
{
	return kumo_rt_store_wasi(kumo_rt_instance_store(kumo_rt_vmctx_instance(vm)));
}

uint32_t wasi_store_u32(struct kumo_vmctx *vm, uint32_t ptr, uint32_t v)
{
	uint8_t *p = wasi_mem(vm, ptr, 4);
	if (!p)
		return WASI_EFAULT;
	put_u32(p, v);
	return 0;
}

uint32_t wasi_store_u64(struct kumo_vmctx *vm, uint32_t ptr, uint64_t v)
{
	uint8_t *p = wasi_mem(vm, ptr, 8);
	if (!p)
		return WASI_EFAULT;
	put_u64(p, v);
	return 0;
}

struct wasi_fd *wasi_fd_get(struct kumo_wasi *w, uint32_t fd, uint64_t rights, uint32_t *err)
{
	if (!w || fd >= WASI_MAX_FDS || !w->fds[fd].file) {
		*err = WASI_EBADF;
		return NULL;
	}
	struct wasi_fd *e = &w->fds[fd];
	if ((e->rights_base & rights) != rights) {
		*err = WASI_ENOTCAPABLE;
		return NULL;
	}
	*err = 0;
	return e;
}

uint32_t wasi_fd_install(struct kumo_wasi *w, struct kumo_plat_file *f, uint8_t filetype,
			 uint64_t base, uint64_t inheriting, uint32_t *fd)
{
	for (uint32_t i = 0; i < WASI_MAX_FDS; i++) {
		if (w->fds[i].file)
			continue;
		w->fds[i] = (struct wasi_fd){.file = f, .owned = true, .filetype = filetype,
					     .rights_base = base, .rights_inheriting = inheriting};
		*fd = i;
		return 0;
	}
	return WASI_EMFILE;
}

uint32_t wasi_iovs(struct kumo_vmctx *vm, uint32_t iovs, uint32_t n, struct kumo_plat_iov *out,
		   size_t *nout)
{
	if (n > WASI_MAX_IOV)
		return WASI_EINVAL;
	const uint8_t *a = wasi_mem_array(vm, iovs, n, WASI_IOVEC_SIZE);
	if (!a)
		return WASI_EFAULT;
	uint64_t total = 0;
	size_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t buf = get_u32(a + i * WASI_IOVEC_SIZE);
		uint32_t len = get_u32(a + i * WASI_IOVEC_SIZE + 4);
		uint8_t *p = wasi_mem(vm, buf, len);
		if (!p)
			return WASI_EFAULT;
		total += len;
		if (total > UINT32_MAX)
			return WASI_EINVAL; /* the byte count must fit the u32 result */
		if (len == 0)
			continue;
		out[k].buf = p;
		out[k].len = len;
		k++;
	}
	*nout = k;
	return 0;
}

/* Copies n NUL-terminated strings into one buffer. */
static char *pack_strings(size_t n, const char *const *v, uint32_t *len)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += w_strlen(v[i]) + 1;
	if (total > UINT32_MAX)
		return NULL;
	char *buf = kumo_plat_alloc(total ? total : 1);
	if (!buf)
		return NULL;
	char *p = buf;
	for (size_t i = 0; i < n; i++) {
		size_t l = w_strlen(v[i]) + 1;
		w_memcpy(p, v[i], l);
		p += l;
	}
	*len = (uint32_t)total;
	return buf;
}

struct kumo_wasi *kumo_wasi_new(const struct kumo_wasi_config *cfg)
{
	struct kumo_wasi *w = kumo_plat_alloc(sizeof(*w));
	if (!w)
		return NULL;
	if (cfg->argc > UINT32_MAX / 2 || cfg->envc > UINT32_MAX / 2 ||
	    cfg->npreopens + cfg->nsockets + 3 > WASI_MAX_FDS)
		goto out_free;
	w->argc = (uint32_t)cfg->argc;
	w->envc = (uint32_t)cfg->envc;
	w->argbuf = pack_strings(cfg->argc, cfg->argv, &w->argbuf_len);
	w->envbuf = pack_strings(cfg->envc, cfg->envp, &w->envbuf_len);
	if (!w->argbuf || !w->envbuf)
		goto out_free;
	for (int i = 0; i < 3; i++) {
		struct kumo_plat_file *f = cfg->stdio[i] ? cfg->stdio[i] : kumo_plat_stdio(i);
		if (!f)
			continue;
		struct kumo_plat_stat st = {0};
		kumo_plat_fstat(f, &st);
		uint8_t ft = st.filetype ? st.filetype : WASI_FILETYPE_CHARACTER_DEVICE;
		uint64_t base = ft == WASI_FILETYPE_REGULAR_FILE ? WASI_RIGHTS_FILE_BASE
								 : WASI_RIGHTS_TTY_BASE;
		w->fds[i] = (struct wasi_fd){.file = f, .owned = false, .filetype = ft,
					     .rights_base = base, .rights_inheriting = 0};
	}
	for (size_t i = 0; i < cfg->npreopens; i++) {
		const struct kumo_wasi_preopen *p = &cfg->preopens[i];
		struct wasi_fd *e = &w->fds[3 + i];
		uint32_t len = (uint32_t)w_strlen(p->guest_path);
		e->preopen = kumo_plat_alloc(len + 1);
		if (!e->preopen)
			goto out_free;
		w_memcpy(e->preopen, p->guest_path, len + 1);
		e->preopen_len = len;
		e->file = p->dir;
		e->owned = true;
		e->filetype = WASI_FILETYPE_DIRECTORY;
		e->rights_base = WASI_RIGHTS_DIR_BASE;
		e->rights_inheriting = WASI_RIGHTS_DIR_BASE | WASI_RIGHTS_FILE_BASE;
		if (p->readonly) {
			e->rights_base &= ~WASI_RIGHTS_MODIFY;
			e->rights_inheriting &= ~WASI_RIGHTS_MODIFY;
		}
	}
	for (size_t i = 0; i < cfg->nsockets; i++) {
		struct kumo_plat_stat st = {0};
		kumo_plat_fstat(cfg->sockets[i], &st);
		uint8_t ft = st.filetype == WASI_FILETYPE_SOCKET_DGRAM ? WASI_FILETYPE_SOCKET_DGRAM
								       : WASI_FILETYPE_SOCKET_STREAM;
		w->fds[3 + cfg->npreopens + i] = (struct wasi_fd){
			.file = cfg->sockets[i], .owned = true, .filetype = ft,
			.rights_base = WASI_RIGHTS_SOCK_BASE,
			.rights_inheriting = WASI_RIGHTS_SOCK_BASE, .host_socket = true};
	}
	return w;
out_free:
	kumo_wasi_free(w);
	return NULL;
}

void kumo_wasi_free(struct kumo_wasi *w)
{
	if (!w)
		return;
	for (uint32_t i = 0; i < WASI_MAX_FDS; i++) {
		if (w->fds[i].file && w->fds[i].owned)
			kumo_plat_close(w->fds[i].file);
		kumo_plat_free(w->fds[i].preopen);
	}
	kumo_plat_free(w->argbuf);
	kumo_plat_free(w->envbuf);
	kumo_plat_free(w);
}

/* ---- the function list and the resolver ---- */

/* One list for the builder's import check and for this resolver: kernel/kernel.h. */
#define WASI_FUNC_LIST KUMO_KERNEL_WASI_IMPORTS

/* The length inside each symbol must be the name's: checked at compile time. */
#define CHECK_LEN(len, name, sig) \
	_Static_assert(sizeof(#name) - 1 == (len), "KUMO_WASI_SYM length of " #name);
WASI_FUNC_LIST(CHECK_LEN)
#undef CHECK_LEN

#define ENTRY(len, name, sig) {#name, #sig, (void *)KUMO_WASI_SYM(len, name, sig)},
const struct kumo_wasi_func kumo_wasi_funcs[] = {
	WASI_FUNC_LIST(ENTRY)
	{0, 0, 0},
};
#undef ENTRY

static bool eq(const char *a, size_t alen, const char *z)
{
	size_t zl = w_strlen(z);
	return alen == zl && w_memcmp(a, z, zl) == 0;
}

int kumo_wasi_resolve(void *store, const struct kumo_module *m, uint32_t index,
		      struct kumo_rt_extern *out)
{
	const struct kumo_desc_import *imp = &m->imports[index];
	if (imp->kind != KUMO_EXTERN_FUNC || imp->type >= m->ntypes ||
	    !eq(imp->module, imp->module_len, KUMO_WASI_MODULE))
		return -1;
	const struct kumo_desc_type *t = &m->types[imp->type];
	for (const struct kumo_wasi_func *f = kumo_wasi_funcs; f->name; f++) {
		if (!eq(imp->field, imp->field_len, f->name))
			continue;
		if (!t->sig || w_strlen(t->sig) != w_strlen(f->sig) ||
		    w_memcmp(t->sig, f->sig, w_strlen(f->sig)) != 0)
			continue; /* same name, other signature: maybe another entry's */
		out->kind = KUMO_EXTERN_FUNC;
		out->u.func = kumo_rt_host_func(store, f->code, t->types, t->nparams, t->nresults,
						t->array_call);
		return out->u.func ? 0 : -1;
	}
	return -1;
}
