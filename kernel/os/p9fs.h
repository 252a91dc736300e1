/* kernel/os/p9fs.h - host directories shared live with the VM over virtio-9p
 * (9P2000.L): mounting a share by its tag, and the platform's file calls
 * (kernel/rt/rt_platform.h) on files of a share, which ramfs.c hands over for every
 * file of kind PF_9P.
 *
 * Nothing is cached in the guest: every open walks the host's current tree, so a
 * file the host replaces (kubelet swapping a ConfigMap's `..data` symlink) is seen at
 * the app's next open. Names given here are single components, never "..", and the
 * host never follows a symlink for us (Twalk does not follow; Tlopen of a symlink
 * fails): kernel/wasi resolves symlinks itself, inside the preopen.
 *
 * A mount is either a whole share (a directory) or one entry of the share's top
 * directory (entry != NULL: usually a single file, "file mounts"; the rest of the
 * share stays invisible to the guest). A read-only mount refuses every change with
 * -WASI_EROFS, whatever the host allows.
 *
 * Calls return 0 or a negative WASI errno.
 */
#ifndef KUMO_P9FS_H
#define KUMO_P9FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel/rt/rt_platform.h"

/* Message size asked of every share (the server may lower it): the most one Tread or
 * Twrite moves. The kernel keeps one request and one reply buffer of this size for
 * all shares (one call at a time). */
#define V9P_MSIZE (128u << 10)

struct p9_transport;
struct p9mount;

/* ---- the virtio-9p devices (virtio_9p.c) ---- */
/* The transport of the device whose mount tag is `tag` (all virtio-9p devices are
 * found and started at the first call); -WASI_ENODEV when none has it. */
int v9p_transport(const char *tag, struct p9_transport **out);
/* "mmio", "mmio (legacy)" or "pci", for the kernel log. */
int v9p_describe(const struct p9_transport *t, char *buf, size_t cap);
/* Requests sent and not yet answered (0 or 1: one call at a time, and it never gives
 * the CPU away, so another thread never sees 1). */
int v9p_in_flight(void);

/* ---- mounts ---- */
/* Attaches the share with mount tag `tag` (one 9P session per tag, shared by its
 * mounts); entry NULL mounts the whole share, else the entry of that name in the
 * share's top directory. Fails (message in err) when no device has the tag, the
 * server does not speak 9P2000.L, or the entry does not exist. */
int p9fs_mount(const char *tag, const char *entry, bool readonly, struct p9mount **out,
	       char *err, size_t errcap);
/* Mounts child at path rel (relative to parent's root, at least one component) inside
 * share mount parent: the name leads to child's root from then on (unlink and rename
 * of it are EBUSY). The host directory should hold the name too (as runc creates
 * mount points), or listings of its directory will not show it. */
int p9fs_mount_at(struct p9mount *parent, const char *rel, struct p9mount *child);
/* WASI_FILETYPE_* of what the mount shows (a directory, or the entry's type). */
uint8_t p9fs_mount_type(const struct p9mount *m);
bool p9fs_mount_readonly(const struct p9mount *m);
/* Opens the mount's root (as kumo_plat_openat would open it under its parent). */
int p9fs_open_mount(struct p9mount *m, uint32_t oflags, uint32_t fdflags, bool read,
		    bool write, struct kumo_plat_file **out);
int p9fs_stat_mount(struct p9mount *m, struct kumo_plat_stat *st);
int p9fs_set_times_mount(struct p9mount *m, uint64_t atim, uint64_t mtim, uint32_t fstflags);
/* The kernel log line of a mount (tag, transport, msize, round trips so far). */
void p9fs_log_mounts(void);

