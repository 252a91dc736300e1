/* imagestore/push.c - builds a wasi/wasm image or a Wasm artifact around one module, or a checkpoint image around a snapshot archive, and pushes it. */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "imagestore/istore.h"

struct growbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

static la_ssize_t grow_write(struct archive *a, void *ud, const void *buf, size_t n)
{
	struct growbuf *g = ud;
	if (g->len + n > g->cap) {
		g->cap = (g->len + n) * 2;
		g->data = xrealloc(g->data, g->cap);
	}
	memcpy(g->data + g->len, buf, n);
	g->len += n;
	return (la_ssize_t)n;
}

/* A tar holding one file `name` (mode 0755), gzip-compressed when `gzip`. */
static int make_tar(const char *name, const void *data, size_t len, bool gzip, bool raw,
		    struct growbuf *out, kumo_error_t *err)
{
	struct archive *a = archive_write_new();
	if (raw)
		archive_write_set_format_raw(a);
	else
		archive_write_set_format_pax_restricted(a);
	if (gzip) {
		archive_write_add_filter_gzip(a);
		archive_write_set_filter_option(a, "gzip", "compression-level", "6");
		archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
	} else {
		archive_write_add_filter_none(a);
	}
	archive_write_set_bytes_in_last_block(a, 1);
	memset(out, 0, sizeof(*out));
	if (archive_write_open2(a, out, NULL, grow_write, NULL, NULL) != ARCHIVE_OK)
		goto fail;
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, 0, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK) {
		archive_entry_free(e);
		goto fail;
	}
	archive_entry_free(e);
	size_t off = 0;
	while (off < len) {
		la_ssize_t w = archive_write_data(a, (const char *)data + off, len - off);
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		goto fail;
	archive_write_free(a);
	return 0;
fail:;
	int e2 = kumo_error(err, KUMO_E_INTERNAL, "build layer: %s", archive_error_string(a));
	archive_write_free(a);
	free(out->data);
	memset(out, 0, sizeof(*out));
	return e2;
}

static json_t *descriptor_json(const char *mt, const char *digest, size_t size)
{
	json_t *d = json_object();
	json_object_set_new(d, "mediaType", json_string(mt));
	json_object_set_new(d, "digest", json_string(digest));
	json_object_set_new(d, "size", json_integer((json_int_t)size));
	return d;
}

static char *dumps(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!s)
		abort();
	return s;
}

