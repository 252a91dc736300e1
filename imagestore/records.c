/* imagestore/records.c - image metadata records (images/<id>.json): load, save, list, status, remove, pin, GC, usage and the store checker. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <jansson.h>

#include "imagestore/istore.h"

bool strv_contains(char *const *v, const char *s)
{
	for (size_t i = 0; v && v[i]; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

void strv_add_unique(char ***v, const char *s)
{
	if (strv_contains(*v, s))
		return;
	size_t n = strv_len(*v);
	*v = xrealloc(*v, (n + 2) * sizeof(char *));
	(*v)[n] = xstrdup(s);
	(*v)[n + 1] = NULL;
}

bool strv_remove(char **v, const char *s)
{
	bool found = false;
	size_t j = 0;
	for (size_t i = 0; v && v[i]; i++) {
		if (strcmp(v[i], s) == 0) {
			free(v[i]);
			found = true;
			continue;
		}
		v[j++] = v[i];
	}
	if (v)
		v[j] = NULL;
	return found;
}

void record_clear(struct record *rec)
{
	free(rec->id);
	free(rec->manifest);
	free(rec->index);
	free(rec->config_media_type);
	strv_free(rec->layers);
	strv_free(rec->repo_tags);
	strv_free(rec->repo_digests);
	free(rec->platform);
	free(rec->module_rel);
	free(rec->module_digest);
	free(rec->rootfs_rel);
	image_config_clear(&rec->config);
	strv_free(rec->annotations);
	memset(rec, 0, sizeof(*rec));
}

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();
	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static char **json_strv_get(json_t *o, const char *key)
{
	json_t *a = json_object_get(o, key);
	size_t n = json_is_array(a) ? json_array_size(a) : 0;
	char **v = xzalloc((n + 1) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (json_is_string(json_array_get(a, i)))
			v[k++] = xstrdup(json_string_value(json_array_get(a, i)));
	return v;
}

/* Annotations (key, value, ...) as a JSON object and back. */
static json_t *annotations_json(char *const *v)
{
	json_t *o = json_object();
	for (size_t i = 0; v && v[i] && v[i + 1]; i += 2)
		json_object_set_new(o, v[i], json_string(v[i + 1]));
	return o;
}

static char **annotations_get(json_t *o, const char *key)
{
	json_t *an = json_object_get(o, key);
	size_t n = json_is_object(an) ? json_object_size(an) : 0;
	char **v = xzalloc((2 * n + 1) * sizeof(char *));
	size_t k = 0;
	const char *name;
	json_t *val;
	json_object_foreach(an, name, val) {
		if (!json_is_string(val))
			continue;
		v[k++] = xstrdup(name);
		v[k++] = xstrdup(json_string_value(val));
	}
	return v;
}

static const char *format_name(int format)
{
	switch (format) {
	case IMAGESTORE_FORMAT_WASM_ARTIFACT: return "wasm-artifact";
	case IMAGESTORE_FORMAT_CHECKPOINT: return "checkpoint";
	default: return "wasi-image";
	}
}

static char *json_strdup_get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

int record_save(struct imagestore *s, const struct record *rec, kumo_error_t *err)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(rec->id));
	json_object_set_new(o, "manifest", json_string(rec->manifest));
	if (rec->index)
		json_object_set_new(o, "index", json_string(rec->index));
	json_object_set_new(o, "config_media_type", json_string(rec->config_media_type));
	json_object_set_new(o, "layers", strv_json(rec->layers));
	json_object_set_new(o, "repo_tags", strv_json(rec->repo_tags));
	json_object_set_new(o, "repo_digests", strv_json(rec->repo_digests));
	json_object_set_new(o, "size", json_integer((json_int_t)rec->size));
	json_object_set_new(o, "pinned", json_boolean(rec->pinned));
	json_object_set_new(o, "format", json_string(format_name(rec->format)));
	json_object_set_new(o, "platform", json_string(rec->platform));
	json_object_set_new(o, "module", json_string(rec->module_rel));
	json_object_set_new(o, "module_digest", json_string(rec->module_digest));
	if (rec->rootfs_rel)
		json_object_set_new(o, "rootfs", json_string(rec->rootfs_rel));
	json_object_set_new(o, "entrypoint", strv_json(rec->config.entrypoint));
	json_object_set_new(o, "cmd", strv_json(rec->config.cmd));
	json_object_set_new(o, "env", strv_json(rec->config.env));
	if (rec->config.working_dir)
		json_object_set_new(o, "working_dir", json_string(rec->config.working_dir));
	if (rec->config.user)
		json_object_set_new(o, "user", json_string(rec->config.user));
	if (rec->annotations && rec->annotations[0])
		json_object_set_new(o, "annotations", annotations_json(rec->annotations));
	char *text = json_dumps(o, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(o);
	autofree char *path = xasprintf("%s/images/%s.json", s->root, digest_hex(rec->id));
	int rc = kumo_write_file_atomic(path, text, strlen(text), 0644, err);
	free(text);
	return rc;
}

