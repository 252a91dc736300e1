/* kernel/os/plat_net.c - the platform's socket calls (kernel/rt/rt_platform.h) in the
 * unikernel. Until the virtio-net driver and lwIP are wired in, the guest has no
 * network: every call says so with WASI_ENETDOWN. */
#include "kernel/rt/rt_platform.h"

int kumo_plat_sock_open(uint8_t family, uint8_t type, struct kumo_plat_file **out)
{
	(void)family, (void)type, (void)out;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_bind(struct kumo_plat_file *s, const struct kumo_plat_sockaddr *a)
{
	(void)s, (void)a;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_listen(struct kumo_plat_file *s, int backlog)
{
	(void)s, (void)backlog;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_accept(struct kumo_plat_file *s, uint32_t fdflags, struct kumo_plat_file **out)
{
	(void)s, (void)fdflags, (void)out;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_connect(struct kumo_plat_file *s, const struct kumo_plat_sockaddr *a)
{
	(void)s, (void)a;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_recv(struct kumo_plat_file *s, const struct kumo_plat_iov *iov, size_t n,
			uint32_t flags, size_t *done, bool *truncated,
			struct kumo_plat_sockaddr *from)
{
	(void)s, (void)iov, (void)n, (void)flags, (void)done, (void)truncated, (void)from;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_send(struct kumo_plat_file *s, const struct kumo_plat_iov *iov, size_t n,
			const struct kumo_plat_sockaddr *to, size_t *done)
{
	(void)s, (void)iov, (void)n, (void)to, (void)done;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_shutdown(struct kumo_plat_file *s, uint32_t how)
{
	(void)s, (void)how;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_name(struct kumo_plat_file *s, bool peer, struct kumo_plat_sockaddr *a)
{
	(void)s, (void)peer, (void)a;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_getopt(struct kumo_plat_file *s, uint32_t level, uint32_t name, int64_t *val)
{
	(void)s, (void)level, (void)name, (void)val;
	return -WASI_ENETDOWN;
}

int kumo_plat_sock_setopt(struct kumo_plat_file *s, uint32_t level, uint32_t name, int64_t val)
{
	(void)s, (void)level, (void)name, (void)val;
	return -WASI_ENETDOWN;
}

int kumo_plat_resolve(const char *node, const char *service, uint8_t family, uint8_t type,
		      struct kumo_plat_sockaddr *out, size_t cap, size_t *n)
{
	(void)node, (void)service, (void)family, (void)type, (void)out, (void)cap, (void)n;
	return -WASI_ENETDOWN;
}
