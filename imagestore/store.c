/* imagestore/store.c - the content store: configuration, blob paths, lock files, verified blob writes. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "imagestore/istore.h"

static const char *const default_insecure[] = {"localhost", "127.0.0.1", "::1", "[::1]", NULL};

int imagestore_open(const struct imagestore_config *cfg, struct imagestore **out, kumo_error_t *err)
{
	struct imagestore_config def = {0};
	if (!cfg)
		cfg = &def;
	struct imagestore *s = xzalloc(sizeof(*s));
	s->root = xstrdup(cfg->root && *cfg->root ? cfg->root : IMAGESTORE_DEFAULT_ROOT);
	size_t rl = strlen(s->root);
	while (rl > 1 && s->root[rl - 1] == '/')
		s->root[--rl] = 0;
	s->insecure = strv_dup((char *const *)(cfg->insecure_registries ? cfg->insecure_registries
									 : default_insecure));
	if (cfg->docker_config) {
		s->docker_config = *cfg->docker_config ? xstrdup(cfg->docker_config) : NULL;
	} else if (getenv("DOCKER_CONFIG") && *getenv("DOCKER_CONFIG")) {
		s->docker_config = xasprintf("%s/config.json", getenv("DOCKER_CONFIG"));
	} else if (getenv("HOME") && *getenv("HOME")) {
		s->docker_config = xasprintf("%s/.docker/config.json", getenv("HOME"));
	}
	s->ca_file = cfg->ca_file ? xstrdup(cfg->ca_file) : NULL;
	s->max_parallel = cfg->max_parallel > 0 ? cfg->max_parallel : 4;
	s->retries = cfg->retries < 0 ? 0 : cfg->retries == 0 ? 4 : cfg->retries;
	s->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms : 200;
	s->max_blob_bytes = cfg->max_blob_bytes ? cfg->max_blob_bytes : (4ull << 30);
	s->max_manifest_bytes = cfg->max_manifest_bytes ? cfg->max_manifest_bytes : (4ull << 20);
	s->max_entry_bytes = cfg->max_entry_bytes ? cfg->max_entry_bytes : (1ull << 30);
	s->max_unpacked_bytes = cfg->max_unpacked_bytes ? cfg->max_unpacked_bytes : (8ull << 30);
	pthread_mutex_init(&s->meta_lock, NULL);
	const char *dirs[] = {"blobs/sha256", "ingest", "images", "rootfs"};
	for (int i = 0; i < 4; i++) {
		autofree char *d = xasprintf("%s/%s", s->root, dirs[i]);
		if (kumo_mkdir_p(d, 0755, err) < 0) {
			imagestore_close(s);
			return kumo_error_wrap(err, "open image store `%s`", cfg->root ? cfg->root : IMAGESTORE_DEFAULT_ROOT);
		}
	}
	*out = s;
	return 0;
}

void imagestore_close(struct imagestore *s)
{
	if (!s)
		return;
	free(s->root);
	strv_free(s->insecure);
	free(s->docker_config);
	free(s->ca_file);
	pthread_mutex_destroy(&s->meta_lock);
	free(s);
}

const char *imagestore_root(const struct imagestore *s)
{
	return s->root;
}

bool store_is_insecure(struct imagestore *s, const char *domain)
{
	/* "host:port" matches an entry "host:port" or a bare "host" (any port). */
	const char *colon = domain[0] == '[' ? strstr(domain, "]:") : strrchr(domain, ':');
	size_t hl = colon ? (size_t)(colon - domain) + (domain[0] == '[') : strlen(domain);
	for (size_t i = 0; s->insecure[i]; i++) {
		const char *e = s->insecure[i];
		if (strcmp(e, domain) == 0)
			return true;
		if (strlen(e) == hl && strncmp(e, domain, hl) == 0)
			return true;
	}
	return false;
}

char *store_blob_path(struct imagestore *s, const char *digest)
{
	return xasprintf("%s/blobs/sha256/%s", s->root, digest_hex(digest));
}

bool store_blob_exists(struct imagestore *s, const char *digest)
{
	autofree char *p = store_blob_path(s, digest);
	return access(p, F_OK) == 0;
}