int record_load(struct imagestore *s, const char *hex, struct record *out, kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	autofree char *path = xasprintf("%s/images/%s.json", s->root, hex);
	json_error_t jerr;
	json_t *o = json_load_file(path, 0, &jerr);
	if (!o) {
		if (access(path, F_OK) < 0)
			return kumo_error(err, KUMO_E_NOT_FOUND, "no image record `%s`", path);
		return kumo_error(err, KUMO_E_INTERNAL, "image record `%s` is corrupt: %s", path,
				  jerr.text);
	}
	out->id = json_strdup_get(o, "id");
	out->manifest = json_strdup_get(o, "manifest");
	out->index = json_strdup_get(o, "index");
	out->config_media_type = json_strdup_get(o, "config_media_type");
	out->layers = json_strv_get(o, "layers");
	out->repo_tags = json_strv_get(o, "repo_tags");
	out->repo_digests = json_strv_get(o, "repo_digests");
	json_t *sz = json_object_get(o, "size");
	out->size = json_is_integer(sz) ? (uint64_t)json_integer_value(sz) : 0;
	out->pinned = json_is_true(json_object_get(o, "pinned"));
	const char *fmt = json_string_value(json_object_get(o, "format"));
	out->format = fmt && strcmp(fmt, "wasm-artifact") == 0 ? IMAGESTORE_FORMAT_WASM_ARTIFACT
		      : fmt && strcmp(fmt, "checkpoint") == 0  ? IMAGESTORE_FORMAT_CHECKPOINT
							       : IMAGESTORE_FORMAT_WASI_IMAGE;
	out->platform = json_strdup_get(o, "platform");
	out->module_rel = json_strdup_get(o, "module");
	out->module_digest = json_strdup_get(o, "module_digest");
	out->rootfs_rel = json_strdup_get(o, "rootfs");
	out->config.entrypoint = json_strv_get(o, "entrypoint");
	out->config.cmd = json_strv_get(o, "cmd");
	out->config.env = json_strv_get(o, "env");
	out->config.working_dir = json_strdup_get(o, "working_dir");
	out->config.user = json_strdup_get(o, "user");
	out->annotations = annotations_get(o, "annotations");
	json_decref(o);
	bool ok = digest_valid(out->id) && strcmp(digest_hex(out->id), hex) == 0 &&
		  digest_valid(out->manifest) && (!out->index || digest_valid(out->index)) &&
		  out->module_rel && digest_valid(out->module_digest) && out->platform;
	for (size_t i = 0; ok && out->layers[i]; i++)
		ok = digest_valid(out->layers[i]);
	if (!ok) {
		record_clear(out);
		return kumo_error(err, KUMO_E_INTERNAL, "image record `%s` is incomplete", path);
	}
	return 0;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int cmp_record(const void *a, const void *b)
{
	return strcmp(((const struct record *)a)->id, ((const struct record *)b)->id);
}

int records_load_all(struct imagestore *s, struct record **out, size_t *n, kumo_error_t *err)
{
	autofree char *dir = xasprintf("%s/images", s->root);
	DIR *d = opendir(dir);
	if (!d)
		return kumo_error_errno(err, errno, "open `%s`", dir);
	struct record *recs = NULL;
	size_t cnt = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l != 69 || strcmp(e->d_name + 64, ".json") != 0)
			continue;
		char hex[65];
		memcpy(hex, e->d_name, 64);
		hex[64] = 0;
		if (!is_hex64(hex))
			continue;
		struct record rec;
		if (record_load(s, hex, &rec, err) < 0) {
			if ((*err)->status == KUMO_E_NOT_FOUND) { /* removed meanwhile */
				kumo_error_free(err);
				continue;
			}
			closedir(d);
			records_free(recs, cnt);
			return -1;
		}
		recs = xrealloc(recs, (cnt + 1) * sizeof(*recs));
		recs[cnt++] = rec;
	}
	closedir(d);
	if (cnt)
		qsort(recs, cnt, sizeof(*recs), cmp_record);
	*out = recs;
	*n = cnt;
	return 0;
}