int imagestore_push(struct imagestore *s, const char *wasm_path, const char *refstr, bool artifact,
		    const struct imagestore_auth *auth, char **manifest_digest, kumo_error_t *err)
{
	struct imagestore_ref ref;
	if (imagestore_ref_parse(refstr, &ref, err) < 0)
		return kumo_error_wrap(err, "push");
	uint8_t *wasm = NULL;
	size_t wlen = 0;
	int rc = -1;
	struct registry r;
	bool r_ok = false;
	CURL *c = NULL;
	struct growbuf layer = {0};
	char *config = NULL, *manifest = NULL, *entry = NULL;
	char *pathcopy = xstrdup(wasm_path);
	autofree char *full = imagestore_ref_string(&ref);
	if (ref.digest) {
		kumo_error(err, KUMO_E_INVALID, "push to a digest reference: give a tag");
		goto out;
	}
	if (kumo_read_file(wasm_path, s->max_entry_bytes, &wasm, &wlen, err) < 0)
		goto out;
	if (wlen < 8 || memcmp(wasm, "\0asm", 4) != 0) {
		kumo_error(err, KUMO_E_INVALID, "`%s` is not a WebAssembly binary", wasm_path);
		goto out;
	}
	if (registry_init(&r, s, &ref, "pull,push", auth, err) < 0)
		goto out;
	r_ok = true;
	c = registry_curl();
	const char *base = basename(pathcopy);
	char layer_digest[KUMO_DIGEST_BUF], config_digest[KUMO_DIGEST_BUF], md[KUMO_DIGEST_BUF];
	const char *layer_mt, *config_mt;
	const void *layer_data;
	size_t layer_len;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char created[32];
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (artifact) {
		layer_mt = IMAGESTORE_MT_WASM_LAYER;
		config_mt = IMAGESTORE_MT_WASM_CONFIG;
		layer_data = wasm;
		layer_len = wlen;
		kumo_sha256(wasm, wlen, layer_digest);
		json_t *cfg = json_object();
		json_object_set_new(cfg, "created", json_string(created));
		json_object_set_new(cfg, "architecture", json_string("wasm"));
		json_object_set_new(cfg, "os", json_string("wasip1"));
		json_t *ld = json_array();
		json_array_append_new(ld, json_string(layer_digest));
		json_object_set_new(cfg, "layerDigests", ld);
		config = dumps(cfg);
	} else {
		struct growbuf tar;
		if (make_tar(base, wasm, wlen, false, false, &tar, err) < 0)
			goto out;
		char diff_id[KUMO_DIGEST_BUF];
		kumo_sha256(tar.data, tar.len, diff_id);
		int mrc = make_tar("layer.tar", tar.data, tar.len, true, true, &layer, err);
		free(tar.data);
		if (mrc < 0)
			goto out;
		layer_mt = IMAGESTORE_MT_OCI_LAYER_GZIP;
		config_mt = IMAGESTORE_MT_OCI_CONFIG;
		layer_data = layer.data;
		layer_len = layer.len;
		kumo_sha256(layer.data, layer.len, layer_digest);
		json_t *cfg = json_object();
		json_object_set_new(cfg, "created", json_string(created));
		json_object_set_new(cfg, "architecture", json_string("wasm"));
		json_object_set_new(cfg, "os", json_string("wasi"));
		json_t *inner = json_object();
		json_t *ep = json_array();
		entry = xasprintf("/%s", base);
		json_array_append_new(ep, json_string(entry));
		json_object_set_new(inner, "Entrypoint", ep);
		json_object_set_new(cfg, "config", inner);
		json_t *rootfs = json_object();
		json_object_set_new(rootfs, "type", json_string("layers"));
		json_t *ids = json_array();
		json_array_append_new(ids, json_string(diff_id));
		json_object_set_new(rootfs, "diff_ids", ids);
		json_object_set_new(cfg, "rootfs", rootfs);
		config = dumps(cfg);
	}
	kumo_sha256(config, strlen(config), config_digest);
	json_t *man = json_object();
	json_object_set_new(man, "schemaVersion", json_integer(2));
	json_object_set_new(man, "mediaType", json_string(IMAGESTORE_MT_OCI_MANIFEST));
	json_object_set_new(man, "config", descriptor_json(config_mt, config_digest, strlen(config)));
	json_t *layers = json_array();
	json_t *ld = descriptor_json(layer_mt, layer_digest, layer_len);
	if (artifact) {
		json_t *ann = json_object();
		json_object_set_new(ann, "org.opencontainers.image.title", json_string(base));
		json_object_set_new(ld, "annotations", ann);
	}
	json_array_append_new(layers, ld);
	json_object_set_new(man, "layers", layers);
	manifest = dumps(man);
	kumo_sha256(manifest, strlen(manifest), md);
	if (registry_upload_blob(&r, c, layer_digest, layer_data, layer_len, err) < 0 ||
	    registry_upload_blob(&r, c, config_digest, config, strlen(config), err) < 0 ||
	    registry_put_manifest(&r, c, ref.tag, IMAGESTORE_MT_OCI_MANIFEST, manifest, strlen(manifest),
				  err) < 0)
		goto out;
	if (manifest_digest)
		*manifest_digest = xstrdup(md);
	rc = 0;
out:
	if (rc < 0)
		kumo_error_wrap(err, "push `%s` to `%s`", wasm_path, full);
	if (c)
		curl_easy_cleanup(c);
	if (r_ok)
		registry_clear(&r);
	free(wasm);
	free(layer.data);
	free(config);
	free(manifest);
	free(entry);
	free(pathcopy);
	imagestore_ref_clear(&ref);
	return rc;
}

