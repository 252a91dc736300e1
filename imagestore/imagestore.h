/* imagestore/imagestore.h - pulls WebAssembly OCI images from registries into a
 * content-addressed, crash-safe store, and answers the CRI ImageService questions
 * (list, status, remove, filesystem usage). The one public header of imagestore/.
 *
 * Store layout under `root` (default /var/lib/kumo):
 *   blobs/sha256/<hex>      verified blobs; a blob appears only by rename after its
 *                           digest matched, so no half-written blob is ever visible
 *   ingest/<hex>.partial    downloads in progress (resumed by the next pull)
 *   ingest/<hex>.lock       one flock per blob: two pulls of one image download once
 *   images/<hex>.json       one record per image, hex = config digest (the image id)
 *   rootfs/<hex>/           unpacked layers of an OCI wasi/wasm image (manifest hex)
 *
 * Accepted images: an OCI/Docker image whose config says os `wasi` or `wasip1` and
 * architecture `wasm` (alone or as an entry of an index / manifest list), the CNCF
 * Wasm artifact (config `application/vnd.wasm.config.v0+json`, layer `application/wasm`),
 * and kumo's checkpoint image (below: a snapshot archive wrapped as an image, stored
 * as it came, nothing to unpack or compile).
 *
 * Threading: one struct imagestore may be used from several threads; pulls of the same
 * blob (also from other processes) serialize on the blob's lock file.
 */
#ifndef KUMO_IMAGESTORE_H
#define KUMO_IMAGESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define IMAGESTORE_DEFAULT_ROOT "/var/lib/kumo"

/* Media types kumo reads and writes. */
#define IMAGESTORE_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define IMAGESTORE_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMAGESTORE_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMAGESTORE_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define IMAGESTORE_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMAGESTORE_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMAGESTORE_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMAGESTORE_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMAGESTORE_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define IMAGESTORE_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMAGESTORE_MT_WASM_CONFIG "application/vnd.wasm.config.v0+json"
#define IMAGESTORE_MT_WASM_LAYER "application/wasm"

/* A checkpoint image: a snapshot archive of kumo's (vmm/vmm.h "Snapshot archives", made
 * by `kumo checkpoint`) wrapped as an OCI image, as CRI-O restores a container from a
 * checkpoint image. An OCI image manifest with
 *   config  IMAGESTORE_MT_CHECKPOINT_CONFIG: a JSON object describing the archive (its
 *           maker's: format, builds, containers; imagestore only checks it is an object),
 *   layers  exactly one, IMAGESTORE_MT_CHECKPOINT_LAYER: the archive itself, byte for
 *           byte (an uncompressed tar whose first member is manifest.json),
 *   annotations  IMAGESTORE_ANN_CHECKPOINT_NAME (CRI-O's: the checkpointed container's
 *           name, names joined by "," for several) and IMAGESTORE_ANN_CHECKPOINT_KIND.
 * imagestore verifies its blobs' digests as any image's and that the layer starts as
 * such a tar; the archive's own digests and builds are checked by whoever restores it
 * (vmm_archive_open). */
#define IMAGESTORE_MT_CHECKPOINT_CONFIG "application/vnd.kumo.checkpoint.config.v1+json"
#define IMAGESTORE_MT_CHECKPOINT_LAYER "application/vnd.kumo.checkpoint.v1.tar"
#define IMAGESTORE_ANN_CHECKPOINT_NAME "io.kubernetes.cri-o.annotations.checkpoint.name"
#define IMAGESTORE_ANN_CHECKPOINT_KIND "dev.kumo.checkpoint.kind" /* "pod-vm" or
								     * "container-vm" */

/* ---- image references ------------------------------------------------------------ */

/* A reference normalized the way kubelet and containerd do it:
 * "alpine" -> docker.io/library/alpine:latest, "host:5000/a/b@sha256:..." keeps host. */
struct imagestore_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000" */
	char *path;   /* repository path: "library/alpine" */
	char *tag;    /* "latest" when neither tag nor digest was given; NULL with a digest only */
	char *digest; /* "sha256:<64 hex>" or NULL */
};

/* Parses and normalizes `s`. On success fills *out (free with imagestore_ref_clear). */
int imagestore_ref_parse(const char *s, struct imagestore_ref *out, kumo_error_t *err);
void imagestore_ref_clear(struct imagestore_ref *ref);
/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest" (malloc'd). */
char *imagestore_ref_string(const struct imagestore_ref *ref);
/* "domain/path" (malloc'd). */
char *imagestore_ref_name(const struct imagestore_ref *ref);

