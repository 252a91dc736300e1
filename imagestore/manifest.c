/* imagestore/manifest.c - OCI/Docker manifests, indexes and image configs (jansson), and platform selection. */
#include <string.h>

#include <jansson.h>

#include "imagestore/istore.h"

size_t strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

char **strv_dup(char *const *v)
{
	size_t n = strv_len(v);
	char **o = xzalloc((n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		o[i] = xstrdup(v[i]);
	return o;
}

void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

bool platform_is_wasm(const char *os, const char *arch)
{
	return os && arch && (strcmp(os, "wasi") == 0 || strcmp(os, "wasip1") == 0) &&
	       strcmp(arch, "wasm") == 0;
}

static void descriptor_clear(struct descriptor *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	memset(d, 0, sizeof(*d));
}

void manifest_clear(struct manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	descriptor_clear(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_clear(&m->layers[i]);
	free(m->layers);
	for (size_t i = 0; i < m->n_manifests; i++)
		descriptor_clear(&m->manifests[i]);
	free(m->manifests);
	strv_free(m->annotations);
	memset(m, 0, sizeof(*m));
}

static const char *json_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int parse_descriptor(json_t *j, const char *what, size_t idx, uint64_t max_size,
			    struct descriptor *d, kumo_error_t *err)
{
	if (!json_is_object(j))
		return kumo_error(err, KUMO_E_INVALID, "%s %zu is not an object", what, idx);
	const char *mt = json_str(j, "mediaType");
	const char *dg = json_str(j, "digest");
	json_t *sz = json_object_get(j, "size");
	if (!dg)
		return kumo_error(err, KUMO_E_INVALID, "%s %zu has no digest", what, idx);
	if (!digest_valid(dg))
		return kumo_error(err, KUMO_E_INVALID, "%s %zu has unsupported digest `%.80s`",
				  what, idx, dg);
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return kumo_error(err, KUMO_E_INVALID, "%s %zu has no valid size", what, idx);
	uint64_t size = (uint64_t)json_integer_value(sz);
	if (size > max_size)
		return kumo_error(err, KUMO_E_INVALID,
				  "%s %zu is %llu bytes, more than the limit of %llu", what, idx,
				  (unsigned long long)size, (unsigned long long)max_size);
	d->media_type = xstrdup(mt ? mt : "");
	d->digest = xstrdup(dg);
	d->size = size;
	json_t *p = json_object_get(j, "platform");
	if (json_is_object(p)) {
		const char *os = json_str(p, "os"), *arch = json_str(p, "architecture"),
			   *var = json_str(p, "variant");
		d->os = os ? xstrdup(os) : NULL;
		d->arch = arch ? xstrdup(arch) : NULL;
		d->variant = var ? xstrdup(var) : NULL;
	}
	return 0;
}

#define MAX_ANNOTATIONS 256

/* The manifest's annotations (a map of strings, or absent) into out->annotations. */
static int parse_annotations(json_t *root, struct manifest *out, kumo_error_t *err)
{
	json_t *an = json_object_get(root, "annotations");
	size_t n = json_is_object(an) ? json_object_size(an) : 0;
	out->annotations = xzalloc((2 * n + 1) * sizeof(char *));
	if (!an || json_is_null(an))
		return 0;
	if (!json_is_object(an))
		return kumo_error(err, KUMO_E_INVALID, "manifest annotations are not an object");
	if (n > MAX_ANNOTATIONS)
		return kumo_error(err, KUMO_E_INVALID, "manifest has %zu annotations (limit %d)", n,
				  MAX_ANNOTATIONS);
	const char *key;
	json_t *v;
	size_t k = 0;
	json_object_foreach(an, key, v) {
		if (!json_is_string(v))
			return kumo_error(err, KUMO_E_INVALID,
					  "manifest annotation `%.100s` is not a string", key);
		out->annotations[k++] = xstrdup(key);
		out->annotations[k++] = xstrdup(json_string_value(v));
	}
	return 0;
}

const char *manifest_annotation(const struct manifest *m, const char *key)
{
	for (size_t i = 0; m->annotations && m->annotations[i]; i += 2)
		if (strcmp(m->annotations[i], key) == 0)
			return m->annotations[i + 1];
	return NULL;
}

int manifest_checkpoint(const struct manifest *m, const char *what, kumo_error_t *err)
{
	if (m->kind != MANIFEST_IMAGE)
		return 0;
	bool cfg = strcmp(m->config.media_type, IMAGESTORE_MT_CHECKPOINT_CONFIG) == 0;
	size_t nck = 0;
	for (size_t i = 0; i < m->n_layers; i++)
		nck += strcmp(m->layers[i].media_type, IMAGESTORE_MT_CHECKPOINT_LAYER) == 0;
	if (!cfg && !nck)
		return 0;
	if (!cfg)
		return kumo_error(err, KUMO_E_INVALID,
				  "checkpoint image `%s` has config media type `%.100s`, want `%s`",
				  what, m->config.media_type, IMAGESTORE_MT_CHECKPOINT_CONFIG);
	if (m->n_layers != 1 || nck != 1)
		return kumo_error(err, KUMO_E_INVALID,
				  "checkpoint image `%s` has %zu layers (%zu of type `%s`), want "
				  "exactly one: the snapshot archive",
				  what, m->n_layers, nck, IMAGESTORE_MT_CHECKPOINT_LAYER);
	return 1;
}

static bool is_index_type(const char *mt)
{
	return strcmp(mt, IMAGESTORE_MT_OCI_INDEX) == 0 || strcmp(mt, IMAGESTORE_MT_DOCKER_LIST) == 0;
}

static bool is_manifest_type(const char *mt)
{
	return strcmp(mt, IMAGESTORE_MT_OCI_MANIFEST) == 0 ||
	       strcmp(mt, IMAGESTORE_MT_DOCKER_MANIFEST) == 0;
}

int manifest_parse(const char *data, size_t len, const char *content_type, uint64_t max_size,
		   struct manifest *out, kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	json_error_t jerr;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return kumo_error(err, KUMO_E_INVALID, "manifest is not valid JSON: %s (line %d)",
				  jerr.text, jerr.line);
	int rc = -1;
	if (!json_is_object(root)) {
		kumo_error(err, KUMO_E_INVALID, "manifest is not a JSON object");
		goto out;
	}
	json_t *sv = json_object_get(root, "schemaVersion");
	if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
		kumo_error(err, KUMO_E_UNSUPPORTED, "unsupported manifest schemaVersion (want 2)");
		goto out;
	}
	/* The Content-Type decides, unless it is generic; the body must not contradict it. */
	const char *body_mt = json_str(root, "mediaType");
	char ct[256] = "";
	if (content_type) {
		snprintf(ct, sizeof(ct), "%s", content_type);
		char *semi = strchr(ct, ';');
		if (semi)
			*semi = 0;
		for (char *e = ct + strlen(ct); e > ct && (e[-1] == ' ' || e[-1] == '\t'); e--)
			e[-1] = 0;
	}
	const char *mt = ct[0] && strcmp(ct, "application/json") != 0 &&
				     strcmp(ct, "application/octet-stream") != 0
			     ? ct
			     : body_mt;
	if (!mt) {
		/* OCI allows a manifest without mediaType: infer from its shape. */
		mt = json_object_get(root, "manifests") ? IMAGESTORE_MT_OCI_INDEX
							: IMAGESTORE_MT_OCI_MANIFEST;
	}
	if (!is_index_type(mt) && !is_manifest_type(mt)) {
		kumo_error(err, KUMO_E_UNSUPPORTED,
			   "unsupported manifest media type `%.100s` (want an OCI or Docker schema 2 "
			   "manifest or index)",
			   mt);
		goto out;
	}
	if (body_mt && strcmp(body_mt, mt) != 0) {
		kumo_error(err, KUMO_E_INVALID,
			   "manifest says mediaType `%.100s` but was served as `%.100s`", body_mt, mt);
		goto out;
	}
	out->media_type = xstrdup(mt);
	if (parse_annotations(root, out, err) < 0)
		goto out;
	if (is_index_type(mt)) {
		out->kind = MANIFEST_INDEX;
		json_t *arr = json_object_get(root, "manifests");
		if (!json_is_array(arr)) {
			kumo_error(err, KUMO_E_INVALID, "index has no manifests array");
			goto out;
		}
		size_t n = json_array_size(arr);
		if (n > 1024) {
			kumo_error(err, KUMO_E_INVALID, "index has %zu manifests (limit 1024)", n);
			goto out;
		}
		out->manifests = xzalloc((n ? n : 1) * sizeof(struct descriptor));
		for (size_t i = 0; i < n; i++) {
			out->n_manifests = i + 1;
			if (parse_descriptor(json_array_get(arr, i), "index entry", i, max_size,
					     &out->manifests[i], err) < 0)
				goto out;
		}
	} else if (is_manifest_type(mt)) {
		out->kind = MANIFEST_IMAGE;
		if (parse_descriptor(json_object_get(root, "config"), "config", 0, max_size,
				     &out->config, err) < 0)
			goto out;
		json_t *arr = json_object_get(root, "layers");
		if (!json_is_array(arr)) {
			kumo_error(err, KUMO_E_INVALID, "manifest has no layers array");
			goto out;
		}
		size_t n = json_array_size(arr);
		if (n > 256) {
			kumo_error(err, KUMO_E_INVALID, "manifest has %zu layers (limit 256)", n);
			goto out;
		}
		out->layers = xzalloc((n ? n : 1) * sizeof(struct descriptor));
		for (size_t i = 0; i < n; i++) {
			out->n_layers = i + 1;
			if (parse_descriptor(json_array_get(arr, i), "layer", i, max_size,
					     &out->layers[i], err) < 0)
				goto out;
		}
	} else {
		kumo_error(err, KUMO_E_UNSUPPORTED,
			   "unsupported manifest media type `%.100s` (want an OCI or Docker schema 2 "
			   "manifest or index)",
			   mt);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		manifest_clear(out);
	return rc;
}

int manifest_select_wasm(const struct manifest *index, const char *what, size_t *out,
			 kumo_error_t *err)
{
	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct descriptor *d = &index->manifests[i];
		if (platform_is_wasm(d->os, d->arch) && is_manifest_type(d->media_type)) {
			*out = i;
			return 0;
		}
	}
	char list[512] = "";
	size_t used = 0;
	for (size_t i = 0; i < index->n_manifests && used < sizeof(list) - 64; i++) {
		const struct descriptor *d = &index->manifests[i];
		int n = snprintf(list + used, sizeof(list) - used, "%s%.40s/%.40s%s%.20s",
				 used ? ", " : "", d->os ? d->os : "?", d->arch ? d->arch : "?",
				 d->variant ? "/" : "", d->variant ? d->variant : "");
		if (n > 0)
			used += (size_t)n;
	}
	return kumo_error(err, KUMO_E_UNSUPPORTED,
			  "image `%s` has no wasi/wasm platform (it has %s)", what,
			  used ? list : "no platforms");
}

static char **json_strv(json_t *arr)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	char **v = xzalloc((n + 1) * sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(arr, i);
		if (json_is_string(e))
			v[k++] = xstrdup(json_string_value(e));
	}
	return v;
}

void image_config_clear(struct image_config *c)
{
	if (!c)
		return;
	free(c->os);
	free(c->arch);
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->env);
	free(c->working_dir);
	free(c->user);
	memset(c, 0, sizeof(*c));
}

