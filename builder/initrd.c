/* builder/initrd.c - the initrd a kumo VM boots with: header, boot config, rootfs
 * archive (layout: kernel/boot_abi.h). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "builder/boot_config.h"
#include "kernel/boot_abi.h"

/* Appends the tree under dir to the archive w, names relative to dir under prefix (dir
 * may be a file: one entry named prefix). */
static int pack_dir(struct archive *w, const char *dir, const char *prefix, kumo_error_t *err)
{
	int ret = -1;
	struct archive *disk = archive_read_disk_new();
	archive_read_disk_set_standard_lookup(disk);
	/* The mount's own path is followed (a hostPath or subPath may be a symlink, and
	 * a file mount is one entry named `prefix`); symlinks inside stay symlinks, as
	 * kubelet's `..data` layout of ConfigMap and Secret volumes needs. */
	archive_read_disk_set_symlink_hybrid(disk);
	while (*prefix == '/')
		prefix++;
	/* Parent directories of the prefix ("data" for "data/x"). */
	for (const char *slash = strchr(prefix, '/'); slash; slash = strchr(slash + 1, '/')) {
		struct archive_entry *pe = archive_entry_new();
		autofree char *parent = xstrndup(prefix, (size_t)(slash - prefix));
		archive_entry_set_pathname(pe, parent);
		archive_entry_set_filetype(pe, AE_IFDIR);
		archive_entry_set_perm(pe, 0755);
		int r = archive_write_header(w, pe);
		archive_entry_free(pe);
		if (r != ARCHIVE_OK)
			goto fail_write;
	}
	if (archive_read_disk_open(disk, dir) != ARCHIVE_OK) {
		kumo_error(err, KUMO_E_NOT_FOUND, "rootfs `%s`: %s", dir, archive_error_string(disk));
		goto out;
	}
	size_t dl = strlen(dir);
	for (;;) {
		struct archive_entry *e = archive_entry_new();
		int r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (r != ARCHIVE_OK) {
			kumo_error(err, KUMO_E_IO, "rootfs `%s`: %s", dir, archive_error_string(disk));
			archive_entry_free(e);
			goto out;
		}
		archive_read_disk_descend(disk);
		const char *rel = archive_entry_pathname(e);
		if (strncmp(rel, dir, dl) == 0)
			rel += dl;
		while (*rel == '/')
			rel++;
		if (*rel == 0 && *prefix == 0) { /* the root itself */
			archive_entry_free(e);
			continue;
		}
		autofree char *name = *prefix == 0 ? xstrdup(rel)
				    : *rel == 0   ? xstrdup(prefix)
						  : xasprintf("%s/%s", prefix, rel);
		archive_entry_set_pathname(e, name);
		if (archive_write_header(w, e) != ARCHIVE_OK) {
			archive_entry_free(e);
			goto fail_write;
		}
		if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
			autoclose int in = open(archive_entry_sourcepath(e), O_RDONLY | O_CLOEXEC);
			if (in < 0) {
				kumo_error_errno(err, errno, "rootfs: open `%s`",
						 archive_entry_sourcepath(e));
				archive_entry_free(e);
				goto out;
			}
			char chunk[65536];
			ssize_t n;
			while ((n = read(in, chunk, sizeof(chunk))) > 0)
				if (archive_write_data(w, chunk, (size_t)n) != n) {
					archive_entry_free(e);
					goto fail_write;
				}
		}
		archive_entry_free(e);
	}
	ret = 0;
	goto out;
fail_write:
	kumo_error(err, KUMO_E_IO, "rootfs `%s`: %s", dir, archive_error_string(w));
out:
	archive_read_free(disk);
	return ret;
}

/* Writes the directories as one ustar archive on fd. */
static int pack_rootfs(const struct rootfs_dir *dirs, size_t ndirs, int fd,
		       kumo_error_t *err)
{
	struct archive *w = archive_write_new();
	archive_write_set_format_ustar(w);
	archive_write_set_bytes_in_last_block(w, 1);
	int r = archive_write_open_fd(w, fd) == ARCHIVE_OK ? 0 : -1;
	for (size_t i = 0; r == 0 && i < ndirs; i++)
		r = pack_dir(w, dirs[i].host, dirs[i].prefix ? dirs[i].prefix : "", err);
	if (r == 0 && archive_write_close(w) != ARCHIVE_OK)
		r = -1;
	if (r < 0 && (!err || !*err))
		kumo_error(err, KUMO_E_IO, "rootfs: %s", archive_error_string(w));
	archive_write_free(w);
	return r;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static int write_initrd_fd(int fd, const char *json, const struct rootfs_dir *dirs,
			   size_t ndirs, kumo_error_t *err)
{
	size_t json_len = strlen(json);
	if (json_len > KUMO_BOOT_CONFIG_MAX)
		return kumo_error(err, KUMO_E_INVALID,
				  "boot config is %zu bytes, more than the %u the kernel accepts "
				  "(too many or too long args and environment variables)",
				  json_len, KUMO_BOOT_CONFIG_MAX);
	struct kumo_initrd_header h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, KUMO_INITRD_MAGIC, sizeof(h.magic));
	h.version = KUMO_BOOT_ABI_VERSION;
	h.header_size = sizeof(h);
	h.config_offset = align8(sizeof(h));
	h.config_size = json_len;
	h.rootfs_offset = align8(h.config_offset + json_len);
	if (pwrite(fd, json, json_len, (off_t)h.config_offset) != (ssize_t)json_len)
		return kumo_error_errno(err, errno, "write initrd");
	if (ndirs) {
		if (lseek(fd, (off_t)h.rootfs_offset, SEEK_SET) < 0)
			return kumo_error_errno(err, errno, "write initrd");
		if (pack_rootfs(dirs, ndirs, fd, err) < 0)
			return -1;
		off_t end = lseek(fd, 0, SEEK_END);
		if (end < 0)
			return kumo_error_errno(err, errno, "write initrd");
		h.rootfs_size = (uint64_t)end - h.rootfs_offset;
	} else if (ftruncate(fd, (off_t)h.rootfs_offset) < 0) {
		/* An empty rootfs still starts inside the file. */
		return kumo_error_errno(err, errno, "write initrd");
	}
	/* No fsync: an initrd serves the VM made from it, which a host crash ends too;
	 * the rename alone keeps a half-written one from being seen. */
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return kumo_error_errno(err, errno, "write initrd");
	return 0;
}

int initrd_write(const char *path, const struct boot_config *cfg, const struct rootfs_dir *dirs,
		 size_t ndirs, char **json_out, kumo_error_t *err)
{
	char *json = boot_config_json(cfg);
	autofree char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(json);
		return kumo_error_errno(err, errno, "create `%s`", tmp);
	}
	int r = write_initrd_fd(fd, json, dirs, ndirs, err);
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = kumo_error_errno(err, errno, "rename `%s` to `%s`", tmp, path);
	if (r < 0)
		unlink(tmp);
	if (r == 0 && json_out)
		*json_out = json;
	else
		free(json);
	return r;
}
