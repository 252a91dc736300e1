/* builder/builder.h - the build stage: an image's Wasm module plus one container's
 * config become what vmm/ boots (a kernel image, an initrd, the host directories to
 * share, the files to copy back at exit). The one public header of builder/; it takes
 * plain data only (no cri/ or vmm/ types) and includes no header of theirs.
 *
 * Two calls, in the pipeline's order:
 *   builder_compile  PullImage, `kumo compile`, `kumo run --host`: the module's native
 *                    object, compiled now or found in the cache.
 *   builder_prepare  CreateContainer, `kumo run`, `kumo build`: one container's bootable
 *                    artifact: the kernel image (the object linked with the kernel
 *                    library, cached) and an initrd in the run directory holding the
 *                    boot config (argv, env, preopens, mounts, files, network) and a
 *                    rootfs of the files copied in (kernel/boot_abi.h).
 *
 * Cache, under <root>/build/ (root: the options' root, else $KUMO_ROOT, else
 * BUILDER_DEFAULT_ROOT):
 *   objects/<key>.o        key = sha256 over the module's digest, kumo_compiler_id(), the
 *                          CPU target and the codegen options; the module's digest is the
 *                          one imagestore recorded (builder hashes a module only when it
 *                          is given none, as `kumo run` does, and then once per version
 *                          of the file: digests/ below);
 *   objects/<key>.imports  the module's imports, written when it was compiled, so that
 *                          linking checks them without reading the module again;
 *   images/<ikey>.elf      ikey = sha256 over the object's key and the kernel build id
 *                          (sha256 of libkumo-kernel.a and kernel.ld, found once per
 *                          process: a kernel rebuilt under a running kumod is seen at its
 *                          next start);
 *   digests/<key>          a file's sha256 digest (the kernel library's, the linker
 *                          script's, a module's given no digest), key = sha256 over the
 *                          file's identity (device, inode, size, mtime, ctime): each file
 *                          is hashed once per version, not once per process.
 * Per-container data (args, env, mounts, addresses) never forces a compile or a link. A
 * warm builder_prepare computes both keys from strings and stat()s: it reads, decodes
 * and hashes neither the module nor the kernel library (a first call of a process reads
 * the three remembered digests). Concurrent builds of one
 * key compile (and link) once under an flock per key; an entry appears only complete
 * (temp file + rename), so an interrupted build leaves nothing visible.
 *
 * A module importing anything the kernel does not provide is refused before it is
 * linked ("unsupported import `module.name`").
 */
#ifndef KUMO_BUILDER_H
#define KUMO_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define BUILDER_DEFAULT_ROOT "/var/lib/kumo"

/* Where the cache lives and how code is generated. */
struct builder_options {
	const char *root;    /* state root; NULL = $KUMO_ROOT or BUILDER_DEFAULT_ROOT */
	const char *cpu;     /* NULL = the compiler's default (x86-64-v2) */
	bool bounds_checks;  /* explicit bounds checks instead of guard pages */
	int opt_level;       /* 0 = default (2); else 1..3 */
};

/* The module to build: a .wasm (or .wat) file. */
struct builder_module {
	const char *path;    /* the module file */
	const char *digest;  /* "sha256:<hex>" of its bytes (imagestore's module_digest);
			      * NULL: builder hashes the file */
};

/* ---- compile (PullImage) --------------------------------------------------------- */

struct builder_object {
	char *path;                          /* the cached object (malloc'd) */
	char module_digest[KUMO_DIGEST_BUF]; /* the module's digest the key was made from */
	char key[65];                        /* cache key (hex) */
	bool cache_hit;                      /* true when nothing was compiled */
	uint64_t ns;                         /* wall time of this call */
};

/* The cached object of the module, compiled on a miss. A module that does not decode or
 * validate fails (KUMO_E_INVALID or KUMO_E_UNSUPPORTED) and leaves nothing cached. */
int builder_compile(const struct builder_options *o, const struct builder_module *m,
		    struct builder_object *out, kumo_error_t *err);
