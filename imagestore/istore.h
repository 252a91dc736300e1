/* imagestore/istore.h - private interfaces between the files of imagestore/ (never
 * included from another folder). */
#ifndef KUMO_ISTORE_H
#define KUMO_ISTORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "imagestore/imagestore.h"

/* ---- digest.c (hashing itself is common.h's kumo_sha256*) ---- */
/* True for "sha256:<64 lowercase hex>" (the only algorithm kumo accepts). */
bool digest_valid(const char *d);
/* The hex part of a valid digest. */
static inline const char *digest_hex(const char *d) { return d + 7; }

/* ---- manifest.c ---- */
struct descriptor {
	char *media_type; /* as written by the registry */
	char *digest;     /* validated "sha256:..." */
	uint64_t size;    /* bytes; a blob bigger than this is refused */
	char *os;         /* index entries: platform.os, or NULL */
	char *arch;       /* index entries: platform.architecture, or NULL */
	char *variant;    /* index entries: platform.variant, or NULL */
};

enum manifest_kind { MANIFEST_INDEX = 1, MANIFEST_IMAGE };

struct manifest {
	enum manifest_kind kind;
	char *media_type;            /* effective media type */
	struct descriptor config;    /* MANIFEST_IMAGE */
	struct descriptor *layers;   /* MANIFEST_IMAGE */
	size_t n_layers;
	struct descriptor *manifests; /* MANIFEST_INDEX */
	size_t n_manifests;
	char **annotations;           /* its top-level annotations: key, value, ...,
				       * NULL-terminated (never NULL after a parse) */
};

/* Parses a manifest or index. content_type is the HTTP Content-Type (may be NULL: the
 * body's mediaType decides). max_size bounds every descriptor's size. */
int manifest_parse(const char *data, size_t len, const char *content_type, uint64_t max_size,
		   struct manifest *out, kumo_error_t *err);
void manifest_clear(struct manifest *m);
/* The value of annotation `key` of m, NULL when it has none. */
const char *manifest_annotation(const struct manifest *m, const char *key);
/* Whether image manifest m is a checkpoint image (imagestore.h): 0 when it is not
 * (neither its config nor a layer has a checkpoint media type); 1 when it is and is well
 * formed (the checkpoint config, exactly one layer, of the checkpoint layer type); -1
 * when it claims to be one and is not well formed (KUMO_E_INVALID saying what is wrong;
 * `what` names the image in it). */
int manifest_checkpoint(const struct manifest *m, const char *what, kumo_error_t *err);
/* Chooses the wasi/wasm (or wasip1/wasm) entry of an index; the error names the
 * platforms the index has. */
int manifest_select_wasm(const struct manifest *index, const char *what, size_t *out,
			 kumo_error_t *err);
bool platform_is_wasm(const char *os, const char *arch);
/* What a manifest or index says the image is (imagestore_probe): *wasm when an index
 * has a wasi/wasm (wasip1/wasm) entry, or an image manifest is the Wasm artifact (its
 * config media type, or an `application/wasm` layer), or its config (`config`, `len`)
 * says os wasi|wasip1 and architecture wasm; *what (malloc'd) names what was found
 * ("wasi/wasm", "linux/amd64, linux/arm64", "the Wasm artifact"). Returns 1 without
 * deciding when an image manifest needs its config and `config` is NULL; -1 when the
 * config does not parse. */
int manifest_classify(const struct manifest *m, const char *config, size_t len, bool *wasm,
		      char **what, kumo_error_t *err);

struct image_config {
	char *os;
	char *arch;
	char **entrypoint; /* NULL-terminated, never NULL after parse */
	char **cmd;
	char **env;
	char *working_dir;
	char *user;
};
int image_config_parse(const char *data, size_t len, struct image_config *out,
		       kumo_error_t *err);
void image_config_clear(struct image_config *c);
char **strv_dup(char *const *v);
void strv_free(char **v);
size_t strv_len(char *const *v);

/* ---- checkpoint.c ---- */
/* Whether the blob at path starts as a snapshot archive does (a ustar header whose
 * member is manifest.json, its checksum right): a pulled checkpoint layer is refused
 * early when it is not one (KUMO_E_INVALID naming what it found). The archive's own
 * verification is its restorer's. */
