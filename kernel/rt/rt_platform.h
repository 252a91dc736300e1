/* kernel/rt/rt_platform.h - the one platform interface below kernel/rt and
 * kernel/wasi: what the unikernel (kernel/os, over its page allocator, timer and
 * ramfs) and the hosted runner (kernel/hosted, over POSIX) each implement.
 *
 * Conventions: functions returning int return 0 or a negative WASI errno
 * (-WASI_E*, kernel/wasi/wasi_abi.h), never a host errno. Nothing here may call back
 * into the runtime except kumo_plat_unwind's target (kumo_plat_guarded_call).
 */
#ifndef KUMO_RT_PLATFORM_H
#define KUMO_RT_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/wasi/wasi_abi.h"

struct kumo_rt_outcome;

/* ---- heap ---- */
void *kumo_plat_alloc(size_t n);  /* zeroed; NULL on failure */
void kumo_plat_free(void *p);     /* accepts NULL */

/* ---- linear memory ---- */
/* Reserves `bytes` of address space, all inaccessible, at an address that never
 * changes; NULL when it cannot. An access fault inside the reservation during a
 * guarded call becomes KUMO_TRAP_MEMORY_OOB. */
void *kumo_plat_mem_reserve(uint64_t bytes);
/* Makes [base+from, base+to) readable, writable and zero; 0 or -WASI_ENOMEM. */
int kumo_plat_mem_commit(void *base, uint64_t from, uint64_t to);
/* Releases a whole reservation. */
void kumo_plat_mem_release(void *base, uint64_t bytes);

/* ---- calls, traps, stack ---- */
/* Lowest safe frame address for generated code on the current thread (the real end
 * of the stack plus KUMO_STACK_HEADROOM_BYTES). */
uintptr_t kumo_plat_stack_limit(void);
/* Runs fn(arg). Returns 0 when it returned; otherwise -1 with out->kind/code set from
 * the kumo_plat_unwind() (or hardware fault: guard-region access, stack overflow)
 * that ended it. Nests. */
int kumo_plat_guarded_call(void (*fn)(void *), void *arg, struct kumo_rt_outcome *out);
/* Unwinds to the innermost kumo_plat_guarded_call with kind (KUMO_RT_TRAP or
 * KUMO_RT_EXIT) and code. Outside any guarded call the platform reports and stops. */
__attribute__((noreturn)) void kumo_plat_unwind(uint32_t kind, uint32_t code);

/* ---- clocks, random, scheduling ---- */
/* WASI clock ids; -WASI_EINVAL for an unknown or unsupported clock. */
int kumo_plat_clock_res(uint32_t clock_id, uint64_t *ns);
int kumo_plat_clock_now(uint32_t clock_id, uint64_t *ns);
int kumo_plat_random(void *buf, size_t len);
void kumo_plat_yield(void);
/* proc_raise: the platform's answer to a signal request (hosted: -WASI_ENOSYS). */
int kumo_plat_raise(uint32_t sig);

/* ---- files ----
 * A kumo_plat_file is an open file or directory of the platform. Names passed to the
 * *_at calls are ONE path component (no '/', never ".."; "." allowed), NUL-terminated;
 * the platform never follows a symlink in them: kernel/wasi resolves paths and
 * symlinks itself, so nothing escapes a preopened directory. */
struct kumo_plat_file;

struct kumo_plat_stat {
	uint64_t dev;       /* device id */
	uint64_t ino;       /* inode number */
	uint8_t filetype;   /* WASI_FILETYPE_* */
	uint64_t nlink;     /* hard links */
	uint64_t size;      /* bytes */
	uint64_t atim, mtim, ctim; /* ns since the epoch */
};

/* A host buffer for vectored I/O (already checked against guest memory). */
struct kumo_plat_iov {
	void *buf;
	size_t len;
};

/* Standard streams 0..2 (NULL when the platform has none). Not owned. */
struct kumo_plat_file *kumo_plat_stdio(int n);

/* Opens `name` under dir. oflags WASI_OFLAG_*, fdflags WASI_FDFLAG_*; read/write
 * select the access mode (a directory always opens read-only); a final symlink is not
 * followed (-WASI_ELOOP, or -WASI_ENOTDIR with WASI_OFLAG_DIRECTORY). */