void builder_object_free(struct builder_object *obj); /* accepts NULL */

/* ---- prepare (CreateContainer) --------------------------------------------------- */

/* The process fields of the image's config (all may be NULL: `kumo run` has no image). */
struct builder_image {
	const char *const *entrypoint; /* Entrypoint, NULL-terminated */
	const char *const *cmd;        /* Cmd, NULL-terminated */
	const char *const *env;        /* Env, "K=V", NULL-terminated */
	const char *working_dir;       /* WorkingDir, NULL: none */
	const char *rootfs;            /* the unpacked layers, NULL: none; copied in only
					* when they hold more than the module file */
};

/* A host path the app sees at guest_path. Three ways: copied into the rootfs; shared
 * live by builder (a share of its own per mount: the directory, or a file's parent
 * directory with the file as the mount's entry); or shared live through a share the
 * caller made (tag and entry: kumod binds each mount into its pod's staging shares,
 * vmm/vmm.h "A pod's staged mounts", and hands vmm those shares itself). */
struct builder_mount {
	const char *guest_path; /* absolute path in the guest */
	const char *host_path;  /* a directory or a regular file (symlinks on it followed);
				 * with tag: the source the entry is bound to (checked and
				 * named in errors, never shared by builder) */
	bool readonly;          /* the app cannot change it */
	bool share;             /* shared live (virtio-9p: the app's writes land on the host
				 * as they are made, host changes are seen at the next open);
				 * false: copied into the rootfs now, and a writable file mount
				 * is copied back at exit (builder_artifact.copy_back) */
	const char *tag;        /* with share: the caller's share this mount is an entry of
				 * (its mount tag: 1 to 63 of [A-Za-z0-9_.-], none of the
				 * form "kumo<N>", which are builder's own); NULL: builder
				 * makes a share for it */
	const char *entry;      /* with tag: one name at the top of that share */
};

/* The boot network values (kernel/boot_abi.h "net"); strings are the caller's. */
struct builder_net {
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
	const char *const *listen;  /* sockets bound before the app starts:
				     * "tcp:ADDR:PORT" / "udp:ADDR:PORT" */
	size_t nlisten;
};

/* One container. Everything is borrowed for the call. */
struct builder_input {
	struct builder_options options;    /* cache and code generation */
	struct builder_module module;      /* the app */
	struct builder_image image;        /* its image's config */
	const char *argv0;                 /* argv[0]; NULL: the module file's base name */
	const char *const *argv;           /* command then args, NULL-terminated (NULL or
					    * empty: the image's Entrypoint + Cmd) */
	const char *const *env;            /* "K=V", NULL-terminated: the container's, which
					    * override the image's of the same name */
	const char *working_dir;           /* NULL or "": the image's; the app learns it
					    * as PWD (WASI has no working directory) */
	const struct builder_mount *mounts;/* in order: a later one covers an earlier one */
	size_t nmounts;
	const struct builder_net *net;     /* NULL: no network */
	const char *run_dir;               /* the container's run directory (created): the
					    * initrd is written there */
};

/* A host directory the VM shares live (vmm's shares, in this order; the caller adds
 * the shares its tagged mounts name). */
struct builder_share {
	char *tag;       /* mount tag the boot config names: "kumo<N>" */
	char *host_path; /* absolute host directory */
	bool readonly;   /* the guest cannot change it */
};

/* A writable file mount copied into the rootfs: what the app wrote to guest_path comes
 * back at exit in a KUMO-FILE record (kernel/boot_abi.h) and belongs in host_path. */
struct builder_copy_back {
	char *guest_path; /* the file in the guest */
	char *host_path;  /* the mount's host file */
};

