/* imagestore/probe.c - what an image is (WebAssembly or not), asked of its registry
 * without pulling it: the manifest or index, and an image manifest's config. */
#include <string.h>

#include "imagestore/istore.h"

/* GETs a manifest or config body and checks it against `want` (a digest) when given.
 * The registry's own Docker-Content-Digest must agree with the bytes either way. */
static int verified(const struct http_resp *resp, const char *want, const char *what,
		    char digest[KUMO_DIGEST_BUF], kumo_error_t *err)
{
	kumo_sha256(resp->body ? resp->body : "", resp->body_len, digest);
	if (want && strcmp(digest, want) != 0)
		return kumo_error(err, KUMO_E_INVALID, "%s `%s` does not match its digest (got `%s`)",
				  what, want, digest);
	if (!want && resp->docker_digest && digest_valid(resp->docker_digest) &&
	    strcmp(resp->docker_digest, digest) != 0)
		return kumo_error(err, KUMO_E_INVALID, "%s hashes to `%s` but the registry says `%s`",
				  what, digest, resp->docker_digest);
	return 0;
}

static int probe_registry(struct imagestore *s, struct registry *r, const struct imagestore_ref *ref,
			  struct imagestore_probe *out, kumo_error_t *err)
{
	CURL *c = registry_curl();
	struct http_resp resp = {0}, cresp = {0};
	struct manifest m = {0};
	char digest[KUMO_DIGEST_BUF], cdigest[KUMO_DIGEST_BUF];
	int rc = -1;
	if (registry_get_manifest(r, c, ref->digest ? ref->digest : ref->tag, &resp, err) < 0 ||
	    verified(&resp, ref->digest, "manifest", digest, err) < 0 ||
	    manifest_parse(resp.body ? resp.body : "", resp.body_len, resp.content_type,
			   s->max_blob_bytes, &m, err) < 0)
		goto out;
	int k = manifest_classify(&m, NULL, 0, &out->wasm, &out->what, err);
	if (k == 1) {
		/* An image manifest that is not the artifact: its config names the platform. */
		if (m.config.size > s->max_manifest_bytes) {
			kumo_error(err, KUMO_E_INVALID, "config `%s` is %llu bytes (limit %llu)",
				   m.config.digest, (unsigned long long)m.config.size,
				   (unsigned long long)s->max_manifest_bytes);
			goto out;
		}
		if (registry_get_blob_mem(r, c, &m.config, &cresp, err) < 0 ||
		    verified(&cresp, m.config.digest, "config", cdigest, err) < 0)
			goto out;
		k = manifest_classify(&m, cresp.body ? cresp.body : "", cresp.body_len, &out->wasm,
				      &out->what, err);
	}
	if (k < 0)
		goto out;
	out->digest = xstrdup(digest);
	rc = 0;
out:
	manifest_clear(&m);
	http_resp_clear(&resp);
	http_resp_clear(&cresp);
	curl_easy_cleanup(c);
	return rc;
}

int imagestore_probe(struct imagestore *s, const char *refstr, const struct imagestore_auth *auth,
		     struct imagestore_probe *out, kumo_error_t *err)
{
	*out = (struct imagestore_probe){0};
	struct imagestore_ref ref;
	if (imagestore_ref_parse(refstr, &ref, err) < 0)
		return kumo_error_wrap(err, "probe");
	autofree char *full = imagestore_ref_string(&ref);
	struct registry r;
	int rc = registry_init(&r, s, &ref, "pull", auth, err);
	if (rc == 0) {
		r.quick = true;
		rc = probe_registry(s, &r, &ref, out, err);
		registry_clear(&r);
	}
	imagestore_ref_clear(&ref);
	if (rc < 0) {
		imagestore_probe_clear(out);
		return kumo_error_wrap(err, "probe `%s`", full);
	}
	return 0;
}

void imagestore_probe_clear(struct imagestore_probe *p)
{
	free(p->what);
	free(p->digest);
	*p = (struct imagestore_probe){0};
}
