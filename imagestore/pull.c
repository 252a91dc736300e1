/* imagestore/pull.c - one pull: resolve the reference, pick the Wasm manifest, fetch blobs in parallel, unpack (a checkpoint image: keep its archive), record. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <jansson.h>

#include "imagestore/istore.h"

struct fetch_job {
	struct imagestore *s;
	struct registry *r;
	const struct manifest *m;
	atomic_size_t next;       /* next layer index to take */
	pthread_mutex_t lock;     /* guards err */
	kumo_error_t err;         /* first failure */
	atomic_bool failed;
};

static void *fetch_worker(void *arg)
{
	struct fetch_job *j = arg;
	CURL *c = registry_curl();
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->m->n_layers || atomic_load(&j->failed))
			break;
		kumo_error_t e = NULL;
		if (store_fetch_blob(j->s, j->r, c, &j->m->layers[i], &e) < 0) {
			pthread_mutex_lock(&j->lock);
			if (!j->err) {
				j->err = e;
				e = NULL;
			}
			pthread_mutex_unlock(&j->lock);
			kumo_error_free(&e);
			atomic_store(&j->failed, true);
			break;
		}
	}
	curl_easy_cleanup(c);
	return NULL;
}

static int fetch_layers(struct imagestore *s, struct registry *r, const struct manifest *m,
			kumo_error_t *err)
{
	struct fetch_job j = {.s = s, .r = r, .m = m};
	pthread_mutex_init(&j.lock, NULL);
	size_t missing = 0;
	for (size_t i = 0; i < m->n_layers; i++)
		if (!store_blob_exists(s, m->layers[i].digest))
			missing++;
	size_t nt = missing < (size_t)s->max_parallel ? missing : (size_t)s->max_parallel;
	pthread_t th[64];
	if (nt > 64)
		nt = 64;
	size_t started = 0;
	for (size_t i = 1; i < nt; i++)
		if (pthread_create(&th[started], NULL, fetch_worker, &j) == 0)
			started++;
	fetch_worker(&j); /* this thread works too */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.lock);
	if (j.err) {
		*err = j.err;
		return -1;
	}
	return 0;
}

static int check_magic(const char *path, kumo_error_t *err)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char b[4];
	if (fd < 0)
		return kumo_error_errno(err, errno, "open module `%s`", path);
	if (read(fd, b, 4) != 4 || memcmp(b, "\0asm", 4) != 0)
		return kumo_error(err, KUMO_E_INVALID, "module `%s` is not a WebAssembly binary", path);
	return 0;
}

/* Looks for the only *.wasm file of a rootfs (depth-first, small trees). */
static int find_wasm(const char *dir, const char *rel, char **found, int *count)
{
	autofree char *p = rel[0] ? xasprintf("%s/%s", dir, rel) : xstrdup(dir);
	DIR *d = opendir(p);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		autofree char *r = rel[0] ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		autofree char *full = xasprintf("%s/%s", dir, r);
		struct stat st;
		if (lstat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && strlen(r) < 1024)
			find_wasm(dir, r, found, count);
		else if (S_ISREG(st.st_mode) && strlen(r) > 5 && strcmp(r + strlen(r) - 5, ".wasm") == 0) {
			if (++*count == 1)
				*found = xstrdup(r);
		}
	}
	closedir(d);
	return 0;
}

/* The module of an unpacked image: Entrypoint[0], else Cmd[0], else its only .wasm. */
static int identify_module(const char *rootfs, const struct image_config *cfg, char **rel,
			   kumo_error_t *err)
{
	const char *cand = cfg->entrypoint[0] ? cfg->entrypoint[0] : cfg->cmd[0];
	if (cand && *cand) {
		autofree char *joined = cand[0] == '/' || !cfg->working_dir
						? xstrdup(cand)
						: xasprintf("%s/%s", cfg->working_dir, cand);
		autofree char *full = xasprintf("%s/%s", rootfs, joined);
		char real[PATH_MAX], rroot[PATH_MAX];
		if (!realpath(rootfs, rroot))
			return kumo_error_errno(err, errno, "resolve `%s`", rootfs);
		if (!realpath(full, real))
			return kumo_error(err, KUMO_E_INVALID,
					  "image entrypoint `%s` is not a file in the image", cand);
		size_t rl = strlen(rroot);
		struct stat st;
		if (strncmp(real, rroot, rl) != 0 || real[rl] != '/' || stat(real, &st) < 0 ||
		    !S_ISREG(st.st_mode))
			return kumo_error(err, KUMO_E_INVALID,
					  "image entrypoint `%s` is not a file in the image", cand);
		*rel = xstrdup(real + rl + 1);
		return 0;
	}
	char *found = NULL;
	int count = 0;
	find_wasm(rootfs, "", &found, &count);
	if (count != 1) {
		free(found);
		return kumo_error(err, KUMO_E_INVALID,
				  count ? "image has no entrypoint and %d .wasm files"
					: "image has no entrypoint and no .wasm file%.0d",
				  count);
	}
	*rel = found;
	return 0;
}

