/* imagestore/registry.c - the OCI distribution client on libcurl: manifests, blobs, uploads, retries and auth. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "imagestore/istore.h"

#define ACCEPT_MANIFESTS                                                                     \
	"Accept: " IMAGESTORE_MT_OCI_INDEX ", " IMAGESTORE_MT_OCI_MANIFEST                    \
	", " IMAGESTORE_MT_DOCKER_LIST ", " IMAGESTORE_MT_DOCKER_MANIFEST

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

CURL *registry_curl(void)
{
	pthread_once(&curl_once, curl_init_once);
	CURL *c = curl_easy_init();
	if (!c)
		abort();
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kumo/0.1");
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
	return c;
}

void http_resp_clear(struct http_resp *r)
{
	free(r->content_type);
	free(r->docker_digest);
	free(r->location);
	free(r->www_auth);
	free(r->content_range);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int registry_init(struct registry *r, struct imagestore *store, const struct imagestore_ref *ref,
		  const char *actions, const struct imagestore_auth *auth, kumo_error_t *err)
{
	memset(r, 0, sizeof(*r));
	r->store = store;
	r->domain = xstrdup(ref->domain);
	r->repo = xstrdup(ref->path);
	r->actions = xstrdup(actions);
	pthread_mutex_init(&r->lock, NULL);
	const char *host = strcmp(ref->domain, "docker.io") == 0 ? "registry-1.docker.io" : ref->domain;
	const char *scheme = store_is_insecure(store, ref->domain) ? "http" : "https";
	r->base = xasprintf("%s://%s/v2/%s", scheme, host, ref->path);
	if (auth && auth->registry_token && *auth->registry_token)
		r->bearer = xstrdup(auth->registry_token);
	if (auth && auth->username && *auth->username) {
		r->basic = xasprintf("%s:%s", auth->username, auth->password ? auth->password : "");
	} else if (auth && auth->auth && *auth->auth) {
		r->basic = b64_decode(auth->auth, NULL);
		if (!r->basic || !strchr(r->basic, ':')) {
			registry_clear(r);
			return kumo_error(err, KUMO_E_INVALID,
					  "auth for `%s` is not base64 of `user:password`", ref->domain);
		}
	}
	if (auth && auth->identity_token && *auth->identity_token)
		r->identity_token = xstrdup(auth->identity_token);
	if (!r->basic && !r->bearer)
		r->basic = docker_config_lookup(store->docker_config, ref->domain);
	return 0;
}

void registry_clear(struct registry *r)
{
	free(r->domain);
	free(r->base);
	free(r->repo);
	free(r->actions);
	free(r->basic);
	free(r->identity_token);
	free(r->bearer);
	pthread_mutex_destroy(&r->lock);
	memset(r, 0, sizeof(*r));
}

/* Where response bytes go: memory, or a blob file being hashed. */
struct sink {
	CURL *c;
	struct http_resp *resp;
	size_t mem_max;        /* memory bytes accepted (bodies and error bodies) */
	bool overflow;         /* more than mem_max / more than the blob's size */
	int fd;                /* blob file or -1 */
	struct kumo_sha256 *ctx;       /* blob hash */
	uint64_t base;         /* file offset the response starts at (Range) */
	uint64_t written;      /* blob bytes written by this response */
	uint64_t limit;        /* blob size */
	bool started;          /* first body byte seen */
	bool to_file;          /* this response's body goes to the file */
	int werr;              /* write errno */
	uint8_t *wbuf;         /* file bytes received but not yet written (fewer syscalls) */
	size_t wlen;           /* bytes in wbuf */
	uint64_t flushed;      /* bytes of this response already in the file */
};

#define SINK_BUF (256u << 10)