int checkpoint_blob_check(const char *path, kumo_error_t *err);
/* The same, on the blob's first bytes (tests, fuzzing). */
int checkpoint_head_check(const uint8_t *head, size_t len, kumo_error_t *err);

/* ---- registry.c / auth.c ---- */
struct registry {
	struct imagestore *store; /* configuration */
	char *domain;             /* "127.0.0.1:5000", "docker.io" */
	char *base;               /* "https://registry-1.docker.io/v2/library/alpine" */
	char *repo;               /* "library/alpine" */
	char *actions;            /* scope actions: "pull" or "pull,push" */
	char *basic;              /* "user:pass" or NULL */
	char *identity_token;     /* refresh token or NULL */
	pthread_mutex_t lock;     /* guards bearer */
	char *bearer;             /* current token or NULL */
	bool use_basic;           /* the registry asked for Basic */
	bool quick;               /* one attempt per request and a 5 s connect timeout
				   * (imagestore_probe: a registry kumo cannot reach is
				   * left to the caller, never waited for) */
};

struct http_resp {
	long status;
	char *content_type;
	char *docker_digest;
	char *location;
	char *www_auth;
	char *content_range;
	char *body;        /* memory sink */
	size_t body_len;
};
void http_resp_clear(struct http_resp *r);

int registry_init(struct registry *r, struct imagestore *store, const struct imagestore_ref *ref,
		  const char *actions, const struct imagestore_auth *auth, kumo_error_t *err);
void registry_clear(struct registry *r);
/* GETs a manifest by tag or digest into memory (bounded), with the Accept list. */
int registry_get_manifest(struct registry *r, CURL *c, const char *reference,
			  struct http_resp *resp, kumo_error_t *err);
/* Streams blob d into fd starting at `offset` (bytes already there, already hashed into
 * ctx), resuming with Range and retrying on transient failures. On success the fd
 * holds d->size bytes and ctx has hashed them all (the caller compares the digest). */
int registry_fetch_blob(struct registry *r, CURL *c, const struct descriptor *d, int fd,
			uint64_t offset, struct kumo_sha256 *ctx, kumo_error_t *err);
/* Fetches a small blob into memory (config). */
int registry_get_blob_mem(struct registry *r, CURL *c, const struct descriptor *d,
			  struct http_resp *resp, kumo_error_t *err);
int registry_blob_exists(struct registry *r, CURL *c, const char *digest, kumo_error_t *err);
int registry_upload_blob(struct registry *r, CURL *c, const char *digest, const void *data,
			 size_t len, kumo_error_t *err);
int registry_put_manifest(struct registry *r, CURL *c, const char *reference,
			  const char *media_type, const void *data, size_t len,
			  kumo_error_t *err);
CURL *registry_curl(void); /* a new easy handle; aborts on failure */
/* Parsers of what a registry answers (pure, fuzzed by tests/fuzz/fuzz_registry.c). */
/* The value of header `name` (lowercase) in one header line buf[0..n) ("Name: value\r\n",
 * any case), trimmed; malloc'd, or NULL when the line is another header. */
char *http_header_value(const char *line, size_t n, const char *name);
/* The registry's own error text when the body has the {"errors":[{"code","message"}]}
 * form: ": CODE message" (message cut at 200 bytes) into out[0..n), else "". */
void registry_error_text(const struct http_resp *resp, char *out, size_t n);

/* auth.c */
/* Parses `Bearer realm="..",service="..",scope=".."` / `Basic realm=".."`. */
struct challenge {
	char *scheme; /* "bearer", "basic" (lowercased) */
	char *realm;
	char *service;
	char *scope;
};
int challenge_parse(const char *header, struct challenge *out);
void challenge_clear(struct challenge *c);
/* Looks up "user:pass" for `domain` in a docker config.json; NULL if none. */
char *docker_config_lookup(const char *config_path, const char *domain);
/* The token of a token server's answer body ({"token"} or {"access_token"}, non-empty):
 * 0 with *token malloc'd, or -1. */
int auth_token_parse(const char *body, size_t len, char **token);
/* Gets a bearer token for the challenge (anonymous or with r->basic). */
int auth_fetch_token(struct registry *r, const struct challenge *ch, char **token,
		     kumo_error_t *err);
