/* kernel/os/ramfs.h - the unikernel's in-memory file system (kernel/os/ramfs.c): the
 * image's files read in place from the initrd, written files copied to the heap. It
 * also implements the file half of kernel/rt/rt_platform.h. */
#ifndef KUMO_RAMFS_H
#define KUMO_RAMFS_H

#include <stddef.h>
#include <stdint.h>

struct kumo_plat_file;

/* Builds the tree from a ustar archive (tar may be NULL: an empty root). The archive
 * must stay in memory: file data is read from it until first written. Returns 0, or -1
 * with a message in err. */
int ramfs_init(const uint8_t *tar, uint64_t size, char *err, size_t errcap);
/* Opens a directory of the tree by absolute path ("/", "/data") for a preopen;
 * 0 or a negative WASI errno. */
int ramfs_open_dir(const char *path, struct kumo_plat_file **out);
/* Opens the directory at relative path rel below directory start (of any kind: a
 * share's too), taking ownership of start; no symlink is followed, ".." is EPERM. */
int ramfs_open_dir_below(struct kumo_plat_file *start, const char *rel,
			 struct kumo_plat_file **out);
/* Mounts a host share (p9fs.h) at absolute path, creating the missing parent
 * directories: from then on every access to that name goes to the share (what the
 * image had there is covered, or replaced when its type differs). A path inside a
 * share mounted before goes to that share (p9fs_mount_at). The root itself cannot be
 * a mount (preopen the share instead). 0 or a negative WASI errno. */
struct p9mount;
int ramfs_mount(const char *path, struct p9mount *m);

/* A console file for fd n (0..2) of pod container cid: reads are empty, writes become
 * STDOUT/STDERR records (kernel/os/podrec.c). The caller frees it (free()) after the
 * WASI state that used it (closing a console is a no-op). NULL when out of memory. */
struct kumo_plat_file *ramfs_record_console(int n, uint32_t cid);

/* File mounts (the boot config's "files", kernel/boot_abi.h), after ramfs_init: each
 * names a regular file of the tree, which from now on cannot be unlinked, renamed or
 * replaced (EBUSY); a read-only one refuses being opened for writing, truncated or
 * touched (EROFS); a copy_back one is remembered with its boot content. Returns 0, or
 * -1 with a message in err (a file that is not in the tree). */
struct kumo_bootfile;
int ramfs_mark_files(const struct kumo_bootfile *files, size_t n, char *err, size_t errcap);
/* At exit: one KUMO-FILE record (kernel/boot_abi.h) on COM3 per copy_back file whose
 * content differs from its boot content and fits in KUMO_FILE_RECORD_MAX. */
void ramfs_report_files(void);

/* Sockets (kernel/os/plat_net.c) are files too: ramfs owns the file object and
 * passes reads, writes, polls, stat and close to the socket. */
struct ksock;
struct kumo_plat_pollfd;
/* A new file for socket s (owned by the file from now on); NULL when out of memory. */
struct kumo_plat_file *ramfs_socket_file(struct ksock *s, uint32_t fdflags);
/* The socket behind f, or NULL when f is not one. */
struct ksock *ramfs_file_socket(struct kumo_plat_file *f);
/* plat_net.c */
/* Opens the boot config's net.listen sockets (bound, TCP ones listening), in order;
 * 0, or -1 with a message in err. */
int net_open_listeners(struct kumo_plat_file ***out, size_t *n, char *err, size_t errcap);
/* Opens one listen spec ("tcp:A.B.C.D:PORT" or "udp:A.B.C.D:PORT"): bound, and
 * listening for tcp. 0, or -1 with a message in err naming the spec ("address in use"
 * when another socket of the pod holds it). */
int net_listen_open(const char *spec, struct kumo_plat_file **out, char *err, size_t errcap);
void ksock_free(struct ksock *s);
uint8_t ksock_filetype(struct ksock *s);
void ksock_poll_state(struct ksock *s, struct kumo_plat_pollfd *p);

#endif /* KUMO_RAMFS_H */