/* Writes the buffered bytes at their place in the file. */
static int sink_flush(struct sink *s)
{
	size_t done = 0;
	while (done < s->wlen) {
		ssize_t w = pwrite(s->fd, s->wbuf + done, s->wlen - done,
				   (off_t)(s->base + s->flushed + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			s->werr = errno;
			return -1;
		}
		done += (size_t)w;
	}
	s->flushed += s->wlen;
	s->wlen = 0;
	return 0;
}

char *http_header_value(const char *line, size_t n, const char *name)
{
	size_t nl = strlen(name);
	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	const char *v = line + nl + 1;
	const char *e = line + n;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
		e--;
	return xstrndup(v, (size_t)(e - v));
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nitems;
	struct http_resp *r = s->resp;
	if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* A new response (redirect or 100-continue): forget the previous headers. */
		char *body = r->body;
		size_t bl = r->body_len;
		r->body = NULL;
		http_resp_clear(r);
		r->body = body;
		r->body_len = bl;
		return n;
	}
	char **slots[] = {&r->content_type, &r->docker_digest, &r->location, &r->www_auth,
			  &r->content_range};
	const char *names[] = {"content-type", "docker-content-digest", "location",
			       "www-authenticate", "content-range"};
	for (int i = 0; i < 5; i++) {
		char *v = http_header_value(buf, n, names[i]);
		if (v) {
			free(*slots[i]);
			*slots[i] = v;
		}
	}
	return n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;
	if (!s->started) {
		s->started = true;
		long code = 0;
		curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &code);
		s->to_file = s->fd >= 0 && (code == 200 || code == 206);
		if (s->to_file && code == 200 && s->base > 0) {
			/* The registry ignored our Range: start the blob over. */
			if (ftruncate(s->fd, 0) < 0) {
				s->werr = errno;
				return 0;
			}
			kumo_sha256_reset(s->ctx);
			s->base = 0;
		}
	}
	if (s->to_file) {
		if (s->base + s->written + n > s->limit) {
			s->overflow = true;
			return 0;
		}
		if (!s->wbuf)
			s->wbuf = xmalloc(SINK_BUF);
		if (s->wlen + n > SINK_BUF && sink_flush(s) < 0)
			return 0;
		memcpy(s->wbuf + s->wlen, ptr, n); /* n <= CURL_MAX_WRITE_SIZE < SINK_BUF */
		s->wlen += n;
		kumo_sha256_update(s->ctx, ptr, n);
		s->written += n;
		return n;
	}
	struct http_resp *r = s->resp;
	if (r->body_len + n > s->mem_max) {
		s->overflow = true;
		return 0;
	}
	r->body = xrealloc(r->body, r->body_len + n + 1);
	memcpy(r->body + r->body_len, ptr, n);
	r->body_len += n;
	r->body[r->body_len] = 0;
	return n;
}

static bool curl_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

static bool status_transient(long st)
{
	return st >= 500 || st == 429 || st == 408;
}

void registry_error_text(const struct http_resp *resp, char *out, size_t n)
{
	out[0] = 0;
	if (!resp->body || !resp->body_len)
		return;
	json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
	json_t *e0 = json_array_get(json_object_get(root, "errors"), 0);
	json_t *m = json_object_get(e0, "message");
	json_t *code = json_object_get(e0, "code");
	if (json_is_string(m))
		snprintf(out, n, ": %s%s%.200s", json_is_string(code) ? json_string_value(code) : "",
			 json_is_string(code) ? " " : "", json_string_value(m));
	json_decref(root);
}

struct request {
	const char *method;       /* GET, HEAD, POST, PUT */
	const char *url;
	const char *accept;       /* full header line or NULL */
	const char *content_type; /* for bodies */
	const void *body;
	size_t body_len;
	size_t mem_max;
};

/* One logical request: answers 401 by authenticating (once per scheme), no retries.
 * Returns 0 with resp filled (any status), -1 on a transport or auth error; *cc gets
 * the curl result of the last attempt. */