int store_lock(struct imagestore *s, const char *name, int op, kumo_error_t *err)
{
	autofree char *p = xasprintf("%s/%s", s->root, name);
	for (;;) {
		int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return kumo_error_errno(err, errno, "open lock `%s`", p);
		while (flock(fd, op) < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			if (e == EWOULDBLOCK)
				return kumo_error(err, KUMO_E_EXISTS, "`%s` is locked", p);
			return kumo_error_errno(err, e, "lock `%s`", p);
		}
		/* GC may have unlinked the file between our open and our flock: retry on the
		 * file that is there now. */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(p, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
}

void store_sync_blobs(struct imagestore *s)
{
	autofree char *dir = xasprintf("%s/blobs/sha256", s->root);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int store_put_blob(struct imagestore *s, const char *digest, const void *data, size_t len,
		   kumo_error_t *err)
{
	char got[KUMO_DIGEST_BUF];
	kumo_sha256(data, len, got);
	if (strcmp(got, digest) != 0)
		return kumo_error(err, KUMO_E_INVALID,
				  "content of `%s` does not match its digest (got `%s`)", digest, got);
	if (store_blob_exists(s, digest))
		return 0;
	autofree char *tmp = xasprintf("%s/ingest/%s.%d.%lx.tmp", s->root, digest_hex(digest),
				       (int)getpid(), (unsigned long)pthread_self());
	autofree char *dst = store_blob_path(s, digest);
	autoclose int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return kumo_error_errno(err, errno, "create `%s`", tmp);
	if (kumo_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return kumo_error_errno(err, e, "write `%s`", tmp);
	}
	if (rename(tmp, dst) < 0) {
		int e = errno;
		unlink(tmp);
		return kumo_error_errno(err, e, "rename `%s` to `%s`", tmp, dst);
	}
	/* The directory is synced once per pull, before the record (store_sync_blobs). */
	return 0;
}

int store_fetch_blob(struct imagestore *s, struct registry *r, CURL *c, const struct descriptor *d,
		     kumo_error_t *err)
{
	if (store_blob_exists(s, d->digest))
		return 0;
	const char *hex = digest_hex(d->digest);
	autofree char *lockname = xasprintf("ingest/%s.lock", hex);
	autoclose int lock = store_lock(s, lockname, LOCK_EX, err);
	if (lock < 0)
		return -1;
	/* Another pull may have finished it while we waited for the lock. */
	if (store_blob_exists(s, d->digest))
		return 0;
	autofree char *partial = xasprintf("%s/ingest/%s.partial", s->root, hex);
	autoclose int fd = open(partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", partial);
	struct kumo_sha256 *ctx = kumo_sha256_new();
	/* A partial file left by an interrupted pull: hash what is there and resume. */
	uint64_t have = 0;
	static __thread unsigned char buf[1 << 16];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		kumo_sha256_update(ctx, buf, (size_t)n);
		have += (uint64_t)n;
	}
	if (have > d->size) {
		if (ftruncate(fd, 0) < 0) {
			kumo_sha256_free(ctx);
			return kumo_error_errno(err, errno, "truncate `%s`", partial);
		}
		kumo_sha256_reset(ctx);
		have = 0;
	}
	if (have)
		log_debug("resuming %s at byte %llu", d->digest, (unsigned long long)have);
	if (registry_fetch_blob(r, c, d, fd, have, ctx, err) < 0) {
		kumo_sha256_free(ctx);
		return -1;
	}
	char got[KUMO_DIGEST_BUF];
	kumo_sha256_final(ctx, got);
	kumo_sha256_free(ctx);
	if (strcmp(got, d->digest) != 0) {
		/* Never keep bytes that do not match: the next pull starts from zero. */
		unlink(partial);
		return kumo_error(err, KUMO_E_INVALID,
				  "blob `%s` from `%s` does not match its digest (got `%s`)",
				  d->digest, r->domain, got);
	}
	if (fsync(fd) < 0)
		return kumo_error_errno(err, errno, "fsync `%s`", partial);
	autofree char *dst = store_blob_path(s, d->digest);
	if (rename(partial, dst) < 0)
		return kumo_error_errno(err, errno, "rename `%s` to `%s`", partial, dst);
	return 0;
}
