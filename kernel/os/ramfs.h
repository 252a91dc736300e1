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

#endif /* KUMO_RAMFS_H */