static int perform(struct registry *r, CURL *c, const struct request *q, struct sink *s,
		   struct http_resp *resp, CURLcode *cc, kumo_error_t *err)
{
	for (int auth_round = 0;; auth_round++) {
		http_resp_clear(resp);
		s->resp = resp;
		s->c = c;
		s->started = false;
		s->to_file = false;
		s->overflow = false;
		s->written = 0;
		s->flushed = 0;
		s->wlen = 0;
		s->mem_max = q->mem_max ? q->mem_max : 64 * 1024;
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, r->quick ? 5L : 30L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "kumo/0.1");
		curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
		if (r->store->ca_file)
			curl_easy_setopt(c, CURLOPT_CAINFO, r->store->ca_file);
		curl_easy_setopt(c, CURLOPT_URL, q->url);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
		struct curl_slist *hdrs = NULL;
		if (q->accept)
			hdrs = curl_slist_append(hdrs, q->accept);
		autofree char *ct = q->content_type ? xasprintf("Content-Type: %s", q->content_type) : NULL;
		if (ct)
			hdrs = curl_slist_append(hdrs, ct);
		autofree char *range = NULL;
		if (s->fd >= 0 && s->base > 0) {
			range = xasprintf("Range: bytes=%llu-", (unsigned long long)s->base);
			hdrs = curl_slist_append(hdrs, range);
		}
		pthread_mutex_lock(&r->lock);
		autofree char *bearer = r->bearer ? xasprintf("Authorization: Bearer %s", r->bearer) : NULL;
		bool basic = r->use_basic && r->basic;
		pthread_mutex_unlock(&r->lock);
		if (bearer)
			hdrs = curl_slist_append(hdrs, bearer);
		else if (basic) {
			curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
			curl_easy_setopt(c, CURLOPT_USERPWD, r->basic);
		}
		if (strcmp(q->method, "HEAD") == 0) {
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		} else if (strcmp(q->method, "POST") == 0 || strcmp(q->method, "PUT") == 0) {
			curl_easy_setopt(c, CURLOPT_POST, 1L);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
			if (strcmp(q->method, "PUT") == 0)
				curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
			hdrs = curl_slist_append(hdrs, "Expect:");
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		*cc = curl_easy_perform(c);
		curl_slist_free_all(hdrs);
		if (s->wlen)
			sink_flush(s);
		free(s->wbuf);
		s->wbuf = NULL;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		if (s->werr)
			return kumo_error_errno(err, s->werr, "write blob");
		if (*cc != CURLE_OK)
			return 0;
		if (resp->status != 401)
			return 0;
		if (auth_round >= 2)
			return kumo_error(err, KUMO_E_PERMISSION, "registry `%s` refused %s (HTTP 401)",
					  r->domain, r->basic ? "the credentials" : "anonymous access");
		struct challenge ch;
		if (!resp->www_auth || challenge_parse(resp->www_auth, &ch) < 0)
			return kumo_error(err, KUMO_E_PERMISSION,
					  "registry `%s` answered 401 without a usable challenge",
					  r->domain);
		if (strcmp(ch.scheme, "bearer") == 0) {
			char *token = NULL;
			int rc = auth_fetch_token(r, &ch, &token, err);
			challenge_clear(&ch);
			if (rc < 0)
				return kumo_error_wrap(err, "authenticate to `%s`", r->domain);
			pthread_mutex_lock(&r->lock);
			free(r->bearer);
			r->bearer = token;
			pthread_mutex_unlock(&r->lock);
		} else if (strcmp(ch.scheme, "basic") == 0) {
			challenge_clear(&ch);
			if (!r->basic)
				return kumo_error(err, KUMO_E_PERMISSION,
						  "registry `%s` requires credentials and none were given",
						  r->domain);
			if (basic)
				return kumo_error(err, KUMO_E_PERMISSION,
						  "registry `%s` refused the credentials (HTTP 401)",
						  r->domain);
			pthread_mutex_lock(&r->lock);
			r->use_basic = true;
			free(r->bearer);
			r->bearer = NULL;
			pthread_mutex_unlock(&r->lock);
		} else {
			int e = kumo_error(err, KUMO_E_UNSUPPORTED,
					   "registry `%s` wants unsupported auth scheme `%s`", r->domain,
					   ch.scheme);
			challenge_clear(&ch);
			return e;
		}
	}
}

static void backoff(struct registry *r, int attempt)
{
	unsigned ms = r->store->backoff_ms << (attempt < 10 ? attempt : 10);
	if (ms > 10000)
		ms = 10000;
	usleep(ms * 1000u);
}

/* A request with an in-memory body, retried with backoff on transient failures. */
static int request_mem(struct registry *r, CURL *c, const struct request *q,
		       struct http_resp *resp, kumo_error_t *err)
{
	for (int attempt = 0;; attempt++) {
		struct sink s = {.fd = -1};
		CURLcode cc;
		if (perform(r, c, q, &s, resp, &cc, err) < 0)
			return -1;
		if (s.overflow)
			return kumo_error(err, KUMO_E_INVALID, "%s `%s`: response is larger than %zu bytes",
					  q->method, q->url, s.mem_max);
		bool transient = cc != CURLE_OK ? curl_transient(cc) : status_transient(resp->status);
		if (!transient || r->quick || attempt >= r->store->retries) {
			if (cc != CURLE_OK)
				return kumo_error(err, KUMO_E_UNAVAILABLE, "%s `%s`: %s", q->method, q->url,
						  curl_easy_strerror(cc));
			return 0;
		}
		log_debug("%s %s: %s, retrying", q->method, q->url,
			  cc != CURLE_OK ? curl_easy_strerror(cc) : "server error");
		backoff(r, attempt);
	}
}