void records_free(struct record *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		record_clear(&recs[i]);
	free(recs);
}

struct imagestore_image *record_to_image(struct imagestore *s, const struct record *rec)
{
	struct imagestore_image *im = xzalloc(sizeof(*im));
	im->id = xstrdup(rec->id);
	im->repo_tags = strv_dup(rec->repo_tags);
	im->repo_digests = strv_dup(rec->repo_digests);
	im->size = rec->size;
	im->pinned = rec->pinned;
	im->format = rec->format;
	im->manifest_digest = xstrdup(rec->manifest);
	im->platform = xstrdup(rec->platform);
	if (rec->format == IMAGESTORE_FORMAT_CHECKPOINT) {
		/* An archive, never a module to compile. */
		im->checkpoint_path = xasprintf("%s/%s", s->root, rec->module_rel);
	} else {
		im->module_path = xasprintf("%s/%s", s->root, rec->module_rel);
		im->module_digest = xstrdup(rec->module_digest);
	}
	im->annotations = strv_dup(rec->annotations);
	im->rootfs_path = rec->rootfs_rel ? xasprintf("%s/%s", s->root, rec->rootfs_rel) : NULL;
	im->entrypoint = strv_dup(rec->config.entrypoint);
	im->cmd = strv_dup(rec->config.cmd);
	im->env = strv_dup(rec->config.env);
	im->working_dir = rec->config.working_dir ? xstrdup(rec->config.working_dir) : NULL;
	im->user = rec->config.user ? xstrdup(rec->config.user) : NULL;
	return im;
}

void imagestore_image_free(struct imagestore_image *im)
{
	if (!im)
		return;
	free(im->id);
	strv_free(im->repo_tags);
	strv_free(im->repo_digests);
	free(im->manifest_digest);
	free(im->platform);
	free(im->module_path);
	free(im->module_digest);
	free(im->checkpoint_path);
	strv_free(im->annotations);
	free(im->rootfs_path);
	strv_free(im->entrypoint);
	strv_free(im->cmd);
	strv_free(im->env);
	free(im->working_dir);
	free(im->user);
	free(im);
}

void imagestore_image_list_free(struct imagestore_image **images)
{
	for (size_t i = 0; images && images[i]; i++)
		imagestore_image_free(images[i]);
	free(images);
}