/* base64 encode/decode (malloc'd, NUL-terminated). decode returns NULL when invalid. */
char *b64_encode(const void *data, size_t len);
char *b64_decode(const char *s, size_t *len);

/* ---- store.c ---- */
struct imagestore {
	char *root;
	char **insecure;       /* NULL-terminated */
	char *docker_config;   /* resolved path or NULL */
	char *ca_file;
	int max_parallel;
	int retries;
	unsigned backoff_ms;
	uint64_t max_blob_bytes;
	uint64_t max_manifest_bytes;
	uint64_t max_entry_bytes;
	uint64_t max_unpacked_bytes;
	pthread_mutex_t meta_lock; /* in-process half of meta.lock */
};

char *store_blob_path(struct imagestore *s, const char *digest);
bool store_blob_exists(struct imagestore *s, const char *digest);
bool store_is_insecure(struct imagestore *s, const char *domain);
/* Takes flock `name` under root (LOCK_SH or LOCK_EX); returns the fd to close. */
int store_lock(struct imagestore *s, const char *name, int op, kumo_error_t *err);
/* Writes bytes whose digest must be `digest` into blobs/ (verify, temp, rename). */
int store_put_blob(struct imagestore *s, const char *digest, const void *data, size_t len,
		   kumo_error_t *err);
/* Makes the names of blobs written since the last call durable (one fsync of blobs/). */
void store_sync_blobs(struct imagestore *s);
/* Downloads blob d unless present; verifies while streaming; one download per blob
 * across threads and processes. */
int store_fetch_blob(struct imagestore *s, struct registry *r, CURL *c,
		     const struct descriptor *d, kumo_error_t *err);

/* ---- unpack.c ---- */
struct unpack_limits {
	uint64_t max_entry;  /* bytes of one file */
	uint64_t max_total;  /* bytes of the whole rootfs */
	uint64_t total;      /* running total, updated */
	const char *want;    /* a path ("app.wasm", "bin/x.wasm") to hash while writing, or NULL */
	char want_digest[KUMO_DIGEST_BUF]; /* its digest, when want_ino != 0 */
	uint64_t want_ino;   /* inode the digest belongs to (checked by the caller) */
};
/* Applies one layer (tar, tar+gzip, tar+zstd; OCI whiteouts) onto directory rootfd. */
int unpack_layer(int rootfd, const char *blob_path, struct unpack_limits *lim,
		 kumo_error_t *err);
/* Same, from memory (tests and fuzzing). */
int unpack_layer_mem(int rootfd, const void *data, size_t len, struct unpack_limits *lim,
		     kumo_error_t *err);
bool layer_media_type_ok(const char *mt);
/* Removes `name` under dirfd recursively without following symlinks. */
int remove_tree_at(int dirfd, const char *name);

/* ---- records.c ---- */
struct record {
	char *id;              /* config digest */
	char *manifest;        /* manifest digest */
	char *index;           /* index digest or NULL */
	char *config_media_type;
	char **layers;         /* layer digests */
	char **repo_tags;
	char **repo_digests;
	uint64_t size;
	bool pinned;
	int format;
	char *platform;
	char *module_rel;      /* module path relative to root (a checkpoint image: its
				* archive, the layer's blob) */
	char *module_digest;   /* its digest (a checkpoint image: the layer's) */
	char *rootfs_rel;      /* relative to root or NULL */
	struct image_config config;
	char **annotations;    /* the manifest's: key, value, ..., NULL-terminated */
};
void record_clear(struct record *rec);
int record_load(struct imagestore *s, const char *hex, struct record *out, kumo_error_t *err);
int record_save(struct imagestore *s, const struct record *rec, kumo_error_t *err);
/* All records (array of n). */
int records_load_all(struct imagestore *s, struct record **out, size_t *n, kumo_error_t *err);
void records_free(struct record *recs, size_t n);
struct imagestore_image *record_to_image(struct imagestore *s, const struct record *rec);
/* Adds tag/digest refs to rec (dedup). */
void strv_add_unique(char ***v, const char *s);
bool strv_remove(char **v, const char *s);
bool strv_contains(char *const *v, const char *s);

#endif /* KUMO_ISTORE_H */