static int status_error(struct registry *r, const char *what, const struct http_resp *resp,
			kumo_error_t *err)
{
	char text[300];
	registry_error_text(resp, text, sizeof(text));
	int st = resp->status == 404   ? KUMO_E_NOT_FOUND
		 : resp->status == 403 ? KUMO_E_PERMISSION
		 : resp->status >= 500 ? KUMO_E_UNAVAILABLE
				       : KUMO_E_INVALID;
	return kumo_error(err, st, "%s: registry `%s` answered HTTP %ld%s", what, r->domain,
			  resp->status, text);
}

int registry_get_manifest(struct registry *r, CURL *c, const char *reference,
			  struct http_resp *resp, kumo_error_t *err)
{
	autofree char *url = xasprintf("%s/manifests/%s", r->base, reference);
	struct request q = {.method = "GET", .url = url, .accept = ACCEPT_MANIFESTS,
			    .mem_max = r->store->max_manifest_bytes};
	if (request_mem(r, c, &q, resp, err) < 0)
		return kumo_error_wrap(err, "get manifest `%s`", reference);
	if (resp->status != 200) {
		autofree char *what = xasprintf("get manifest `%s` of `%s`", reference, r->repo);
		return status_error(r, what, resp, err);
	}
	return 0;
}

int registry_get_blob_mem(struct registry *r, CURL *c, const struct descriptor *d,
			  struct http_resp *resp, kumo_error_t *err)
{
	autofree char *url = xasprintf("%s/blobs/%s", r->base, d->digest);
	struct request q = {.method = "GET", .url = url, .mem_max = (size_t)d->size};
	if (request_mem(r, c, &q, resp, err) < 0)
		return kumo_error_wrap(err, "get blob `%s`", d->digest);
	if (resp->status != 200) {
		autofree char *what = xasprintf("get blob `%s`", d->digest);
		return status_error(r, what, resp, err);
	}
	return 0;
}

int registry_fetch_blob(struct registry *r, CURL *c, const struct descriptor *d, int fd,
			uint64_t offset, struct kumo_sha256 *ctx, kumo_error_t *err)
{
	autofree char *url = xasprintf("%s/blobs/%s", r->base, d->digest);
	struct request q = {.method = "GET", .url = url, .mem_max = 64 * 1024};
	int attempt = 0;
	for (;;) {
		struct http_resp resp = {0};
		struct sink s = {.fd = fd, .ctx = ctx, .base = offset, .limit = d->size};
		CURLcode cc;
		if (offset >= d->size && d->size > 0) {
			http_resp_clear(&resp);
			return 0;
		}
		int rc = perform(r, c, &q, &s, &resp, &cc, err);
		offset = s.base + s.written;
		if (rc < 0) {
			http_resp_clear(&resp);
			return kumo_error_wrap(err, "get blob `%s`", d->digest);
		}
		if (s.overflow && s.to_file) {
			http_resp_clear(&resp);
			return kumo_error(err, KUMO_E_INVALID,
					  "get blob `%s`: registry sent more than the %llu bytes "
					  "the descriptor says",
					  d->digest, (unsigned long long)d->size);
		}
		if (cc == CURLE_OK && (resp.status == 200 || resp.status == 206)) {
			http_resp_clear(&resp);
			if (offset != d->size)
				return kumo_error(err, KUMO_E_INVALID,
						  "get blob `%s`: got %llu bytes, descriptor says %llu",
						  d->digest, (unsigned long long)offset,
						  (unsigned long long)d->size);
			return 0;
		}
		if (cc == CURLE_OK && resp.status == 416 && offset > 0) {
			/* Our partial file is not a prefix the registry agrees with: start over. */
			if (ftruncate(fd, 0) < 0) {
				http_resp_clear(&resp);
				return kumo_error_errno(err, errno, "truncate partial blob");
			}
			kumo_sha256_reset(ctx);
			offset = 0;
		} else {
			bool transient = cc != CURLE_OK ? curl_transient(cc) : status_transient(resp.status);
			if (!transient || attempt >= r->store->retries) {
				int e;
				if (cc != CURLE_OK)
					e = kumo_error(err, KUMO_E_UNAVAILABLE,
						       "get blob `%s`: %s (after %d attempts, %llu of %llu bytes)",
						       d->digest, curl_easy_strerror(cc), attempt + 1,
						       (unsigned long long)offset,
						       (unsigned long long)d->size);
				else {
					autofree char *what = xasprintf("get blob `%s`", d->digest);
					e = status_error(r, what, &resp, err);
				}
				http_resp_clear(&resp);
				return e;
			}
		}
		log_debug("get blob %s: %s at byte %llu, retrying", d->digest,
			  cc != CURLE_OK ? curl_easy_strerror(cc) : "server error",
			  (unsigned long long)offset);
		http_resp_clear(&resp);
		backoff(r, attempt);
		attempt++;
	}
}