/* What vmm boots. Strings are malloc'd (builder_artifact_free). */
struct builder_artifact {
	char *kernel;                        /* the kernel image (in the cache: shared, never
					      * modify it) */
	char kernel_id[KUMO_DIGEST_BUF];     /* the kernel build id it was linked with */
	char *initrd;                        /* <run_dir>/initrd.img */
	char *boot_config;                   /* the boot config JSON inside the initrd */
	struct builder_share *shares;        /* host directories to share, in order */
	size_t nshares;
	struct builder_copy_back *copy_back; /* in mount order; for one guest path the last
					      * entry is the mount the app saw */
	size_t ncopy_back;
	bool object_cached;                  /* no compile ran */
	bool image_cached;                   /* no link ran */
	uint64_t build_ns;                   /* wall time of compile + link (cache hits
					      * included) */
};

/* Builds the artifact: checks the mounts (an absolute guest path; a host directory or
 * regular file; no file at "/"), finds or builds the kernel image, merges argv, env and
 * PWD (the container's over the image's), lays out the rootfs and preopens ("/" when the
 * image carries files or a file is mounted; each directory mount at its path), and
 * writes the initrd atomically. On error nothing is left in run_dir's initrd. */
int builder_prepare(const struct builder_input *in, struct builder_artifact *out,
		    kumo_error_t *err);
void builder_artifact_free(struct builder_artifact *a); /* accepts NULL */

/* ---- the kernel --------------------------------------------------------------------- */

/* The directory of the kernel library and linker script kumo links with:
 * $KUMO_KERNEL_DIR, else <dir of the running program>/../kernel (the build tree), else
 * /usr/lib/kumo/kernel. *out is malloc'd. */
int builder_kernel_dir(char **out, kumo_error_t *err);
/* The kernel build id "sha256:<hex>" (over the library and the linker script), found at
 * the first call of the process (digests remembered under $KUMO_ROOT or the default
 * root, see digests/ above). */
int builder_kernel_id(char out[KUMO_DIGEST_BUF], kumo_error_t *err);
/* The compiler build id objects are cached under (kumo_compiler_id()), for callers that
 * record which build made an artifact (snapshot archives) without knowing compiler/. */
const char *builder_compiler_id(void);
/* The accelerator probe image: the kernel linked with an empty app that never runs
 * (probe mode powers off first; kernel/boot_abi.h), from the cache. *path malloc'd;
 * kernel_id (may be NULL) gets the kernel build id. */
int builder_probe_image(const struct builder_options *o, char **path,
			char kernel_id[KUMO_DIGEST_BUF], kumo_error_t *err);

/* ---- pod VMs (kernel/pod_abi.h) ------------------------------------------------------ */

/* The kernel image a pod VM boots: the kernel alone (KUMO_KERNEL_POD_IMAGE_PATH's
 * kernel.elf, beside the kernel library in builder_kernel_dir()), one per kernel build
 * and CPU target. *path malloc'd; KUMO_E_NOT_FOUND when it was not built. */
int builder_pod_kernel(char **path, kumo_error_t *err);
/* Writes <run_dir>/initrd.img for a pod VM: the boot config {"pod": {"name"}} with the
 * pod's network (net, NULL: loopback only; its listen list is ignored: containers take
 * their own sockets at CREATE). *initrd malloc'd. */
int builder_pod_initrd(const char *run_dir, const char *pod_name, const struct builder_net *net,
		       char **initrd, kumo_error_t *err);
/* One container of a pod VM: the module's relocatable object from the compile cache
 * (builder_compile: no link, the kernel links it) and the container config JSON of
 * kernel/pod_abi.h's CREATE: "name", "args" (argv merged as builder_prepare does),
 * "env" (+ PWD), "preopens" (every tagged directory mount as {"guest", "share": tag,
 * "path": entry, "readonly"}; a file mount cannot be a preopen and is left out, counted
 * in *skipped_files), "listen", "memory_limit" (0: none). in->run_dir and in->net are
 * not used. *json malloc'd; obj filled as builder_compile does. */
int builder_pod_container(const struct builder_input *in, const char *name,
			  const char *const *listen, size_t nlisten, uint64_t memory_limit,
			  struct builder_object *obj, char **json, size_t *skipped_files,
			  kumo_error_t *err);

#endif /* KUMO_BUILDER_H */
