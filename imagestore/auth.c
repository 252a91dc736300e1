/* imagestore/auth.c - registry auth: WWW-Authenticate challenges, bearer tokens, docker config.json. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "imagestore/istore.h"

char *b64_encode(const void *data, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

char *b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	if (n % 4 != 0 || n > (1 << 20))
		return NULL;
	unsigned char *out = xmalloc(n / 4 * 3 + 1);
	int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (r < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts padding as data: take it off, but "l=======" has more '='
	 * than a block can carry (it made l wrap and wrote before the buffer). */
	size_t pad = 0;
	while (pad < n && s[n - 1 - pad] == '=')
		pad++;
	if (pad > 2 || (size_t)r < pad) {
		free(out);
		return NULL;
	}
	size_t l = (size_t)r - pad;
	out[l] = 0;
	if (len)
		*len = l;
	return (char *)out;
}

void challenge_clear(struct challenge *c)
{
	free(c->scheme);
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

/* Only the first challenge of the header is used: registries send one. */
int challenge_parse(const char *h, struct challenge *out)
{
	memset(out, 0, sizeof(*out));
	while (*h == ' ')
		h++;
	size_t sl = 0;
	while (h[sl] && h[sl] != ' ')
		sl++;
	if (sl == 0)
		return -1;
	out->scheme = xstrndup(h, sl);
	for (char *p = out->scheme; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	const char *p = h + sl;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *k = p;
		while (*p && *p != '=' && *p != ',' && *p != ' ')
			p++;
		size_t kl = (size_t)(p - k);
		if (*p != '=')
			continue;
		p++;
		char val[2048];
		size_t vl = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				if (vl < sizeof(val) - 1)
					val[vl++] = *p;
				p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != ' ') {
				if (vl < sizeof(val) - 1)
					val[vl++] = *p;
				p++;
			}
		}
		val[vl] = 0;
		char **slot = NULL;
		if (kl == 5 && strncasecmp(k, "realm", 5) == 0)
			slot = &out->realm;
		else if (kl == 7 && strncasecmp(k, "service", 7) == 0)
			slot = &out->service;
		else if (kl == 5 && strncasecmp(k, "scope", 5) == 0)
			slot = &out->scope;
		if (slot) {
			free(*slot);
			*slot = xstrdup(val);
		}
	}
	return 0;
}

static bool docker_key_matches(const char *key, const char *domain)
{
	/* Keys are "host", "https://host", "https://host/v1/"; Docker Hub's is the index URL. */
	const char *k = key;
	if (strncmp(k, "https://", 8) == 0)
		k += 8;
	else if (strncmp(k, "http://", 7) == 0)
		k += 7;
	size_t kl = strcspn(k, "/");
	if (strcmp(domain, "docker.io") == 0)
		return (kl == 15 && strncmp(k, "index.docker.io", 15) == 0) ||
		       (kl == 9 && strncmp(k, "docker.io", 9) == 0) ||
		       (kl == 19 && strncmp(k, "registry-1.docker.io", 19) == 0);
	return strlen(domain) == kl && strncmp(k, domain, kl) == 0;
}

char *docker_config_lookup(const char *config_path, const char *domain)
{
	if (!config_path || !*config_path)
		return NULL;
	json_t *root = json_load_file(config_path, 0, NULL);
	if (!root)
		return NULL;
	char *res = NULL;
	json_t *auths = json_object_get(root, "auths");
	const char *key;
	json_t *v;
	json_object_foreach(auths, key, v)
	{
		if (!docker_key_matches(key, domain))
			continue;
		json_t *a = json_object_get(v, "auth");
		json_t *u = json_object_get(v, "username"), *p = json_object_get(v, "password");
		if (json_is_string(a) && json_string_length(a) > 0) {
			res = b64_decode(json_string_value(a), NULL);
			if (res && !strchr(res, ':')) {
				free(res);
				res = NULL;
			}
		} else if (json_is_string(u) && json_is_string(p)) {
			res = xasprintf("%s:%s", json_string_value(u), json_string_value(p));
		}
		if (res)
			break;
	}
	json_decref(root);
	return res;
}

struct membuf {
	char *data;
	size_t len;
	size_t max;
};

static size_t mem_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct membuf *m = ud;
	size_t n = size * nmemb;
	if (m->len + n > m->max)
		return 0;
	m->data = xrealloc(m->data, m->len + n + 1);
	memcpy(m->data + m->len, ptr, n);
	m->len += n;
	m->data[m->len] = 0;
	return n;
}

int auth_fetch_token(struct registry *r, const struct challenge *ch, char **token, kumo_error_t *err)
{
	if (!ch->realm)
		return kumo_error(err, KUMO_E_PERMISSION,
				  "registry `%s` asked for a bearer token without a realm", r->domain);
	if (strncmp(ch->realm, "https://", 8) != 0 && strncmp(ch->realm, "http://", 7) != 0)
		return kumo_error(err, KUMO_E_PERMISSION, "token realm `%s` is not an http(s) URL",
				  ch->realm);
	CURL *c = registry_curl();
	autofree char *scope_default = xasprintf("repository:%s:%s", r->repo, r->actions);
	char *svc = curl_easy_escape(c, ch->service ? ch->service : "", 0);
	/* Our scope: the challenge's may name only pull when we want to push. */
	char *scope = curl_easy_escape(c, scope_default, 0);
	autofree char *url = xasprintf("%s%sservice=%s&scope=%s", ch->realm,
				       strchr(ch->realm, '?') ? "&" : "?", svc, scope);
	curl_free(svc);
	curl_free(scope);
	struct membuf m = {.max = 1 << 20};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, mem_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
	if (r->store->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->store->ca_file);
	if (r->basic) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERPWD, r->basic);
	}
	CURLcode cc = CURLE_OK;
	long status = 0;
	for (int attempt = 0;; attempt++) {
		m.len = 0;
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		bool transient = cc != CURLE_OK || status >= 500;
		if (!transient || attempt >= r->store->retries)
			break;
		usleep((useconds_t)(r->store->backoff_ms << attempt) * 1000);
	}
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		free(m.data);
		return kumo_error(err, KUMO_E_UNAVAILABLE, "token server `%s`: %s", ch->realm,
				  curl_easy_strerror(cc));
	}
	if (status == 401 || status == 403) {
		free(m.data);
		return kumo_error(err, KUMO_E_PERMISSION,
				  "token server `%s` refused %s (HTTP %ld)", ch->realm,
				  r->basic ? "the credentials" : "anonymous access", status);
	}
	if (status != 200) {
		free(m.data);
		return kumo_error(err, KUMO_E_UNAVAILABLE, "token server `%s` answered HTTP %ld",
				  ch->realm, status);
	}
	int rc = auth_token_parse(m.data ? m.data : "", m.len, token);
	free(m.data);
	if (rc < 0)
		return kumo_error(err, KUMO_E_PERMISSION, "token server `%s` sent no token",
				  ch->realm);
	return 0;
}

int auth_token_parse(const char *body, size_t len, char **token)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *t = json_object_get(root, "token");
	if (!json_is_string(t) || json_string_length(t) == 0)
		t = json_object_get(root, "access_token");
	if (!json_is_string(t) || json_string_length(t) == 0) {
		json_decref(root);
		return -1;
	}
	*token = xstrdup(json_string_value(t));
	json_decref(root);
	return 0;
}