/* Unpacks the layers into rootfs/<manifest hex> (once; atomic by rename). */
static int unpack_rootfs(struct imagestore *s, const struct manifest *m, const char *manifest_digest,
			 struct unpack_limits *lim, char **rootfs_rel, kumo_error_t *err)
{
	const char *hex = digest_hex(manifest_digest);
	*rootfs_rel = xasprintf("rootfs/%s", hex);
	autofree char *final = xasprintf("%s/rootfs/%s", s->root, hex);
	struct stat st;
	if (stat(final, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	autofree char *tmpname = xasprintf(".tmp-%s-%d-%lx", hex, (int)getpid(),
					   (unsigned long)pthread_self());
	autofree char *rdir = xasprintf("%s/rootfs", s->root);
	autoclose int rfd = open(rdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return kumo_error_errno(err, errno, "open `%s`", rdir);
	if (mkdirat(rfd, tmpname, 0755) < 0)
		return kumo_error_errno(err, errno, "mkdir `%s/%s`", rdir, tmpname);
	int tfd = openat(rfd, tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		int e = errno;
		remove_tree_at(rfd, tmpname);
		return kumo_error_errno(err, e, "open `%s/%s`", rdir, tmpname);
	}
	for (size_t i = 0; i < m->n_layers; i++) {
		autofree char *bp = store_blob_path(s, m->layers[i].digest);
		if (unpack_layer(tfd, bp, lim, err) < 0) {
			close(tfd);
			remove_tree_at(rfd, tmpname);
			return kumo_error_wrap(err, "unpack layer `%s`", m->layers[i].digest);
		}
	}
	close(tfd);
	if (renameat(rfd, tmpname, rfd, hex) < 0) {
		int e = errno;
		remove_tree_at(rfd, tmpname);
		if (e != EEXIST && e != ENOTEMPTY) /* a concurrent pull got there first */
			return kumo_error_errno(err, e, "rename rootfs to `%s`", final);
	}
	fsync(rfd);
	return 0;
}

/* Records the image and moves the tag away from any image that had it. */
static int save_record(struct imagestore *s, struct record *rec, const char *tagref,
		       const char *digestref, kumo_error_t *err)
{
	/* Every blob the record names is durable before the record is. */
	store_sync_blobs(s);
	autoclose int meta = store_lock(s, "meta.lock", LOCK_EX, err);
	if (meta < 0)
		return -1;
	struct record *recs;
	size_t n;
	if (records_load_all(s, &recs, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct record *o = &recs[i];
		if (strcmp(o->id, rec->id) == 0) {
			for (size_t k = 0; o->repo_tags[k]; k++)
				strv_add_unique(&rec->repo_tags, o->repo_tags[k]);
			for (size_t k = 0; o->repo_digests[k]; k++)
				strv_add_unique(&rec->repo_digests, o->repo_digests[k]);
			rec->pinned = rec->pinned || o->pinned;
			continue;
		}
		if (tagref && strv_remove(o->repo_tags, tagref))
			rc = record_save(s, o, err);
	}
	records_free(recs, n);
	if (rc < 0)
		return -1;
	if (tagref)
		strv_add_unique(&rec->repo_tags, tagref);
	strv_add_unique(&rec->repo_digests, digestref);
	return record_save(s, rec, err);
}

static int get_manifest(struct imagestore *s, struct registry *r, CURL *c, const char *reference,
			const char *want_digest, struct manifest *m, char digest[KUMO_DIGEST_BUF],
			kumo_error_t *err)
{
	struct http_resp resp = {0};
	if (registry_get_manifest(r, c, reference, &resp, err) < 0) {
		http_resp_clear(&resp);
		return -1;
	}
	kumo_sha256(resp.body ? resp.body : "", resp.body_len, digest);
	if (want_digest && strcmp(digest, want_digest) != 0) {
		int e = kumo_error(err, KUMO_E_INVALID, "manifest `%s` does not match its digest (got `%s`)",
				   want_digest, digest);
		http_resp_clear(&resp);
		return e;
	}
	if (!want_digest && resp.docker_digest && digest_valid(resp.docker_digest) &&
	    strcmp(resp.docker_digest, digest) != 0) {
		int e = kumo_error(err, KUMO_E_INVALID,
				   "manifest `%s` hashes to `%s` but the registry says `%s`", reference,
				   digest, resp.docker_digest);
		http_resp_clear(&resp);
		return e;
	}
	int rc = manifest_parse(resp.body ? resp.body : "", resp.body_len, resp.content_type,
				s->max_blob_bytes, m, err);
	if (rc == 0 && store_put_blob(s, digest, resp.body ? resp.body : "", resp.body_len, err) < 0) {
		manifest_clear(m);
		rc = -1;
	}
	http_resp_clear(&resp);
	if (rc < 0)
		return kumo_error_wrap(err, "manifest `%s`", reference);
	return 0;
}

static int pull_locked(struct imagestore *s, struct registry *r, CURL *c, const struct imagestore_ref *ref,
		       const char *refstr, struct record *rec, kumo_error_t *err)
{
	char top[KUMO_DIGEST_BUF], mdigest[KUMO_DIGEST_BUF];
	struct manifest m;
	if (get_manifest(s, r, c, ref->digest ? ref->digest : ref->tag, ref->digest, &m, top, err) < 0)
		return -1;
	strcpy(mdigest, top);
	if (m.kind == MANIFEST_INDEX) {
		size_t i;
		if (manifest_select_wasm(&m, refstr, &i, err) < 0) {
			manifest_clear(&m);
			return -1;
		}
		autofree char *want = xstrdup(m.manifests[i].digest);
		manifest_clear(&m);
		if (get_manifest(s, r, c, want, want, &m, mdigest, err) < 0)
			return -1;
		if (m.kind != MANIFEST_IMAGE) {
			manifest_clear(&m);
			return kumo_error(err, KUMO_E_INVALID, "index entry `%s` is itself an index", want);
		}
		rec->index = xstrdup(top);
	}
	rec->manifest = xstrdup(mdigest);
	rec->id = xstrdup(m.config.digest);
	rec->config_media_type = xstrdup(m.config.media_type);
	rec->layers = xzalloc((m.n_layers + 1) * sizeof(char *));
	for (size_t i = 0; i < m.n_layers; i++)
		rec->layers[i] = xstrdup(m.layers[i].digest);
	rec->annotations = strv_dup(m.annotations);
	int rc = -1;
	int ck = manifest_checkpoint(&m, refstr, err);
	if (ck < 0)
		goto out;
	bool artifact = strcmp(m.config.media_type, IMAGESTORE_MT_WASM_CONFIG) == 0;
	/* The config: small, fetched into memory and verified. */
	if (m.config.size > s->max_manifest_bytes) {
		kumo_error(err, KUMO_E_INVALID, "config `%s` is %llu bytes (limit %llu)", m.config.digest,
			   (unsigned long long)m.config.size, (unsigned long long)s->max_manifest_bytes);
		goto out;
	}
	struct http_resp cresp = {0};
	if (store_blob_exists(s, m.config.digest)) {
		autofree char *cp = store_blob_path(s, m.config.digest);
		uint8_t *buf;
		size_t len;
		if (kumo_read_file(cp, s->max_manifest_bytes, &buf, &len, err) < 0)
			goto out;
		cresp.body = (char *)buf;
		cresp.body_len = len;
	} else {
		if (registry_get_blob_mem(r, c, &m.config, &cresp, err) < 0) {
			http_resp_clear(&cresp);
			goto out;
		}
		if (store_put_blob(s, m.config.digest, cresp.body ? cresp.body : "", cresp.body_len, err) < 0) {
			http_resp_clear(&cresp);
			kumo_error_wrap(err, "config");
			goto out;
		}
	}
	if (ck) {
		/* The archive's maker describes it; kumo reads the archive itself. */
		json_t *cj = json_loadb(cresp.body ? cresp.body : "", cresp.body_len, 0, NULL);
		bool obj = json_is_object(cj);
		json_decref(cj);
		http_resp_clear(&cresp);
		if (!obj) {
			kumo_error(err, KUMO_E_INVALID, "checkpoint image `%s`: its config is not a "
				   "JSON object", refstr);
			goto out;
		}
		rec->format = IMAGESTORE_FORMAT_CHECKPOINT;
		rec->platform = xstrdup("kumo/checkpoint");
		rec->config.entrypoint = xzalloc(sizeof(char *));
		rec->config.cmd = xzalloc(sizeof(char *));
		rec->config.env = xzalloc(sizeof(char *));
	} else if (!artifact) {
		if (strcmp(m.config.media_type, IMAGESTORE_MT_OCI_CONFIG) != 0 &&
		    strcmp(m.config.media_type, IMAGESTORE_MT_DOCKER_CONFIG) != 0) {
			kumo_error(err, KUMO_E_UNSUPPORTED, "image `%s` has unsupported config media type `%.100s`",
				   refstr, m.config.media_type);
			http_resp_clear(&cresp);
			goto out;
		}
		if (image_config_parse(cresp.body ? cresp.body : "", cresp.body_len, &rec->config, err) < 0) {
			http_resp_clear(&cresp);
			goto out;
		}
		http_resp_clear(&cresp);
		if (!platform_is_wasm(rec->config.os, rec->config.arch)) {
			kumo_error(err, KUMO_E_UNSUPPORTED,
				   "image `%s` is for %s/%s, not a WebAssembly image (want wasi/wasm or "
				   "wasip1/wasm, or the Wasm artifact)",
				   refstr, rec->config.os ? rec->config.os : "?",
				   rec->config.arch ? rec->config.arch : "?");
			goto out;
		}
		rec->platform = xasprintf("%s/%s", rec->config.os, rec->config.arch);
		for (size_t i = 0; i < m.n_layers; i++)
			if (!layer_media_type_ok(m.layers[i].media_type)) {
				kumo_error(err, KUMO_E_UNSUPPORTED, "image `%s` layer %zu has unsupported media type `%.100s`",
					   refstr, i, m.layers[i].media_type);
				goto out;
			}
		rec->format = IMAGESTORE_FORMAT_WASI_IMAGE;
	} else {
		http_resp_clear(&cresp);
		rec->format = IMAGESTORE_FORMAT_WASM_ARTIFACT;
		rec->platform = xstrdup("wasip1/wasm");
		rec->config.entrypoint = xzalloc(sizeof(char *));
		rec->config.cmd = xzalloc(sizeof(char *));
		rec->config.env = xzalloc(sizeof(char *));
	}
	size_t wasm_layer = SIZE_MAX;
	if (artifact) {
		for (size_t i = 0; i < m.n_layers && wasm_layer == SIZE_MAX; i++)
			if (strcmp(m.layers[i].media_type, IMAGESTORE_MT_WASM_LAYER) == 0)
				wasm_layer = i;
		if (wasm_layer == SIZE_MAX) {
			kumo_error(err, KUMO_E_INVALID, "Wasm artifact `%s` has no `application/wasm` layer", refstr);
			goto out;
		}
	}
	if (fetch_layers(s, r, &m, err) < 0)
		goto out;
	rec->size = m.config.size;
	for (size_t i = 0; i < m.n_layers; i++)
		rec->size += m.layers[i].size;
	if (ck) {
		/* Stored as it came: the archive is the layer's blob. */
		rec->module_rel = xasprintf("blobs/sha256/%s", digest_hex(m.layers[0].digest));
		rec->module_digest = xstrdup(m.layers[0].digest);
		autofree char *ap = xasprintf("%s/%s", s->root, rec->module_rel);
		if (checkpoint_blob_check(ap, err) < 0) {
			kumo_error_wrap(err, "checkpoint image `%s`", refstr);
			goto out;
		}
	} else if (artifact) {
		rec->module_rel = xasprintf("blobs/sha256/%s", digest_hex(m.layers[wasm_layer].digest));
		rec->module_digest = xstrdup(m.layers[wasm_layer].digest);
		autofree char *mp = xasprintf("%s/%s", s->root, rec->module_rel);
		if (check_magic(mp, err) < 0)
			goto out;
	} else {
		/* The module's path as a clean relative path, hashed while it is written. */
		const char *cand = rec->config.entrypoint[0] ? rec->config.entrypoint[0] : rec->config.cmd[0];
		autofree char *want = NULL;
		if (cand && *cand) {
			autofree char *joined = cand[0] == '/' || !rec->config.working_dir
							? xstrdup(cand)
							: xasprintf("%s/%s", rec->config.working_dir, cand);
			want = xzalloc(strlen(joined) + 1);
			char *save = NULL;
			for (char *t = strtok_r(joined, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
				if (strcmp(t, ".") == 0)
					continue;
				if (want[0])
					strcat(want, "/");
				strcat(want, t);
			}
		}
		struct unpack_limits lim = {.max_entry = s->max_entry_bytes,
					    .max_total = s->max_unpacked_bytes,
					    .want = want && *want ? want : NULL};
		if (unpack_rootfs(s, &m, mdigest, &lim, &rec->rootfs_rel, err) < 0)
			goto out;
		autofree char *rootfs = xasprintf("%s/%s", s->root, rec->rootfs_rel);
		autofree char *mrel = NULL;
		if (identify_module(rootfs, &rec->config, &mrel, err) < 0)
			goto out;
		rec->module_rel = xasprintf("%s/%s", rec->rootfs_rel, mrel);
		autofree char *mp = xasprintf("%s/%s", s->root, rec->module_rel);
		if (check_magic(mp, err) < 0)
			goto out;
		/* Hashed during unpack when it is that very file; else (rootfs from an earlier
		 * pull, symlinked entrypoint) hash it now. */
		char md[KUMO_DIGEST_BUF];
		struct stat mst;
		if (lim.want_ino && stat(mp, &mst) == 0 && (uint64_t)mst.st_ino == lim.want_ino) {
			strcpy(md, lim.want_digest);
		} else if (kumo_sha256_file(mp, md, NULL, err) < 0) {
			goto out;
		}
		rec->module_digest = xstrdup(md);
	}
	rc = 0;
out:
	manifest_clear(&m);
	return rc;
}

int imagestore_pull(struct imagestore *s, const char *refstr, const struct imagestore_auth *auth,
		    struct imagestore_image **out, kumo_error_t *err)
{
	struct imagestore_ref ref;
	if (imagestore_ref_parse(refstr, &ref, err) < 0)
		return kumo_error_wrap(err, "pull");
	autofree char *name = imagestore_ref_name(&ref);
	autofree char *full = imagestore_ref_string(&ref);
	struct registry r;
	if (registry_init(&r, s, &ref, "pull", auth, err) < 0) {
		imagestore_ref_clear(&ref);
		return kumo_error_wrap(err, "pull `%s`", full);
	}
	struct record rec = {0};
	int rc;
	{
		/* Shared: GC (exclusive) never runs between our downloads and our record. */
		autoclose int gc = store_lock(s, "gc.lock", LOCK_SH, err);
		if (gc < 0) {
			rc = -1;
		} else {
			CURL *c = registry_curl();
			rc = pull_locked(s, &r, c, &ref, full, &rec, err);
			curl_easy_cleanup(c);
			if (rc == 0) {
				autofree char *tagref = ref.tag ? xasprintf("%s:%s", name, ref.tag) : NULL;
				autofree char *digestref = xasprintf("%s@%s", name, rec.index ? rec.index : rec.manifest);
				rc = save_record(s, &rec, tagref, digestref, err);
			}
		}
	}
	registry_clear(&r);
	imagestore_ref_clear(&ref);
	if (rc < 0) {
		record_clear(&rec);
		return kumo_error_wrap(err, "pull `%s`", full);
	}
	struct imagestore_image *im = record_to_image(s, &rec);
	record_clear(&rec);
	if (out)
		*out = im;
	else
		imagestore_image_free(im);
	return 0;
}
