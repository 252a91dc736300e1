/* kernel/wasi/wasi_internal.h - private to kernel/wasi: the state, the fd table, and
 * the one checked accessor for guest memory. */
#ifndef KUMO_WASI_INTERNAL_H
#define KUMO_WASI_INTERNAL_H

#include "kernel/wasi/wasi.h"

#define w_memcpy __builtin_memcpy
#define w_memset __builtin_memset
#define w_memcmp __builtin_memcmp
#define w_strlen __builtin_strlen

#define WASI_MAX_FDS 1024
#define WASI_PATH_MAX 4096

/* Rights a directory fd can have, and a regular file fd. */
#define WASI_RIGHTS_DIR_BASE                                                               \
	(WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_ADVISE |        \
	 WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |                    \
	 WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET | WASI_RIGHT_PATH_OPEN |   \
	 WASI_RIGHT_FD_READDIR | WASI_RIGHT_PATH_READLINK | WASI_RIGHT_PATH_RENAME_SOURCE |  \
	 WASI_RIGHT_PATH_RENAME_TARGET | WASI_RIGHT_PATH_FILESTAT_GET |                      \
	 WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES |            \
	 WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_TIMES |                     \
	 WASI_RIGHT_PATH_SYMLINK | WASI_RIGHT_PATH_REMOVE_DIRECTORY |                        \
	 WASI_RIGHT_PATH_UNLINK_FILE | WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_FILE_BASE                                                              \
	(WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK |                  \
	 WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_TELL |           \
	 WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ADVISE | WASI_RIGHT_FD_ALLOCATE |                \
	 WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_SIZE |                       \
	 WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_TTY_BASE                                                               \
	(WASI_RIGHT_FD_READ | WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_WRITE |          \
	 WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE)

#define WASI_RIGHTS_SOCK_BASE                                                              \
	(WASI_RIGHT_FD_READ | WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_WRITE |          \
	 WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE | WASI_RIGHT_SOCK_SHUTDOWN | \
	 WASI_RIGHT_SOCK_ACCEPT)

/* Rights that change the file system: what a read-only preopen (and everything opened
 * under it) never has. */
#define WASI_RIGHTS_MODIFY                                                                 \
	(WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ALLOCATE |             \
	 WASI_RIGHT_FD_FILESTAT_SET_SIZE | WASI_RIGHT_FD_FILESTAT_SET_TIMES |                \
	 WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |                    \
	 WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET |                         \
	 WASI_RIGHT_PATH_RENAME_SOURCE | WASI_RIGHT_PATH_RENAME_TARGET |                     \
	 WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES |            \
	 WASI_RIGHT_PATH_SYMLINK | WASI_RIGHT_PATH_REMOVE_DIRECTORY |                        \
	 WASI_RIGHT_PATH_UNLINK_FILE)

struct wasi_fd {
	struct kumo_plat_file *file; /* NULL: free slot */
	bool owned;                  /* close the platform file with the fd */
	uint8_t filetype;            /* WASI_FILETYPE_* at open time */
	uint64_t rights_base;
	uint64_t rights_inheriting;
	char *preopen;               /* guest name of a preopened directory, else NULL */
	uint32_t preopen_len;
	bool host_socket;            /* a socket the host opened before _start (LISTEN_FDS):
				      * an app binding its port is handed it (sock_bind) */
};

struct kumo_wasi {
	char *argbuf;                /* argv strings, NUL-separated */
	uint32_t argc, argbuf_len;
	char *envbuf;                /* "K=V" strings, NUL-separated */
	uint32_t envc, envbuf_len;
	struct wasi_fd fds[WASI_MAX_FDS];
};

/* The WASI state of the calling instance (NULL when none was set). */
struct kumo_wasi *wasi_of(struct kumo_vmctx *vm);

/* THE check for a guest range: a host pointer to [ptr, ptr+len) inside the caller's
 * linear memory, or NULL (-> WASI_EFAULT) when any byte of it is outside. */
static inline uint8_t *wasi_mem(struct kumo_vmctx *vm, uint32_t ptr, uint64_t len)
{
	const struct kumo_memory *m = vm->memory;
	if (!m || len > m->bytes || ptr > m->bytes - len)
		return NULL;
	return m->base + ptr;
}

/* Same for count elements of size bytes (no overflow: count < 2^32, size small). */
static inline uint8_t *wasi_mem_array(struct kumo_vmctx *vm, uint32_t ptr, uint32_t count,
				      uint32_t size)
{
	return wasi_mem(vm, ptr, (uint64_t)count * size);
}

static inline void put_u16(uint8_t *p, uint16_t v) { w_memcpy(p, &v, 2); }
static inline void put_u32(uint8_t *p, uint32_t v) { w_memcpy(p, &v, 4); }
static inline void put_u64(uint8_t *p, uint64_t v) { w_memcpy(p, &v, 8); }
static inline uint16_t get_u16(const uint8_t *p) { uint16_t v; w_memcpy(&v, p, 2); return v; }
static inline uint32_t get_u32(const uint8_t *p) { uint32_t v; w_memcpy(&v, p, 4); return v; }
static inline uint64_t get_u64(const uint8_t *p) { uint64_t v; w_memcpy(&v, p, 8); return v; }

/* Stores a u32/u64 result at a guest address: 0 or WASI_EFAULT. */
uint32_t wasi_store_u32(struct kumo_vmctx *vm, uint32_t ptr, uint32_t v);
uint32_t wasi_store_u64(struct kumo_vmctx *vm, uint32_t ptr, uint64_t v);

/* The fd entry for fd when open and holding all of `rights`; else NULL with *err =
 * WASI_EBADF (not open) or WASI_ENOTCAPABLE (missing a right). */
struct wasi_fd *wasi_fd_get(struct kumo_wasi *w, uint32_t fd, uint64_t rights, uint32_t *err);
/* Installs a platform file at the lowest free fd; WASI_EMFILE when full. */
uint32_t wasi_fd_install(struct kumo_wasi *w, struct kumo_plat_file *f, uint8_t filetype,
			 uint64_t base, uint64_t inheriting, uint32_t *fd);

/* Guest iovec array -> host iovecs (at most WASI_MAX_IOV). 0 or an errno. */
#define WASI_MAX_IOV 1024
uint32_t wasi_iovs(struct kumo_vmctx *vm, uint32_t iovs, uint32_t n,
		   struct kumo_plat_iov *out, size_t *nout);

/* Negative platform result -> WASI errno (as the functions' uint32_t result). */
static inline uint32_t wasi_err(int rc)
{
	return rc < 0 ? (uint32_t)-rc : 0;
}

/* ---- socket argument marshalling (kernel/wasi/wasi_sock.c; pure) ---- */

/* A WasmEdge address buffer of len bytes (4: IPv4, 16: IPv6, 128: family u16 + address)
 * and a port (must fit 16 bits) -> *a. 0, WASI_EINVAL or WASI_EAFNOSUPPORT. */
uint32_t wasi_sockaddr_decode(const uint8_t *buf, uint32_t len, uint32_t port,
			      struct kumo_plat_sockaddr *a);
/* *a -> a WasmEdge address buffer of len bytes (4, 16 or 128). 0 or WASI_EINVAL. */
uint32_t wasi_sockaddr_encode(const struct kumo_plat_sockaddr *a, uint8_t *buf, uint32_t len);
/* *a -> getaddrinfo's sa_data (port big-endian, then the address as in a Linux
 * sockaddr_in/in6) into out[cap]; *len = bytes written (14 or 26). */
uint32_t wasi_sa_data_encode(const struct kumo_plat_sockaddr *a, uint8_t *out, uint32_t cap,
			     uint32_t *len);
/* A sock_setsockopt value of size bytes for option name (WE_SO_*) -> *val. */
uint32_t wasi_sockopt_decode(uint32_t name, const uint8_t *p, uint32_t size, int64_t *val);

#endif /* KUMO_WASI_INTERNAL_H */