int kumo_plat_openat(struct kumo_plat_file *dir, const char *name, uint32_t oflags,
		     uint32_t fdflags, bool read, bool write, struct kumo_plat_file **out);
/* Closes (stdio handles: a no-op). */
int kumo_plat_close(struct kumo_plat_file *f);
int kumo_plat_readv(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		    size_t *done);
int kumo_plat_writev(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     size_t *done);
int kumo_plat_preadv(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		     uint64_t offset, size_t *done);
int kumo_plat_pwritev(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n,
		      uint64_t offset, size_t *done);
/* whence WASI_WHENCE_*; *pos receives the new offset. */
int kumo_plat_seek(struct kumo_plat_file *f, int64_t offset, uint32_t whence, uint64_t *pos);
int kumo_plat_fstat(struct kumo_plat_file *f, struct kumo_plat_stat *st);
/* Stat of `name` under dir, not following a final symlink. */
int kumo_plat_statat(struct kumo_plat_file *dir, const char *name, struct kumo_plat_stat *st);
/* Current WASI_FDFLAG_* of an open file; set_flags changes APPEND and NONBLOCK. */
int kumo_plat_get_flags(struct kumo_plat_file *f, uint32_t *fdflags);
int kumo_plat_set_flags(struct kumo_plat_file *f, uint32_t fdflags);
int kumo_plat_truncate(struct kumo_plat_file *f, uint64_t size);
int kumo_plat_allocate(struct kumo_plat_file *f, uint64_t offset, uint64_t len);
int kumo_plat_advise(struct kumo_plat_file *f, uint64_t offset, uint64_t len, uint32_t advice);
int kumo_plat_sync(struct kumo_plat_file *f, bool data_only);
/* Times: fstflags WASI_FSTFLAG_* as given by the guest (already validated). */
int kumo_plat_set_times(struct kumo_plat_file *f, uint64_t atim, uint64_t mtim,
			uint32_t fstflags);
int kumo_plat_set_times_at(struct kumo_plat_file *dir, const char *name, uint64_t atim,
			   uint64_t mtim, uint32_t fstflags);
/* Reads directory entries from `cookie` (0 = start) and calls emit() for each, in a
 * stable order, until it returns nonzero or the directory ends. next_cookie resumes
 * after that entry. */
typedef int (*kumo_plat_dirent_fn)(void *ctx, uint64_t next_cookie, uint64_t ino,
				   uint8_t filetype, const char *name, size_t namelen);
int kumo_plat_readdir(struct kumo_plat_file *dir, uint64_t cookie, kumo_plat_dirent_fn emit,
		      void *ctx);
int kumo_plat_mkdirat(struct kumo_plat_file *dir, const char *name);
/* Removes a directory (is_dir) or a non-directory entry. */
int kumo_plat_unlinkat(struct kumo_plat_file *dir, const char *name, bool is_dir);
int kumo_plat_renameat(struct kumo_plat_file *odir, const char *oname,
		       struct kumo_plat_file *ndir, const char *nname);
/* Hard link (never following a symlink source). */
int kumo_plat_linkat(struct kumo_plat_file *odir, const char *oname,
		     struct kumo_plat_file *ndir, const char *nname);
int kumo_plat_symlinkat(const char *target, struct kumo_plat_file *dir, const char *name);
/* Reads a symlink's target into buf (not NUL-terminated); *len = its length, which
 * may exceed cap (then buf holds the first cap bytes). */
int kumo_plat_readlinkat(struct kumo_plat_file *dir, const char *name, char *buf, size_t cap,
			 size_t *len);
/* Waits until one of fds is ready or timeout_ns passes (timeout_ns < 0: no timeout;
 * n may be 0: a plain sleep). Fills ready/hangup/nbytes/error of each entry. */
struct kumo_plat_pollfd {
	struct kumo_plat_file *f; /* IN */
	bool write;               /* IN: wait for writability instead of readability */
	bool ready;               /* OUT */
	bool hangup;              /* OUT: the peer closed */
	uint16_t error;           /* OUT: WASI errno for this entry, or 0 */
	uint64_t nbytes;          /* OUT: bytes available (reads) when known, else 0 */
};
int kumo_plat_poll(struct kumo_plat_pollfd *fds, size_t n, int64_t timeout_ns);

