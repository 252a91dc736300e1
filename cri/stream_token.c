/* cri/stream_token.c - single-use, short-lived tokens naming a pending stream request,
 * with a memory of used and expired tokens so a client hears which it was. */
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "cri/stream_impl.h"
#include "cri/websocket.h"

#define TOKEN_BYTES 32
#define TOKEN_CHARS 43 /* unpadded base64 of 32 bytes */
/* Used and expired tokens are remembered this long (for the message) and at most this
 * many of them. */
#define TOMBSTONE_NS (600ull * 1000000000ull)
#define MAX_TOMBSTONES 4096

struct tok {
	char token[TOKEN_CHARS + 1];
	uint64_t expires_ns;           /* monotonic */
	struct cri_stream_request *req; /* NULL once used or expired (a tombstone) */
	bool used;                     /* the tombstone's cause: used, else expired */
	struct tok *next;
};

struct stream_tokens {
	pthread_mutex_t lock;
	uint64_t ttl_ns;
	uint64_t (*now)(void);
	struct tok *live;  /* pending requests, newest first */
	size_t n_live;
	struct tok *dead;  /* tombstones, newest first */
	size_t n_dead;
};

struct stream_tokens *stream_tokens_new(int ttl_ms)
{
	struct stream_tokens *t = xzalloc(sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->ttl_ns = (uint64_t)ttl_ms * 1000000ull;
	t->now = kumo_now_ns;
	return t;
}

static void tok_list_free(struct tok *k)
{
	while (k) {
		struct tok *n = k->next;
		cri_stream_request_free(k->req);
		free(k);
		k = n;
	}
}

void stream_tokens_free(struct stream_tokens *t)
{
	if (!t)
		return;
	tok_list_free(t->live);
	tok_list_free(t->dead);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void stream_tokens_set_clock(struct stream_tokens *t, uint64_t (*now)(void))
{
	t->now = now ? now : kumo_now_ns;
}

/* Makes k a tombstone at the head of the dead list (lock held). */
static void bury(struct stream_tokens *t, struct tok *k, bool used, uint64_t now)
{
	cri_stream_request_free(k->req);
	k->req = NULL;
	k->used = used;
	k->expires_ns = now + TOMBSTONE_NS;
	k->next = t->dead;
	t->dead = k;
	t->n_dead++;
}

/* Moves expired requests to the tombstones and forgets old tombstones (lock held). */
static void collect(struct stream_tokens *t, uint64_t now)
{
	for (struct tok **pp = &t->live; *pp;) {
		struct tok *k = *pp;
		if (now >= k->expires_ns) {
			*pp = k->next;
			t->n_live--;
			bury(t, k, false, now);
		} else {
			pp = &k->next;
		}
	}
	size_t kept = 0;
	for (struct tok **pp = &t->dead; *pp;) {
		struct tok *k = *pp;
		if (now >= k->expires_ns || kept >= MAX_TOMBSTONES) {
			*pp = k->next;
			t->n_dead--;
			free(k);
		} else {
			kept++;
			pp = &k->next;
		}
	}
}

/* Compares two tokens in time independent of where they differ. */
static bool token_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;
	for (size_t i = 0; i < TOKEN_CHARS; i++)
		d |= (unsigned char)((i < la ? a[i] : 0) ^ (i < lb ? b[i] : 0));
	return d == 0;
}

static struct tok *find(struct tok *k, const char *token)
{
	for (; k; k = k->next)
		if (token_eq(k->token, token))
			return k;
	return NULL;
}

int stream_tokens_insert(struct stream_tokens *t, struct cri_stream_request *req, char **token,
			 kumo_error_t *err)
{
	pthread_mutex_lock(&t->lock);
	uint64_t now = t->now();
	collect(t, now);
	if (t->n_live >= CRI_STREAM_MAX_PENDING) {
		pthread_mutex_unlock(&t->lock);
		cri_stream_request_free(req);
		return kumo_error(err, KUMO_E_UNAVAILABLE,
				  "%d streaming URLs are waiting for their clients; try again",
				  CRI_STREAM_MAX_PENDING);
	}
	struct tok *k = xzalloc(sizeof(*k));
	do {
		uint8_t raw[TOKEN_BYTES];
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			abort(); /* the kernel's CSPRNG does not fail for 32 bytes */
		struct sbuf b = {0};
		ws_base64_encode(&b, raw, sizeof(raw));
		/* URL-safe and unpadded: the token is a path segment. */
		for (size_t i = 0; i < TOKEN_CHARS; i++) {
			char c = (char)sbuf_head(&b)[i];
			k->token[i] = c == '+' ? '-' : c == '/' ? '_' : c;
		}
		k->token[TOKEN_CHARS] = 0;
		sbuf_free(&b);
	} while (find(t->live, k->token) || find(t->dead, k->token));
	k->expires_ns = now + t->ttl_ns;
	k->req = req;
	k->next = t->live;
	t->live = k;
	t->n_live++;
	*token = xstrdup(k->token);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int stream_tokens_consume(struct stream_tokens *t, const char *token,
			  struct cri_stream_request **req)
{
	*req = NULL;
	pthread_mutex_lock(&t->lock);
	uint64_t now = t->now();
	collect(t, now);
	int r = TOKEN_UNKNOWN;
	for (struct tok **pp = &t->live; *pp; pp = &(*pp)->next) {
		struct tok *k = *pp;
		if (!token_eq(k->token, token))
			continue;
		*pp = k->next;
		t->n_live--;
		*req = k->req;
		k->req = NULL;
		bury(t, k, true, now);
		r = TOKEN_OK;
		break;
	}
	if (r == TOKEN_UNKNOWN) {
		struct tok *k = find(t->dead, token);
		if (k)
			r = k->used ? TOKEN_USED : TOKEN_EXPIRED;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}
