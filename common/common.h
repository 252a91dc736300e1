/* common/common.h - host-side helpers shared by compiler/, builder/, imagestore/,
 * vmm/, cri/ and the CLI: the error object, cleanup attributes, allocation that aborts
 * on failure, logging, atomic file writes and the one sha256. The kernel never links
 * this folder.
 *
 * Error convention (after crun): a function that can fail returns a negative value and
 * fills `*err` (its last parameter); callers add context with kumo_error_wrap() on the
 * way up and free it with kumo_error_free(). Messages are lowercase and quote values.
 */
#ifndef KUMO_COMMON_H
#define KUMO_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Error categories; cri/ maps them to gRPC status codes in one place. */
enum kumo_status {
	KUMO_E_INTERNAL = 1,    /* a bug or an unexpected host failure */
	KUMO_E_INVALID,         /* bad input: malformed module, bad request, bad reference */
	KUMO_E_NOT_FOUND,       /* no such image, container, file, export */
	KUMO_E_EXISTS,          /* already exists */
	KUMO_E_UNSUPPORTED,     /* valid input that kumo does not support (yet) */
	KUMO_E_IO,              /* I/O or network failure, possibly transient */
	KUMO_E_PERMISSION,      /* authentication or permission refused */
	KUMO_E_UNAVAILABLE,     /* a service kumo needs is not there (libvirtd, registry) */
	KUMO_E_PRECONDITION,    /* the object is in the wrong state for this call, or held
				 * by another user (a pod's one NIC) */
};

struct kumo_error {
	int status;   /* enum kumo_status */
	int errnum;   /* errno that caused it, or 0 */
	char *msg;    /* full message, context first */
};
typedef struct kumo_error *kumo_error_t;

/* Sets *err (when err is not NULL and *err is still NULL) and returns -1. */
int kumo_error(kumo_error_t *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like kumo_error, and appends ": strerror(errnum)". */
int kumo_error_errno(kumo_error_t *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefixes "context: " to an existing error; returns -1. */
int kumo_error_wrap(kumo_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kumo_error_free(kumo_error_t *err); /* accepts NULL and *err == NULL */
const char *kumo_error_msg(kumo_error_t err); /* "" for NULL */

/* Allocation: failure aborts. */
void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Cleanup attributes for locals that own something. */
static inline void kumo_freep(void *p) { free(*(void **)p); }
static inline void kumo_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void kumo_fclosep(FILE **f) { if (*f) fclose(*f); }
#define autofree __attribute__((cleanup(kumo_freep)))
#define autoclose __attribute__((cleanup(kumo_closep)))
#define autofclose __attribute__((cleanup(kumo_fclosep)))
#define autoerror __attribute__((cleanup(kumo_error_free)))

/* Logging to stderr with levels; KUMO_LOG=debug|info|warn|error sets the threshold. */
enum kumo_log_level { KUMO_LOG_DEBUG, KUMO_LOG_INFO, KUMO_LOG_WARN, KUMO_LOG_ERROR };
void kumo_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kumo_log_set_level(int level);
#define log_debug(...) kumo_log(KUMO_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) kumo_log(KUMO_LOG_INFO, __VA_ARGS__)
#define log_warn(...) kumo_log(KUMO_LOG_WARN, __VA_ARGS__)
#define log_error(...) kumo_log(KUMO_LOG_ERROR, __VA_ARGS__)

/* Files. */
/* Reads a whole file (at most max_bytes) into a malloc'd buffer with a NUL after it. */
int kumo_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *out_len,
		   kumo_error_t *err);
/* Writes atomically: temp file in the same directory, fsync, rename, fsync dir. */
int kumo_write_file_atomic(const char *path, const void *data, size_t len, int mode,
			   kumo_error_t *err);
/* Replaces atomically without fsync (temp file, rename): for files that need not outlive
 * a crash of the host, only one of the process. */
int kumo_write_file_replace(const char *path, const void *data, size_t len, int mode,
			    kumo_error_t *err);
/* write(2) until done, retrying EINTR; -1 with errno on failure. */
int kumo_write_all(int fd, const void *data, size_t len);
/* mkdir -p. */
int kumo_mkdir_p(const char *path, int mode, kumo_error_t *err);
/* rm -rf path, best effort (what cannot be removed stays): a directory's tree bottom up,
 * symlinks removed, never followed. */
void kumo_rm_tree(const char *path);
/* The first executable regular file NAME in the ':'-separated directories of
 * search_path (NULL: $PATH, else /usr/bin:/bin), malloc'd; NAME with a '/' is taken
 * as it is. NULL when there is none. */
char *kumo_find_executable(const char *name, const char *search_path);
/* Monotonic clock in nanoseconds. */
uint64_t kumo_now_ns(void);
/* True when s[0..len) is well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF): what JSON (jansson) and proto3 strings require. */
bool kumo_utf8_valid(const char *s, size_t len);

/* sha256 (common/sha256.c; a program using these links -lcrypto). Digests are written
 * as "sha256:<64 lowercase hex>" into KUMO_DIGEST_BUF bytes. */
#define KUMO_DIGEST_BUF 72
void kumo_sha256(const void *data, size_t len, char out[KUMO_DIGEST_BUF]);
/* The digest of a file's bytes; *size (may be NULL) gets their count. */
int kumo_sha256_file(const char *path, char out[KUMO_DIGEST_BUF], uint64_t *size,
		     kumo_error_t *err);
/* Streaming: new, update..., final; reset starts over; free accepts NULL. */
struct kumo_sha256;
struct kumo_sha256 *kumo_sha256_new(void);
void kumo_sha256_reset(struct kumo_sha256 *h);
void kumo_sha256_update(struct kumo_sha256 *h, const void *data, size_t len);
void kumo_sha256_final(struct kumo_sha256 *h, char out[KUMO_DIGEST_BUF]);
void kumo_sha256_free(struct kumo_sha256 *h);

#endif /* KUMO_COMMON_H */