/* ---- sockets ----
 * A socket is a kumo_plat_file too: kumo_plat_readv/writev/poll/close/get_flags/
 * set_flags/fstat (filetype WASI_FILETYPE_SOCKET_STREAM or _DGRAM) work on it.
 * The unikernel implements these over lwIP, the hosted runner over POSIX sockets.
 * Blocking calls block unless the socket has WASI_FDFLAG_NONBLOCK (-WASI_EAGAIN). */
#define KUMO_PLAT_AF_INET 4
#define KUMO_PLAT_AF_INET6 6
#define KUMO_PLAT_SOCK_DGRAM 1  /* kumo's own values: kernel/wasi maps the guest ABI's */
#define KUMO_PLAT_SOCK_STREAM 2

struct kumo_plat_sockaddr {
	uint8_t family;   /* KUMO_PLAT_AF_INET or KUMO_PLAT_AF_INET6 */
	uint16_t port;    /* host byte order */
	uint8_t addr[16]; /* network byte order; INET uses addr[0..3] */
};

/* A new unbound socket (type KUMO_PLAT_SOCK_*); -WASI_EAFNOSUPPORT/-WASI_ENOTSUP
 * for what the platform lacks, -WASI_ENETDOWN when the guest has no network. */
int kumo_plat_sock_open(uint8_t family, uint8_t type, struct kumo_plat_file **out);
int kumo_plat_sock_bind(struct kumo_plat_file *s, const struct kumo_plat_sockaddr *a);
int kumo_plat_sock_listen(struct kumo_plat_file *s, int backlog);
/* Accepts one connection; fdflags (WASI_FDFLAG_NONBLOCK) apply to the new socket. */
int kumo_plat_sock_accept(struct kumo_plat_file *s, uint32_t fdflags, struct kumo_plat_file **out);
/* Connects (blocking, or -WASI_EINPROGRESS on a nonblocking socket). */
int kumo_plat_sock_connect(struct kumo_plat_file *s, const struct kumo_plat_sockaddr *a);
/* Receives into iov. flags: WASI_RIFLAG_RECV_PEEK, WASI_RIFLAG_RECV_WAITALL.
 * *truncated: a datagram was longer than iov. from: the sender (may be NULL).
 * *done == 0 with 0 returned: end of stream. */
int kumo_plat_sock_recv(struct kumo_plat_file *s, const struct kumo_plat_iov *iov, size_t n,
			uint32_t flags, size_t *done, bool *truncated,
			struct kumo_plat_sockaddr *from);
/* Sends iov (to: destination of a datagram, NULL for connected sockets). */
int kumo_plat_sock_send(struct kumo_plat_file *s, const struct kumo_plat_iov *iov, size_t n,
			const struct kumo_plat_sockaddr *to, size_t *done);
/* how: WASI_SDFLAG_RD | WASI_SDFLAG_WR. */
int kumo_plat_sock_shutdown(struct kumo_plat_file *s, uint32_t how);
/* The local (peer = false) or remote address. */
int kumo_plat_sock_name(struct kumo_plat_file *s, bool peer, struct kumo_plat_sockaddr *a);
/* Socket options named by WasmEdge's sock_opt_level / sock_opt_so enums (level 0 =
 * SOL_SOCKET); the value is an int (timeouts: microseconds). -WASI_ENOPROTOOPT for an
 * option the platform does not support. */
int kumo_plat_sock_getopt(struct kumo_plat_file *s, uint32_t level, uint32_t name, int64_t *val);
int kumo_plat_sock_setopt(struct kumo_plat_file *s, uint32_t level, uint32_t name, int64_t val);
/* Resolves node (a name or numeric address; NULL/"" = any) and service (a port number
 * or NULL) into at most cap addresses of family (0 = any) for sockets of type (0 = any):
 * the unikernel asks the DNS servers of its boot config through lwIP's resolver.
 * -WASI_ENOENT when the name does not exist. */
int kumo_plat_resolve(const char *node, const char *service, uint8_t family, uint8_t type,
		      struct kumo_plat_sockaddr *out, size_t cap, size_t *n);

#endif /* KUMO_RT_PLATFORM_H */