int registry_blob_exists(struct registry *r, CURL *c, const char *digest, kumo_error_t *err)
{
	autofree char *url = xasprintf("%s/blobs/%s", r->base, digest);
	struct request q = {.method = "HEAD", .url = url};
	struct http_resp resp = {0};
	int rc = request_mem(r, c, &q, &resp, err);
	long st = resp.status;
	http_resp_clear(&resp);
	if (rc < 0)
		return -1;
	if (st == 200)
		return 1;
	if (st == 404)
		return 0;
	return kumo_error(err, KUMO_E_UNAVAILABLE, "head blob `%s`: registry `%s` answered HTTP %ld",
			  digest, r->domain, st);
}

int registry_upload_blob(struct registry *r, CURL *c, const char *digest, const void *data,
			 size_t len, kumo_error_t *err)
{
	int ex = registry_blob_exists(r, c, digest, err);
	if (ex < 0)
		return -1;
	if (ex == 1)
		return 0;
	autofree char *url = xasprintf("%s/blobs/uploads/", r->base);
	struct request q = {.method = "POST", .url = url};
	struct http_resp resp = {0};
	if (request_mem(r, c, &q, &resp, err) < 0)
		return kumo_error_wrap(err, "start upload of `%s`", digest);
	if (resp.status != 202 || !resp.location) {
		int e = status_error(r, "start blob upload", &resp, err);
		http_resp_clear(&resp);
		return e;
	}
	/* Location may be relative to the registry. */
	CURLU *u = curl_url();
	char *put_url = NULL;
	autofree char *query = xasprintf("digest=%s", digest);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, resp.location, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_QUERY, query, CURLU_APPENDQUERY) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &put_url, 0) != CURLUE_OK) {
		curl_url_cleanup(u);
		int e = kumo_error(err, KUMO_E_INVALID, "registry `%s` sent a bad upload location `%.200s`",
				   r->domain, resp.location);
		http_resp_clear(&resp);
		return e;
	}
	curl_url_cleanup(u);
	http_resp_clear(&resp);
	struct request p = {.method = "PUT", .url = put_url, .content_type = "application/octet-stream",
			    .body = data, .body_len = len};
	int rc = request_mem(r, c, &p, &resp, err);
	curl_free(put_url);
	if (rc < 0)
		return kumo_error_wrap(err, "upload blob `%s`", digest);
	if (resp.status != 201) {
		autofree char *what = xasprintf("upload blob `%s`", digest);
		int e = status_error(r, what, &resp, err);
		http_resp_clear(&resp);
		return e;
	}
	http_resp_clear(&resp);
	return 0;
}

int registry_put_manifest(struct registry *r, CURL *c, const char *reference,
			  const char *media_type, const void *data, size_t len, kumo_error_t *err)
{
	autofree char *url = xasprintf("%s/manifests/%s", r->base, reference);
	struct request q = {.method = "PUT", .url = url, .content_type = media_type, .body = data,
			    .body_len = len};
	struct http_resp resp = {0};
	if (request_mem(r, c, &q, &resp, err) < 0)
		return kumo_error_wrap(err, "put manifest `%s`", reference);
	if (resp.status != 201 && resp.status != 200) {
		autofree char *what = xasprintf("put manifest `%s`", reference);
		int e = status_error(r, what, &resp, err);
		http_resp_clear(&resp);
		return e;
	}
	http_resp_clear(&resp);
	return 0;
}
