/* builder/builder.h - turns a Wasm module into what runs: a cached native object (for
 * the hosted runner) and, with the kernel, a bootable image (for a VM).
 *
 * Cache: <root>/build/objects/<key>.o where key = sha256 over the module's sha256,
 * kumo_compiler_id(), the CPU target and the codegen options, so per-container data
 * (args, env, addresses) never forces a recompile. Concurrent builds of one key compile
 * once (an flock per key); an entry appears only complete (the compiler writes a temp
 * file and renames it), so an interrupted build leaves nothing visible.
 */
#ifndef KUMO_BUILDER_H
#define KUMO_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define KUMO_DEFAULT_ROOT "/var/lib/kumo"

struct kumo_build_options {
	const char *root;    /* state root; NULL = $KUMO_ROOT or KUMO_DEFAULT_ROOT */
	const char *cpu;     /* NULL = the compiler's default (x86-64-v2) */
	bool bounds_checks;  /* explicit bounds checks instead of guard pages */
	int opt_level;       /* 0 = default (2); else 1..3 */
};

struct kumo_build_result {
	char *object_path;         /* the cached object (malloc'd) */
	char module_digest[72];    /* "sha256:<hex>" of the module bytes */
	char key[65];              /* cache key (hex) */
	bool cache_hit;            /* true when nothing was compiled */
	uint64_t ns;               /* wall time of this call */
};

/* Returns the cached object for `wasm`, compiling it on a miss. The module bytes are
 * the caller's. On error nothing is left in the cache. */
int kumo_build_object(const struct kumo_build_options *opts, const uint8_t *wasm, size_t len,
		      struct kumo_build_result *res, kumo_error_t *err);
void kumo_build_result_free(struct kumo_build_result *res); /* accepts NULL */

/* What the app sees at boot (kernel/boot_abi.h "boot config"). Strings are the caller's. */
struct kumo_boot_preopen {
	const char *guest;  /* path the app sees, e.g. "/data" */
	const char *path;   /* directory of the guest's tree: the rootfs, or a mount */
	bool readonly;
};
/* A host share (vmm_spec.shares) mounted live into the guest's tree (boot config
 * "mounts", kernel/boot_abi.h v2): the whole share at path (a directory: add a
 * preopen of that path to hand it to the app), or one entry of the share's top
 * directory (a single-file mount such as kubelet's /etc/hosts or termination log:
 * share the file's directory, name the file; the rest stays invisible). */
struct kumo_boot_mount {
	const char *path;   /* absolute path in the guest, e.g. "/etc/hosts" */
	const char *share;  /* mount tag of the host share (vmm_spec.shares) */
	const char *entry;  /* NULL: the whole share; else one name in its top directory */
	bool readonly;
};
/* The boot config's "net" object (kernel/boot_abi.h); absent (NULL) means no network. */
struct kumo_boot_net {
	bool has_mac;               /* false: the kernel uses the first NIC */
	uint8_t mac[6];             /* the NIC to use */
	const char *address;        /* "A.B.C.D/P" (required) */
	const char *gateway;        /* default route, NULL: none */
	unsigned mtu;               /* 0: the kernel's default */
	const char *const *dns;     /* resolvers in order */
	size_t ndns;
	const char *const *search;  /* search domains */
	size_t nsearch;
	const char *hostname;       /* NULL: none */
	const char *const *listen;  /* "tcp:ADDR:PORT" / "udp:ADDR:PORT" */
	size_t nlisten;
};
/* A file mount in the rootfs (the boot config's "files", kernel/boot_abi.h). */
struct kumo_boot_file {
	const char *path;   /* absolute path of a regular file of the rootfs */
	bool readonly;      /* the app cannot change it (EROFS) */
	bool copy_back;     /* reported at exit when the app changed it (KUMO-FILE record) */
};
struct kumo_boot_config {
	const char *const *args;  /* argv, argv[0] included */
	size_t nargs;
	const char *const *env;   /* "K=V" */
	size_t nenv;
	const struct kumo_boot_preopen *preopens;
	size_t npreopens;
	const struct kumo_boot_mount *mounts;
	size_t nmounts;
	uint64_t stack_size;      /* 0 = the kernel's default */
	const char *seed_hex;     /* extra entropy, or NULL */
	const struct kumo_boot_net *net; /* networking, NULL: none */
	const struct kumo_boot_file *files; /* file mounts */
	size_t nfiles;
};

/* The config as the JSON the kernel reads (malloc'd). */
char *kumo_boot_config_json(const struct kumo_boot_config *cfg);
/* A host directory copied into the VM's rootfs under `prefix` ("" = the root), or a
 * host file copied in as the entry `prefix`. A symlink as `host` itself is followed;
 * symlinks below it are copied as symlinks. */
struct kumo_rootfs_dir {
	const char *host;   /* directory or regular file on the host */
	const char *prefix; /* where it lands in the rootfs */
};
/* Writes the initrd (header, config JSON, one ustar archive of the given directories,
 * empty when ndirs is 0) atomically at path. */
int kumo_write_initrd(const char *path, const struct kumo_boot_config *cfg,
		      const struct kumo_rootfs_dir *dirs, size_t ndirs, kumo_error_t *err);

/* A bootable kernel image for `wasm`: the cached object linked with the kernel library
 * into <root>/build/images/<key>.elf, key = the object's key + the kernel's id. Refuses
 * a module importing anything the kernel does not provide ("unsupported import
 * `module.name`") before linking. */
struct kumo_image_result {
	struct kumo_build_result object; /* the compile step */
	char *image_path;                /* the kernel ELF (malloc'd) */
	bool cache_hit;                  /* the image was already linked */
	char kernel_id[72];              /* "sha256:<hex>" of the kernel library + linker
					  * script it was linked with (the kernel build id) */
};
int kumo_build_image(const struct kumo_build_options *opts, const uint8_t *wasm, size_t len,
		     struct kumo_image_result *res, kumo_error_t *err);
void kumo_image_result_free(struct kumo_image_result *res); /* accepts NULL */

/* The kernel library and linker script kumo links with: $KUMO_KERNEL_DIR, else
 * <dir of the running program>/../kernel (the build tree), else /usr/lib/kumo/kernel. */
int kumo_kernel_dir(char **out, kumo_error_t *err);

/* The kernel build id: "sha256:<hex>" over the kernel library and linker script of
 * kumo_kernel_dir() (what kumo_image_result.kernel_id says of an image). */
int kumo_kernel_id(char out[72], kumo_error_t *err);

/* "sha256:<hex>" of a buffer into out (at least 72 bytes). */
void kumo_sha256_digest(const void *data, size_t len, char out[72]);

#endif /* KUMO_BUILDER_H */