/* ---- store ----------------------------------------------------------------------- */

struct imagestore_image;

struct imagestore_config {
	const char *root;                        /* NULL: IMAGESTORE_DEFAULT_ROOT */
	const char *const *insecure_registries;  /* NULL-terminated "host" or "host:port"
						    reached over plain HTTP; NULL: localhost,
						    127.0.0.1, ::1 (any port) */
	const char *docker_config;               /* config.json with "auths"; NULL:
						    $DOCKER_CONFIG/config.json, then
						    ~/.docker/config.json; "" for none */
	const char *ca_file;                     /* extra CA bundle for HTTPS, or NULL */
	int max_parallel;                        /* layers fetched at once; 0: 4 */
	int retries;                             /* attempts after the first on 5xx and
						    resets; <0: none, 0: 4 */
	unsigned backoff_ms;                     /* first retry delay, doubled; 0: 200 */
	uint64_t max_blob_bytes;                 /* descriptor size limit; 0: 4 GiB */
	uint64_t max_manifest_bytes;             /* 0: 4 MiB */
	uint64_t max_entry_bytes;                /* one unpacked file; 0: 1 GiB */
	uint64_t max_unpacked_bytes;             /* one image's rootfs; 0: 8 GiB */
};

/* Credentials for one pull or push, shaped like the CRI AuthConfig. Any field may be
 * NULL. Without any, the docker config.json entry for the registry is used. */
struct imagestore_auth {
	const char *username;
	const char *password;
	const char *auth;           /* base64("user:pass"), as in config.json */
	const char *identity_token; /* refresh token sent to the token server */
	const char *registry_token; /* bearer token used as is */
};

struct imagestore;

/* Opens (creating when needed) the store at cfg->root. cfg may be NULL (defaults);
 * its strings are copied. */
int imagestore_open(const struct imagestore_config *cfg, struct imagestore **out,
		    kumo_error_t *err);
void imagestore_close(struct imagestore *store); /* accepts NULL */
const char *imagestore_root(const struct imagestore *store);

enum imagestore_format {
	IMAGESTORE_FORMAT_WASI_IMAGE = 1, /* OCI/Docker image, platform wasi|wasip1/wasm */
	IMAGESTORE_FORMAT_WASM_ARTIFACT,  /* CNCF Wasm artifact */
	IMAGESTORE_FORMAT_CHECKPOINT,     /* kumo's checkpoint image (above) */
};

/* What the CRI ImageService and builder/ need to know about one stored image.
 * Every string is owned by the struct; free with imagestore_image_free. */
struct imagestore_image {
	char *id;                /* "sha256:<hex>" of the config blob */
	char **repo_tags;        /* "docker.io/library/app:v1", NULL-terminated */
	char **repo_digests;     /* "docker.io/library/app@sha256:...", NULL-terminated */
	uint64_t size;           /* manifest + config + layers, compressed bytes */
	bool pinned;             /* never garbage-collected, refused by remove */
	enum imagestore_format format;
	char *manifest_digest;   /* the platform manifest that was pulled */
	char *platform;          /* "wasi/wasm", "wasip1/wasm", "kumo/checkpoint" */
	char *module_path;       /* absolute path of the .wasm to run (in the store); NULL
				  * for a checkpoint image */
	char *module_digest;     /* "sha256:<hex>" of that file: builder's cache key; NULL
				  * for a checkpoint image */
	char *checkpoint_path;   /* a checkpoint image's snapshot archive (its layer, in the
				  * store), else NULL */
	char **annotations;      /* the manifest's annotations: key, value, key, value, ...,
				  * NULL-terminated (may be empty) */
	char *rootfs_path;       /* unpacked layers (wasi image) or NULL (artifact) */
	char **entrypoint;       /* config Entrypoint, NULL-terminated (may be empty) */
	char **cmd;              /* config Cmd */
	char **env;              /* config Env, "K=V" */
	char *working_dir;       /* config WorkingDir or NULL */
	char *user;              /* config User or NULL */
};
void imagestore_image_free(struct imagestore_image *image); /* accepts NULL */
void imagestore_image_list_free(struct imagestore_image **images); /* NULL-terminated */

/* Pulls `ref` (any reference form; see imagestore_ref_parse), verifying every blob,
 * unpacking an image's layers, recording the image. What comes next (compiling the
 * module) is the caller's: imagestore knows no builds.
 * auth may be NULL. On success *out (may be NULL if not wanted) is the stored image. */
