/* kernel/wasi/wasi_misc.c - args, environ, clocks, poll_oneoff, proc_*, sched_yield,
 * random_get of WASI preview1 (sockets: wasi_sock.c). */
#include "kernel/wasi/wasi_funcs.h"
#include "kernel/wasi/wasi_internal.h"

/* argv/environ: an array of n guest pointers into one buffer of NUL-terminated strings. */
static uint32_t strings_get(struct kumo_vmctx *vm, const char *src, uint32_t n, uint32_t len,
			    uint32_t ptrs, uint32_t buf)
{
	uint8_t *pp = wasi_mem_array(vm, ptrs, n, 4);
	uint8_t *bp = wasi_mem(vm, buf, len);
	if (!pp || !bp)
		return WASI_EFAULT;
	w_memcpy(bp, src, len);
	uint32_t off = 0;
	for (uint32_t i = 0; i < n; i++) {
		put_u32(pp + 4 * i, buf + off);
		off += (uint32_t)w_strlen(src + off) + 1;
	}
	return 0;
}

static uint32_t sizes_get(struct kumo_vmctx *vm, uint32_t n, uint32_t len, uint32_t count_ptr,
			  uint32_t size_ptr)
{
	if (!wasi_mem(vm, count_ptr, 4) || !wasi_mem(vm, size_ptr, 4))
		return WASI_EFAULT;
	wasi_store_u32(vm, count_ptr, n);
	wasi_store_u32(vm, size_ptr, len);
	return 0;
}

u32 KUMO_WASI_SYM(8, args_get, ii_i)(wvm *vm, u32 argv, u32 argv_buf)
{
	struct kumo_wasi *w = wasi_of(vm);
	if (!w)
		return WASI_ENOSYS;
	return strings_get(vm, w->argbuf, w->argc, w->argbuf_len, argv, argv_buf);
}

u32 KUMO_WASI_SYM(14, args_sizes_get, ii_i)(wvm *vm, u32 argc, u32 argv_buf_size)
{
	struct kumo_wasi *w = wasi_of(vm);
	if (!w)
		return WASI_ENOSYS;
	return sizes_get(vm, w->argc, w->argbuf_len, argc, argv_buf_size);
}

u32 KUMO_WASI_SYM(11, environ_get, ii_i)(wvm *vm, u32 environ, u32 environ_buf)
{
	struct kumo_wasi *w = wasi_of(vm);
	if (!w)
		return WASI_ENOSYS;
	return strings_get(vm, w->envbuf, w->envc, w->envbuf_len, environ, environ_buf);
}

u32 KUMO_WASI_SYM(17, environ_sizes_get, ii_i)(wvm *vm, u32 count, u32 buf_size)
{
	struct kumo_wasi *w = wasi_of(vm);
	if (!w)
		return WASI_ENOSYS;
	return sizes_get(vm, w->envc, w->envbuf_len, count, buf_size);
}

u32 KUMO_WASI_SYM(13, clock_res_get, ii_i)(wvm *vm, u32 id, u32 res)
{
	uint64_t ns;
	if (!wasi_mem(vm, res, 8))
		return WASI_EFAULT;
	int rc = kumo_plat_clock_res(id, &ns);
	if (rc < 0)
		return wasi_err(rc);
	return wasi_store_u64(vm, res, ns);
}

u32 KUMO_WASI_SYM(14, clock_time_get, ili_i)(wvm *vm, u32 id, u64 precision, u32 time)
{
	uint64_t ns;
	(void)precision;
	if (!wasi_mem(vm, time, 8))
		return WASI_EFAULT;
	int rc = kumo_plat_clock_now(id, &ns);
	if (rc < 0)
		return wasi_err(rc);
	return wasi_store_u64(vm, time, ns);
}

#define MAX_POLL_STACK 64    /* subscriptions handled without allocating */
#define MAX_POLL_SUBS 4096

struct poll_sub {
	uint64_t userdata;
	uint8_t type;
	uint16_t error;      /* set when the subscription fails at once */
	uint64_t timeout;    /* clock: relative ns */
	int fd_index;        /* fd: index into the pollfd array, or -1 */
};

static void put_event(uint8_t *p, uint64_t userdata, uint16_t error, uint8_t type,
		      uint64_t nbytes, uint16_t flags)
{
	w_memset(p, 0, WASI_EVENT_SIZE);
	put_u64(p, userdata);
	put_u16(p + 8, error);
	p[10] = type;
	put_u64(p + 16, nbytes);
	put_u16(p + 24, flags);
}

static uint32_t poll_subs(struct kumo_vmctx *vm, const uint8_t *ip, uint8_t *op, uint32_t nsubs,
			  uint32_t nevents, struct poll_sub *subs, struct kumo_plat_pollfd *fds);