int image_config_parse(const char *data, size_t len, struct image_config *out, kumo_error_t *err)
{
	memset(out, 0, sizeof(*out));
	json_error_t jerr;
	json_t *root = json_loadb(data, len, 0, &jerr);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return kumo_error(err, KUMO_E_INVALID, "image config is not a JSON object");
	}
	const char *os = json_str(root, "os"), *arch = json_str(root, "architecture");
	out->os = os ? xstrdup(os) : NULL;
	out->arch = arch ? xstrdup(arch) : NULL;
	json_t *cfg = json_object_get(root, "config");
	out->entrypoint = json_strv(json_object_get(cfg, "Entrypoint"));
	out->cmd = json_strv(json_object_get(cfg, "Cmd"));
	out->env = json_strv(json_object_get(cfg, "Env"));
	const char *wd = json_str(cfg, "WorkingDir"), *user = json_str(cfg, "User");
	out->working_dir = wd && *wd ? xstrdup(wd) : NULL;
	out->user = user && *user ? xstrdup(user) : NULL;
	json_decref(root);
	return 0;
}

int manifest_classify(const struct manifest *m, const char *config, size_t len, bool *wasm,
		      char **what, kumo_error_t *err)
{
	if (m->kind == MANIFEST_INDEX) {
		char list[512] = "";
		size_t used = 0;
		*wasm = false;
		for (size_t i = 0; i < m->n_manifests; i++) {
			const struct descriptor *d = &m->manifests[i];
			*wasm |= platform_is_wasm(d->os, d->arch);
			if (used < sizeof(list) - 64) {
				int n = snprintf(list + used, sizeof(list) - used, "%s%.40s/%.40s%s%.20s",
						 used ? ", " : "", d->os ? d->os : "?",
						 d->arch ? d->arch : "?", d->variant ? "/" : "",
						 d->variant ? d->variant : "");
				if (n > 0)
					used += (size_t)n;
			}
		}
		*what = xstrdup(used ? list : "an index without platforms");
		return 0;
	}
	kumo_error_t cerr = NULL;
	int ck = manifest_checkpoint(m, "?", &cerr);
	kumo_error_free(&cerr);
	if (ck != 0) { /* kumo's, well formed or not: its pull says what is wrong */
		*wasm = true;
		*what = xstrdup("a kumo checkpoint");
		return 0;
	}
	bool artifact = strcmp(m->config.media_type, IMAGESTORE_MT_WASM_CONFIG) == 0;
	for (size_t i = 0; i < m->n_layers && !artifact; i++)
		artifact = strcmp(m->layers[i].media_type, IMAGESTORE_MT_WASM_LAYER) == 0;
	if (artifact) {
		*wasm = true;
		*what = xstrdup("the Wasm artifact");
		return 0;
	}
	if (!config)
		return 1;
	struct image_config c;
	if (image_config_parse(config, len, &c, err) < 0)
		return kumo_error_wrap(err, "image config");
	*wasm = platform_is_wasm(c.os, c.arch);
	*what = xasprintf("%.40s/%.40s", c.os ? c.os : "?", c.arch ? c.arch : "?");
	image_config_clear(&c);
	return 0;
}
