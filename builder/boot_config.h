/* builder/boot_config.h - private to builder/: the boot config as builder writes it
 * (kernel/boot_abi.h "The boot config JSON") and the initrd that carries it with the
 * rootfs. Strings are the caller's. */
#ifndef KUMO_BOOT_CONFIG_H
#define KUMO_BOOT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/builder.h"

struct boot_preopen {
	const char *guest;  /* path the app sees, e.g. "/data" */
	const char *path;   /* directory of the guest's tree: the rootfs, or a mount */
	bool readonly;
};
/* A host share mounted live into the guest's tree (boot config "mounts", v2): the whole
 * share at path (a directory: add a preopen of that path to hand it to the app), or one
 * entry of the share's top directory (a single-file mount: share the file's directory,
 * name the file; the rest stays invisible). */
struct boot_mount {
	const char *path;   /* absolute path in the guest, e.g. "/etc/hosts" */
	const char *share;  /* mount tag of the host share */
	const char *entry;  /* NULL: the whole share; else one name in its top directory */
	bool readonly;
};
/* A file mount in the rootfs (the boot config's "files"). */
struct boot_file {
	const char *path;   /* absolute path of a regular file of the rootfs */
	bool readonly;      /* the app cannot change it (EROFS) */
	bool copy_back;     /* reported at exit when the app changed it (KUMO-FILE record) */
};
struct boot_config {
	const char *const *args;  /* argv, argv[0] included */
	size_t nargs;
	const char *const *env;   /* "K=V" */
	size_t nenv;
	const struct boot_preopen *preopens;
	size_t npreopens;
	const struct boot_mount *mounts;
	size_t nmounts;
	uint64_t stack_size;      /* 0 = the kernel's default */
	const char *seed_hex;     /* extra entropy, or NULL */
	const struct builder_net *net; /* networking, NULL: none */
	const struct boot_file *files; /* file mounts */
	size_t nfiles;
	const char *pod_name;     /* pod mode (kernel/pod_abi.h): {"pod": {"name"}}; NULL: none */
};

/* The config as the JSON the kernel reads (malloc'd). */
char *boot_config_json(const struct boot_config *cfg);

/* A host directory copied into the rootfs under `prefix` ("" = the root), or a host file
 * copied in as the entry `prefix`. A symlink as `host` itself is followed; symlinks
 * below it are copied as symlinks. */
struct rootfs_dir {
	const char *host;   /* directory or regular file on the host */
	const char *prefix; /* where it lands in the rootfs */
};
/* Writes the initrd (header, config JSON, one ustar archive of the given directories,
 * empty when ndirs is 0) atomically at path; *json (may be NULL) gets the config text
 * (malloc'd). A config over KUMO_BOOT_CONFIG_MAX bytes is refused ("boot config is N
 * bytes, ..."). */
int initrd_write(const char *path, const struct boot_config *cfg, const struct rootfs_dir *dirs,
		 size_t ndirs, char **json, kumo_error_t *err);

#endif /* KUMO_BOOT_CONFIG_H */