int imagestore_push_checkpoint(struct imagestore *s, const char *archive_path,
			       const char *config_json, const char *const *annotations,
			       const char *refstr, const struct imagestore_auth *auth,
			       char **manifest_digest, kumo_error_t *err)
{
	struct imagestore_ref ref;
	if (imagestore_ref_parse(refstr, &ref, err) < 0)
		return kumo_error_wrap(err, "push");
	autofree char *full = imagestore_ref_string(&ref);
	autofree char *pathcopy = xstrdup(archive_path);
	uint8_t *data = NULL;
	size_t len = 0;
	char *manifest = NULL, *config = NULL;
	struct registry r;
	bool r_ok = false;
	CURL *c = NULL;
	int rc = -1;
	json_t *cfg = json_loads(config_json ? config_json : "", 0, NULL);
	if (ref.digest) {
		kumo_error(err, KUMO_E_INVALID, "push to a digest reference: give a tag");
		goto out;
	}
	if (!json_is_object(cfg)) {
		kumo_error(err, KUMO_E_INVALID, "the checkpoint image's config is not a JSON object");
		goto out;
	}
	if (kumo_read_file(archive_path, s->max_blob_bytes, &data, &len, err) < 0)
		goto out;
	if (checkpoint_head_check(data, len, err) < 0)
		goto out;
	char layer_digest[KUMO_DIGEST_BUF], config_digest[KUMO_DIGEST_BUF], md[KUMO_DIGEST_BUF];
	kumo_sha256(data, len, layer_digest);
	config = dumps(cfg);
	cfg = NULL;
	kumo_sha256(config, strlen(config), config_digest);
	json_t *man = json_object();
	json_object_set_new(man, "schemaVersion", json_integer(2));
	json_object_set_new(man, "mediaType", json_string(IMAGESTORE_MT_OCI_MANIFEST));
	json_object_set_new(man, "config", descriptor_json(IMAGESTORE_MT_CHECKPOINT_CONFIG,
							   config_digest, strlen(config)));
	json_t *ld = descriptor_json(IMAGESTORE_MT_CHECKPOINT_LAYER, layer_digest, len);
	json_object_set_new(ld, "annotations", json_pack("{s:s}", "org.opencontainers.image.title",
							  basename(pathcopy)));
	json_t *layers = json_array();
	json_array_append_new(layers, ld);
	json_object_set_new(man, "layers", layers);
	json_t *ann = json_object();
	for (size_t i = 0; annotations && annotations[i] && annotations[i + 1]; i += 2)
		json_object_set_new(ann, annotations[i], json_string(annotations[i + 1]));
	json_object_set_new(man, "annotations", ann);
	manifest = dumps(man);
	kumo_sha256(manifest, strlen(manifest), md);
	if (registry_init(&r, s, &ref, "pull,push", auth, err) < 0)
		goto out;
	r_ok = true;
	c = registry_curl();
	if (registry_upload_blob(&r, c, layer_digest, data, len, err) < 0 ||
	    registry_upload_blob(&r, c, config_digest, config, strlen(config), err) < 0 ||
	    registry_put_manifest(&r, c, ref.tag, IMAGESTORE_MT_OCI_MANIFEST, manifest,
				  strlen(manifest), err) < 0)
		goto out;
	if (manifest_digest)
		*manifest_digest = xstrdup(md);
	rc = 0;
out:
	if (rc < 0)
		kumo_error_wrap(err, "push checkpoint `%s` to `%s`", archive_path, full);
	json_decref(cfg);
	if (c)
		curl_easy_cleanup(c);
	if (r_ok)
		registry_clear(&r);
	free(data);
	free(manifest);
	free(config);
	imagestore_ref_clear(&ref);
	return rc;
}