int imagestore_pull(struct imagestore *store, const char *ref,
		    const struct imagestore_auth *auth, struct imagestore_image **out,
		    kumo_error_t *err);

/* What an image is, asked of its registry without pulling it (a mixed node routes a pull
 * by it: kumo pulls WebAssembly images, the downstream runtime every other): the
 * manifest or index `ref` resolves to and, for an image manifest that is not the Wasm
 * artifact, its config (a small blob); both verified against their digests, neither
 * stored. One attempt per request, connect timeout 5 s: a registry kumo cannot reach
 * fails fast (KUMO_E_UNAVAILABLE) and the caller decides. auth may be NULL. */
struct imagestore_probe {
	bool wasm;    /* kumo's: a wasi/wasm (wasip1/wasm) image, an index with such an
		       * entry, the Wasm artifact, or a checkpoint image */
	char *what;   /* what the registry says, for messages: "wasi/wasm",
		       * "linux/amd64, linux/arm64", "the Wasm artifact", "a kumo
		       * checkpoint" */
	char *digest; /* "sha256:..." of the manifest or index `ref` resolved to */
};
int imagestore_probe(struct imagestore *store, const char *ref,
		     const struct imagestore_auth *auth, struct imagestore_probe *out,
		     kumo_error_t *err);
void imagestore_probe_clear(struct imagestore_probe *p); /* accepts a cleared one */

/* Finds an image by id ("sha256:<hex>" or a unique hex prefix of at least 12), by
 * tag reference or by digest reference. Returns 0 with *out, or -1 with err status
 * KUMO_E_NOT_FOUND when there is none. */
int imagestore_status(struct imagestore *store, const char *ref_or_id,
		      struct imagestore_image **out, kumo_error_t *err);

/* Every stored image, NULL-terminated, sorted by id. */
int imagestore_list(struct imagestore *store, struct imagestore_image ***out,
		    kumo_error_t *err);

/* Removes `ref_or_id`. A tag reference of an image with other tags drops only that
 * tag; an id, a digest reference or an image's last tag remove the image (all its tags)
 * and collect the blobs nothing references any more. Pinned images are refused.
 * Removing an image that is not there is not an error when `missing_ok`. */
int imagestore_remove(struct imagestore *store, const char *ref_or_id, bool missing_ok,
		      kumo_error_t *err);

/* Sets or clears the pinned flag of an image. */
int imagestore_pin(struct imagestore *store, const char *ref_or_id, bool pinned,
		   kumo_error_t *err);

/* Deletes blobs, rootfs snapshots and abandoned downloads that no image references.
 * *freed_bytes (may be NULL) receives the bytes freed. */
int imagestore_gc(struct imagestore *store, uint64_t *freed_bytes, kumo_error_t *err);

/* Bytes and inodes the store uses (for ImageFsInfo; the mountpoint is the root). */
int imagestore_fs_usage(struct imagestore *store, uint64_t *bytes, uint64_t *inodes,
			kumo_error_t *err);

/* Walks the store: every blob must hash to its name, every image record must parse and
 * reference blobs that exist, every rootfs must be complete. Returns 0 when consistent;
 * otherwise -1 with the first problem. *n_blobs (may be NULL) gets the blobs checked. */
int imagestore_check(struct imagestore *store, size_t *n_blobs, kumo_error_t *err);

/* Wraps the snapshot archive at archive_path as a checkpoint image (above) and pushes
 * it to `ref`: config_json (a JSON object) its config, annotations (key, value, ...,
 * NULL-terminated; may be NULL) its manifest's. The archive is read whole (up to the
 * store's blob limit) and sent as is. *manifest_digest (may be NULL) gets the pushed
 * manifest's digest. */
int imagestore_push_checkpoint(struct imagestore *store, const char *archive_path,
			       const char *config_json, const char *const *annotations,
			       const char *ref, const struct imagestore_auth *auth,
			       char **manifest_digest, kumo_error_t *err);

/* Builds an image around one Wasm module and pushes it to `ref`: an OCI image with
 * platform wasi/wasm (a tar+gzip layer holding /<basename>, Entrypoint naming it), or,
 * with `artifact`, the CNCF Wasm artifact. *manifest_digest (may be NULL) gets the
 * pushed manifest's digest. The store is used only for its configuration. */
int imagestore_push(struct imagestore *store, const char *wasm_path, const char *ref,
		    bool artifact, const struct imagestore_auth *auth, char **manifest_digest,
		    kumo_error_t *err);

#endif /* KUMO_IMAGESTORE_H */