int imagestore_list(struct imagestore *s, struct imagestore_image ***out, kumo_error_t *err)
{
	struct record *recs;
	size_t n;
	if (records_load_all(s, &recs, &n, err) < 0)
		return kumo_error_wrap(err, "list images");
	struct imagestore_image **v = xzalloc((n + 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = record_to_image(s, &recs[i]);
	records_free(recs, n);
	*out = v;
	return 0;
}

enum match_kind { MATCH_ID, MATCH_TAG, MATCH_DIGEST };

/* Finds the record `q` names; *kind says how; *key gets the matched tag/digest ref. */
static int find_record(struct imagestore *s, const char *q, struct record *out,
		       enum match_kind *kind, char **key, kumo_error_t *err)
{
	struct record *recs;
	size_t n;
	if (records_load_all(s, &recs, &n, err) < 0)
		return -1;
	const char *hex = strncmp(q, "sha256:", 7) == 0 ? q + 7 : q;
	size_t hl = strlen(hex);
	bool hexish = hl >= 12 && hl <= 64 && strspn(hex, "0123456789abcdef") == hl;
	ssize_t found = -1;
	int nmatch = 0;
	if (hexish) {
		for (size_t i = 0; i < n; i++)
			if (strncmp(digest_hex(recs[i].id), hex, hl) == 0) {
				found = (ssize_t)i;
				nmatch++;
			}
		if (nmatch > 1) {
			records_free(recs, n);
			return kumo_error(err, KUMO_E_INVALID, "image id prefix `%s` is ambiguous", q);
		}
		*kind = MATCH_ID;
	}
	if (found < 0) {
		struct imagestore_ref ref;
		kumo_error_t perr = NULL;
		if (imagestore_ref_parse(q, &ref, &perr) == 0) {
			autofree char *name = imagestore_ref_name(&ref);
			autofree char *tagref = ref.tag ? xasprintf("%s:%s", name, ref.tag) : NULL;
			autofree char *dref = ref.digest ? xasprintf("%s@%s", name, ref.digest) : NULL;
			for (size_t i = 0; i < n && found < 0; i++) {
				if (dref && (strv_contains(recs[i].repo_digests, dref))) {
					found = (ssize_t)i;
					*kind = MATCH_DIGEST;
					*key = xstrdup(dref);
				} else if (!dref && tagref && strv_contains(recs[i].repo_tags, tagref)) {
					found = (ssize_t)i;
					*kind = MATCH_TAG;
					*key = xstrdup(tagref);
				}
			}
			imagestore_ref_clear(&ref);
		}
		kumo_error_free(&perr);
	}
	if (found < 0) {
		records_free(recs, n);
		return kumo_error(err, KUMO_E_NOT_FOUND, "image `%s` not found", q);
	}
	*out = recs[found];
	memset(&recs[found], 0, sizeof(recs[found]));
	records_free(recs, n);
	return 0;
}

int imagestore_status(struct imagestore *s, const char *q, struct imagestore_image **out,
		      kumo_error_t *err)
{
	struct record rec;
	enum match_kind kind;
	autofree char *key = NULL;
	if (find_record(s, q, &rec, &kind, &key, err) < 0)
		return -1;
	*out = record_to_image(s, &rec);
	record_clear(&rec);
	return 0;
}

int imagestore_pin(struct imagestore *s, const char *q, bool pinned, kumo_error_t *err)
{
	autoclose int meta = store_lock(s, "meta.lock", LOCK_EX, err);
	if (meta < 0)
		return -1;
	struct record rec;
	enum match_kind kind;
	autofree char *key = NULL;
	if (find_record(s, q, &rec, &kind, &key, err) < 0)
		return -1;
	rec.pinned = pinned;
	int rc = record_save(s, &rec, err);
	record_clear(&rec);
	return rc;
}

int imagestore_remove(struct imagestore *s, const char *q, bool missing_ok, kumo_error_t *err)
{
	{
		autoclose int meta = store_lock(s, "meta.lock", LOCK_EX, err);
		if (meta < 0)
			return -1;
		struct record rec;
		enum match_kind kind;
		autofree char *key = NULL;
		if (find_record(s, q, &rec, &kind, &key, err) < 0) {
			if (missing_ok && (*err)->status == KUMO_E_NOT_FOUND) {
				kumo_error_free(err);
				return 0;
			}
			return kumo_error_wrap(err, "remove image");
		}
		if (rec.pinned) {
			int e = kumo_error(err, KUMO_E_INVALID, "remove image `%s`: it is pinned", q);
			record_clear(&rec);
			return e;
		}
		if (kind == MATCH_TAG && strv_len(rec.repo_tags) > 1) {
			strv_remove(rec.repo_tags, key);
			int rc = record_save(s, &rec, err);
			record_clear(&rec);
			return rc;
		}
		autofree char *path = xasprintf("%s/images/%s.json", s->root, digest_hex(rec.id));
		record_clear(&rec);
		if (unlink(path) < 0)
			return kumo_error_errno(err, errno, "remove `%s`", path);
		autofree char *dir = xasprintf("%s/images", s->root);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return imagestore_gc(s, NULL, err);
}

/* A sorted set of referenced names (hex digests and rootfs dir names). */
struct refset {
	char **v;
	size_t n;
};

static void refset_add(struct refset *r, const char *s)
{
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(char *));
	r->v[r->n++] = xstrdup(s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool refset_has(const struct refset *r, const char *s)
{
	return r->n && bsearch(&s, r->v, r->n, sizeof(char *), cmp_str) != NULL;
}

static void refset_free(struct refset *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i]);
	free(r->v);
}

static uint64_t remove_entries(const char *dir, const struct refset *keep, bool dirs_too)
{
	uint64_t freed = 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int dfd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (keep && refset_has(keep, e->d_name))
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode) && !dirs_too)
			continue;
		if (S_ISREG(st.st_mode))
			freed += (uint64_t)st.st_size;
		if (remove_tree_at(dfd, e->d_name) < 0)
			log_warn("gc: cannot remove `%s/%s`: %s", dir, e->d_name, strerror(errno));
	}
	closedir(d);
	return freed;
}