u32 KUMO_WASI_SYM(11, poll_oneoff, iiii_i)(wvm *vm, u32 in, u32 out, u32 nsubs, u32 nevents)
{
	if (nsubs == 0)
		return WASI_EINVAL;
	if (nsubs > MAX_POLL_SUBS)
		return WASI_ENOTSUP;
	const uint8_t *ip = wasi_mem_array(vm, in, nsubs, WASI_SUBSCRIPTION_SIZE);
	uint8_t *op = wasi_mem_array(vm, out, nsubs, WASI_EVENT_SIZE);
	if (!ip || !op || !wasi_mem(vm, nevents, 4))
		return WASI_EFAULT;
	if (nsubs <= MAX_POLL_STACK) {
		struct poll_sub subs[MAX_POLL_STACK];
		struct kumo_plat_pollfd fds[MAX_POLL_STACK];
		return poll_subs(vm, ip, op, nsubs, nevents, subs, fds);
	}
	/* Many subscriptions (a server polling hundreds of connections): off the stack. */
	struct poll_sub *subs = kumo_plat_alloc(nsubs * sizeof(*subs));
	struct kumo_plat_pollfd *fds = kumo_plat_alloc(nsubs * sizeof(*fds));
	uint32_t e = subs && fds ? poll_subs(vm, ip, op, nsubs, nevents, subs, fds) : WASI_ENOMEM;
	kumo_plat_free(subs);
	kumo_plat_free(fds);
	return e;
}

static uint32_t poll_subs(struct kumo_vmctx *vm, const uint8_t *ip, uint8_t *op, uint32_t nsubs,
			  uint32_t nevents, struct poll_sub *subs, struct kumo_plat_pollfd *fds)
{
	struct kumo_wasi *w = wasi_of(vm);
	size_t nfds = 0;
	bool immediate = false, have_clock = false;
	uint64_t min_timeout = UINT64_MAX;
	for (uint32_t i = 0; i < nsubs; i++) {
		const uint8_t *s = ip + i * WASI_SUBSCRIPTION_SIZE;
		struct poll_sub *ps = &subs[i];
		ps->userdata = get_u64(s);
		ps->type = s[8];
		ps->error = 0;
		ps->fd_index = -1;
		ps->timeout = 0;
		if (ps->type == WASI_EVENTTYPE_CLOCK) {
			uint32_t id = get_u32(s + 16);
			uint64_t timeout = get_u64(s + 24);
			uint16_t flags = get_u16(s + 40);
			uint64_t now;
			if (kumo_plat_clock_now(id, &now) < 0) {
				ps->error = WASI_EINVAL;
				immediate = true;
				continue;
			}
			if (flags & WASI_SUBCLOCK_ABSTIME)
				timeout = timeout > now ? timeout - now : 0;
			ps->timeout = timeout;
			have_clock = true;
			if (timeout < min_timeout)
				min_timeout = timeout;
		} else if (ps->type == WASI_EVENTTYPE_FD_READ || ps->type == WASI_EVENTTYPE_FD_WRITE) {
			uint32_t e;
			bool wr = ps->type == WASI_EVENTTYPE_FD_WRITE;
			struct wasi_fd *f = wasi_fd_get(w, get_u32(s + 16), 0, &e);
			if (!f) {
				ps->error = (uint16_t)e;
				immediate = true;
				continue;
			}
			ps->fd_index = (int)nfds;
			fds[nfds] = (struct kumo_plat_pollfd){.f = f->file, .write = wr};
			nfds++;
		} else {
			ps->error = WASI_EINVAL;
			immediate = true;
		}
	}

	uint64_t start = 0, now = 0;
	kumo_plat_clock_now(WASI_CLOCK_MONOTONIC, &start);
	uint32_t n = 0;
	for (;;) {
		int64_t wait = -1;
		if (immediate)
			wait = 0;
		else if (have_clock) {
			kumo_plat_clock_now(WASI_CLOCK_MONOTONIC, &now);
			uint64_t elapsed = now - start;
			wait = min_timeout > elapsed ? (int64_t)(min_timeout - elapsed) : 0;
			if (wait < 0)
				wait = INT64_MAX;
		}
		int rc = kumo_plat_poll(fds, nfds, wait);
		if (rc < 0)
			return wasi_err(rc);
		kumo_plat_clock_now(WASI_CLOCK_MONOTONIC, &now);
		for (uint32_t i = 0; i < nsubs; i++) {
			struct poll_sub *ps = &subs[i];
			uint8_t *ev = op + n * WASI_EVENT_SIZE;
			if (ps->error) {
				put_event(ev, ps->userdata, ps->error, ps->type, 0, 0);
				n++;
			} else if (ps->type == WASI_EVENTTYPE_CLOCK) {
				if (now - start >= ps->timeout) {
					put_event(ev, ps->userdata, 0, ps->type, 0, 0);
					n++;
				}
			} else if (ps->fd_index >= 0) {
				struct kumo_plat_pollfd *pf = &fds[ps->fd_index];
				if (pf->ready) {
					put_event(ev, ps->userdata, pf->error, ps->type, pf->nbytes,
						  pf->hangup ? WASI_EVENT_FD_READWRITE_HANGUP : 0);
					n++;
				}
			}
		}
		if (n)
			break;
	}
	return wasi_store_u32(vm, nevents, n);
}

void KUMO_WASI_SYM(9, proc_exit, i_)(wvm *vm, u32 code)
{
	kumo_rt_exit(vm, code);
}

u32 KUMO_WASI_SYM(10, proc_raise, i_i)(wvm *vm, u32 sig)
{
	(void)vm;
	return wasi_err(kumo_plat_raise(sig));
}

u32 KUMO_WASI_SYM(11, sched_yield, _i)(wvm *vm)
{
	(void)vm;
	kumo_plat_yield();
	return 0;
}

u32 KUMO_WASI_SYM(10, random_get, ii_i)(wvm *vm, u32 buf, u32 buf_len)
{
	uint8_t *p = wasi_mem(vm, buf, buf_len);
	if (!p)
		return WASI_EFAULT;
	return wasi_err(kumo_plat_random(p, buf_len));
}