/* ---- around a snapshot of the VM (kernel/pod_abi.h QUIESCE, RESUME) ----
 * QEMU (7.2) refuses to migrate a VM while the guest holds a share attached: it adds a
 * blocker at the first Tattach and drops it only when that attach fid is clunked (or a
 * Tversion resets the session). So before a save every fid goes: p9fs_quiesce clunks
 * each open file's fids and then every share's root, keeping the numbers and what binds
 * them (the file's path from the share's root and its Tlopen flags; the offset is the
 * fd's, in guest memory). Until p9fs_resume any call on a share waits in the calling
 * container's thread (it sees no error, only time) or, on a thread of no container
 * (the supervisor), fails with EAGAIN; a close lets go without a round trip.
 * p9fs_resume starts a new session on every share (Tversion, Tattach with the old root
 * fid: after a restore the server is a new QEMU that knows nothing), walks every open
 * file's fid to its path again and reopens it with its flags (never O_TRUNC again). A
 * file that is not there any more (removed, renamed, the share's directory replaced)
 * is logged and its fd fails with ESTALE; a share that cannot be attached again fails
 * with EIO. A file renamed meanwhile and another created at its path: the new one is
 * opened (9P has no handle that survives the server). */
struct p9fs_snap_stats {
	unsigned shares;      /* shares let go / attached again */
	unsigned files;       /* open files and directories */
	unsigned fids;        /* quiesce: fids clunked */
	unsigned lost;        /* resume: files not there any more (ESTALE) */
	unsigned dead_shares; /* resume: shares not attached again (EIO) */
};
/* 0 (also when already quiesced), or a negative WASI errno with err. */
int p9fs_quiesce(struct p9fs_snap_stats *st, char *err, size_t errcap);
/* 0 (also when not quiesced); failures are per file or share, in st and the log. */
int p9fs_resume(struct p9fs_snap_stats *st, char *err, size_t errcap);
bool p9fs_quiesced(void);
/* While quiesced: the open files whose path from their share's root starts with `from`
 * take `to` there instead (the host staged the same directories under new names for
 * the restored pod); returns how many. */
int p9fs_rename_prefix(const char *from, const char *to);
/* path with its prefix `from` replaced by `to` (malloc'd), NULL when path does not start
 * with from (or memory ran out). */
char *p9fs_path_renamed(const char *path, const char *from, const char *to);

/* ---- the platform's file calls on PF_9P files (same contracts as rt_platform.h) ---- */
int p9fs_openat(struct kumo_plat_file *dir, const char *name, uint32_t oflags, uint32_t fdflags,
		bool read, bool write, struct kumo_plat_file **out);
int p9fs_close(struct kumo_plat_file *f);
/* Vectored I/O at offset off (reads and writes; fdflags APPEND is the caller's). */
int p9fs_io(struct kumo_plat_file *f, const struct kumo_plat_iov *iov, size_t n, uint64_t off,
	    bool writing, size_t *done);
/* The file's size (for seeks from the end and appends). */
int p9fs_size(struct kumo_plat_file *f, uint64_t *size);
int p9fs_fstat(struct kumo_plat_file *f, struct kumo_plat_stat *st);
int p9fs_statat(struct kumo_plat_file *dir, const char *name, struct kumo_plat_stat *st);
int p9fs_truncate(struct kumo_plat_file *f, uint64_t size);
int p9fs_allocate(struct kumo_plat_file *f, uint64_t offset, uint64_t len);
int p9fs_sync(struct kumo_plat_file *f, bool data_only);
int p9fs_set_times(struct kumo_plat_file *f, uint64_t atim, uint64_t mtim, uint32_t fstflags);
int p9fs_set_times_at(struct kumo_plat_file *dir, const char *name, uint64_t atim, uint64_t mtim,
		      uint32_t fstflags);
int p9fs_readdir(struct kumo_plat_file *dir, uint64_t cookie, kumo_plat_dirent_fn emit, void *ctx);
int p9fs_mkdirat(struct kumo_plat_file *dir, const char *name);
int p9fs_unlinkat(struct kumo_plat_file *dir, const char *name, bool is_dir);
/* Both directories must be of one share (else -WASI_EXDEV). */
int p9fs_renameat(struct kumo_plat_file *odir, const char *oname, struct kumo_plat_file *ndir,
		  const char *nname);
int p9fs_linkat(struct kumo_plat_file *odir, const char *oname, struct kumo_plat_file *ndir,
		const char *nname);
int p9fs_symlinkat(const char *target, struct kumo_plat_file *dir, const char *name);
int p9fs_readlinkat(struct kumo_plat_file *dir, const char *name, char *buf, size_t cap,
		    size_t *len);
/* WASI_FILETYPE_* of an open file. */
uint8_t p9fs_filetype(const struct kumo_plat_file *f);

#endif /* KUMO_P9FS_H */