int imagestore_gc(struct imagestore *s, uint64_t *freed_bytes, kumo_error_t *err)
{
	/* Exclusive: no pull (they hold it shared) is between download and record. */
	autoclose int gc = store_lock(s, "gc.lock", LOCK_EX, err);
	if (gc < 0)
		return -1;
	struct record *recs;
	size_t n;
	if (records_load_all(s, &recs, &n, err) < 0)
		return kumo_error_wrap(err, "garbage-collect");
	struct refset blobs = {0}, roots = {0};
	for (size_t i = 0; i < n; i++) {
		refset_add(&blobs, digest_hex(recs[i].id));
		refset_add(&blobs, digest_hex(recs[i].manifest));
		if (recs[i].index)
			refset_add(&blobs, digest_hex(recs[i].index));
		for (size_t j = 0; recs[i].layers[j]; j++)
			refset_add(&blobs, digest_hex(recs[i].layers[j]));
		if (recs[i].rootfs_rel && strncmp(recs[i].rootfs_rel, "rootfs/", 7) == 0)
			refset_add(&roots, recs[i].rootfs_rel + 7);
	}
	records_free(recs, n);
	if (blobs.n)
		qsort(blobs.v, blobs.n, sizeof(char *), cmp_str);
	if (roots.n)
		qsort(roots.v, roots.n, sizeof(char *), cmp_str);
	autofree char *bdir = xasprintf("%s/blobs/sha256", s->root);
	autofree char *rdir = xasprintf("%s/rootfs", s->root);
	autofree char *idir = xasprintf("%s/ingest", s->root);
	uint64_t freed = remove_entries(bdir, &blobs, false);
	freed += remove_entries(rdir, &roots, true);
	/* No pull runs now: whatever is in ingest/ was abandoned. */
	freed += remove_entries(idir, NULL, true);
	/* Temp files of record writes interrupted by a crash (never read as records). */
	autoclose int meta = store_lock(s, "meta.lock", LOCK_EX, err);
	if (meta < 0) {
		refset_free(&blobs);
		refset_free(&roots);
		return -1;
	}
	autofree char *mdir = xasprintf("%s/images", s->root);
	DIR *d = opendir(mdir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (strstr(e->d_name, ".json.tmp."))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	refset_free(&blobs);
	refset_free(&roots);
	if (freed_bytes)
		*freed_bytes = freed;
	return 0;
}

static __thread uint64_t usage_bytes, usage_inodes;
static int usage_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	usage_bytes += (uint64_t)st->st_blocks * 512;
	usage_inodes++;
	return 0;
}

int imagestore_fs_usage(struct imagestore *s, uint64_t *bytes, uint64_t *inodes, kumo_error_t *err)
{
	usage_bytes = usage_inodes = 0;
	const char *dirs[] = {"blobs", "images", "rootfs", "ingest"};
	for (int i = 0; i < 4; i++) {
		autofree char *d = xasprintf("%s/%s", s->root, dirs[i]);
		if (nftw(d, usage_cb, 32, FTW_PHYS) < 0 && errno != ENOENT)
			return kumo_error_errno(err, errno, "walk `%s`", d);
	}
	*bytes = usage_bytes;
	*inodes = usage_inodes;
	return 0;
}

int imagestore_check(struct imagestore *s, size_t *n_blobs, kumo_error_t *err)
{
	autofree char *bdir = xasprintf("%s/blobs/sha256", s->root);
	DIR *d = opendir(bdir);
	if (!d)
		return kumo_error_errno(err, errno, "check: open `%s`", bdir);
	size_t cnt = 0;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d)) && rc == 0) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!is_hex64(e->d_name)) {
			rc = kumo_error(err, KUMO_E_INTERNAL, "check: stray file `%s/%s`", bdir, e->d_name);
			break;
		}
		autofree char *p = xasprintf("%s/%s", bdir, e->d_name);
		char got[KUMO_DIGEST_BUF];
		if (kumo_sha256_file(p, got, NULL, err) < 0) {
			rc = kumo_error_wrap(err, "check");
			break;
		}
		if (strcmp(got + 7, e->d_name) != 0)
			rc = kumo_error(err, KUMO_E_INTERNAL, "check: blob `%s` hashes to `%s`", p, got);
		cnt++;
	}
	closedir(d);
	if (rc < 0)
		return rc;
	struct record *recs;
	size_t n;
	if (records_load_all(s, &recs, &n, err) < 0)
		return kumo_error_wrap(err, "check");
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct record *r = &recs[i];
		const char *need[3] = {r->id, r->manifest, r->index};
		for (int k = 0; k < 3 && rc == 0; k++)
			if (need[k] && !store_blob_exists(s, need[k]))
				rc = kumo_error(err, KUMO_E_INTERNAL, "check: image `%s` needs missing blob `%s`",
						r->id, need[k]);
		for (size_t j = 0; r->layers[j] && rc == 0; j++)
			if (!store_blob_exists(s, r->layers[j]))
				rc = kumo_error(err, KUMO_E_INTERNAL, "check: image `%s` needs missing layer `%s`",
						r->id, r->layers[j]);
		if (rc < 0)
			break;
		/* The manifest must name this config and these layers. */
		autofree char *mp = store_blob_path(s, r->manifest);
		uint8_t *mb;
		size_t ml;
		if (kumo_read_file(mp, s->max_manifest_bytes, &mb, &ml, err) < 0) {
			rc = kumo_error_wrap(err, "check");
			break;
		}
		struct manifest m;
		if (manifest_parse((char *)mb, ml, NULL, UINT64_MAX, &m, err) < 0) {
			free(mb);
			rc = kumo_error_wrap(err, "check: manifest `%s`", r->manifest);
			break;
		}
		free(mb);
		bool ok = m.kind == MANIFEST_IMAGE && strcmp(m.config.digest, r->id) == 0 &&
			  m.n_layers == strv_len(r->layers);
		for (size_t j = 0; ok && j < m.n_layers; j++)
			ok = strcmp(m.layers[j].digest, r->layers[j]) == 0;
		manifest_clear(&m);
		if (!ok) {
			rc = kumo_error(err, KUMO_E_INTERNAL, "check: manifest `%s` does not match image `%s`",
					r->manifest, r->id);
			break;
		}
		autofree char *mod = xasprintf("%s/%s", s->root, r->module_rel);
		char got[KUMO_DIGEST_BUF];
		if (kumo_sha256_file(mod, got, NULL, err) < 0) {
			rc = kumo_error_wrap(err, "check: module of image `%s`", r->id);
			break;
		}
		if (strcmp(got, r->module_digest) != 0)
			rc = kumo_error(err, KUMO_E_INTERNAL, "check: module `%s` hashes to `%s`, record says `%s`",
					mod, got, r->module_digest);
	}
	records_free(recs, n);
	if (rc == 0 && n_blobs)
		*n_blobs = cnt;
	return rc;
}
