/* cri/spdy.c - SPDY/3.1 frame parser and writers with zlib header compression. */
#include <pthread.h>
#include <string.h>

#include <zlib.h>

#include "cri/spdy.h"

/* SPDY/3 section 2.6.10.1: the dictionary is these words, each preceded by its length as
 * a 32-bit big-endian number, then the status codes, reason phrases, dates and media
 * types below as one run of text. */
static const char *const dict_words[] = {
	"options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
	"accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
	"cache-control", "connection", "content-base", "content-encoding", "content-language",
	"content-length", "content-location", "content-md5", "content-range", "content-type",
	"date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
	"if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
	"max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range",
	"referer", "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade",
	"user-agent", "vary", "via", "warning", "www-authenticate", "method", "get", "status",
	"200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
};
static const char dict_tail[] =
	"100101201202205206300302303304305306307402405406407408409410411412413414415416417"
	"502504505203 Non-Authoritative Information204 No Content301 Moved Permanently"
	"400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error"
	"501 Not Implemented503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
	"Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,"
	"image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
	"text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8"
	"charset=iso-8859-1,utf-,*,enq=0.";

static uint8_t dict[1536];
static size_t dict_len;
static pthread_once_t dict_once = PTHREAD_ONCE_INIT;

static void dict_build(void)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(dict_words) / sizeof(dict_words[0]); i++) {
		uint32_t l = (uint32_t)strlen(dict_words[i]);
		dict[n++] = (uint8_t)(l >> 24);
		dict[n++] = (uint8_t)(l >> 16);
		dict[n++] = (uint8_t)(l >> 8);
		dict[n++] = (uint8_t)l;
		memcpy(dict + n, dict_words[i], l);
		n += l;
	}
	memcpy(dict + n, dict_tail, sizeof(dict_tail) - 1);
	dict_len = n + sizeof(dict_tail) - 1;
}

const uint8_t *spdy_dictionary(size_t *len)
{
	pthread_once(&dict_once, dict_build);
	*len = dict_len;
	return dict;
}

struct spdy_codec {
	z_stream in;       /* header blocks received */
	z_stream out;      /* header blocks sent */
	struct sbuf block; /* scratch: a header block before compression / after inflation */
};

struct spdy_codec *spdy_codec_new(void)
{
	size_t dl;
	const uint8_t *d = spdy_dictionary(&dl);
	struct spdy_codec *c = xzalloc(sizeof(*c));
	if (inflateInit(&c->in) != Z_OK)
		abort(); /* only fails for lack of memory */
	if (deflateInit(&c->out, Z_BEST_COMPRESSION) != Z_OK)
		abort();
	if (deflateSetDictionary(&c->out, d, (uInt)dl) != Z_OK)
		abort();
	return c;
}

void spdy_codec_free(struct spdy_codec *c)
{
	if (!c)
		return;
	inflateEnd(&c->in);
	deflateEnd(&c->out);
	sbuf_free(&c->block);
	free(c);
}

void spdy_frame_clear(struct spdy_frame *f)
{
	for (size_t i = 0; i < f->n_headers; i++) {
		free(f->headers[i].name);
		free(f->headers[i].value);
	}
	free(f->headers);
	*f = (struct spdy_frame){0};
}

const char *spdy_header_get(const struct spdy_frame *f, const char *name)
{
	for (size_t i = 0; i < f->n_headers; i++)
		if (strcmp(f->headers[i].name, name) == 0)
			return f->headers[i].value;
	return NULL;
}

/* Inflates one header block (the whole compressed input) into c->block. */
static int inflate_block(struct spdy_codec *c, const uint8_t *in, size_t len, kumo_error_t *err)
{
	c->block.off = c->block.len = 0;
	c->in.next_in = (Bytef *)in;
	c->in.avail_in = (uInt)len;
	while (c->in.avail_in > 0) {
		if (sbuf_size(&c->block) >= SPDY_MAX_HEADER_BLOCK)
			return kumo_error(err, KUMO_E_INVALID,
					  "spdy: a header block inflates to more than %d bytes",
					  SPDY_MAX_HEADER_BLOCK);
		uint8_t *o = sbuf_reserve(&c->block, 4096);
		c->in.next_out = o;
		c->in.avail_out = 4096;
		int r = inflate(&c->in, Z_SYNC_FLUSH);
		sbuf_commit(&c->block, 4096 - c->in.avail_out);
		if (r == Z_NEED_DICT) {
			size_t dl;
			const uint8_t *d = spdy_dictionary(&dl);
			if (inflateSetDictionary(&c->in, d, (uInt)dl) != Z_OK)
				return kumo_error(err, KUMO_E_INVALID,
						  "spdy: header block compressed with an unknown "
						  "dictionary");
			continue;
		}
		if (r == Z_BUF_ERROR && c->in.avail_out != 0)
			break; /* no progress possible: input ends mid-way (checked below) */
		if (r != Z_OK && r != Z_BUF_ERROR)
			return kumo_error(err, KUMO_E_INVALID, "spdy: corrupt header block: %s",
					  c->in.msg ? c->in.msg : "inflate failed");
	}
	if (c->in.avail_in != 0)
		return kumo_error(err, KUMO_E_INVALID, "spdy: header block has trailing bytes");
	return 0;
}

/* Decodes c->block (an inflated header block) into f->headers. */
static int decode_headers(struct spdy_codec *c, struct spdy_frame *f, kumo_error_t *err)
{
	const uint8_t *p = sbuf_head(&c->block);
	size_t left = sbuf_size(&c->block);
	if (left < 4)
		return kumo_error(err, KUMO_E_INVALID, "spdy: header block too short");
	uint32_t n = get32be(p);
	p += 4;
	left -= 4;
	if (n > left / 8) /* every pair takes at least 8 bytes */
		return kumo_error(err, KUMO_E_INVALID, "spdy: header block claims %u pairs", n);
	f->headers = xzalloc(sizeof(*f->headers) * (n ? n : 1));
	for (uint32_t i = 0; i < n; i++) {
		if (left < 8)
			return kumo_error(err, KUMO_E_INVALID, "spdy: header block truncated");
		uint32_t nl = get32be(p);
		if (nl == 0 || nl > left - 4)
			return kumo_error(err, KUMO_E_INVALID, "spdy: header name of bad length");
		const uint8_t *name = p + 4;
		p += 4 + nl;
		left -= 4 + nl;
		if (left < 4)
			return kumo_error(err, KUMO_E_INVALID, "spdy: header block truncated");
		uint32_t vl = get32be(p);
		if (vl > left - 4)
			return kumo_error(err, KUMO_E_INVALID, "spdy: header value of bad length");
		const uint8_t *val = p + 4;
		p += 4 + vl;
		left -= 4 + vl;
		if (memchr(name, 0, nl))
			return kumo_error(err, KUMO_E_INVALID, "spdy: header name holds a NUL");
		struct spdy_header *h = &f->headers[f->n_headers++];
		h->name = xstrndup((const char *)name, nl);
		for (char *q = h->name; *q; q++) /* moby lowercases too; keep lookups simple */
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q - 'A' + 'a');
		h->value = xmalloc(vl + 1);
		memcpy(h->value, val, vl);
		h->value[vl] = 0;
		h->value_len = vl;
	}
	return 0;
}

int spdy_parse(struct spdy_codec *c, const uint8_t *buf, size_t len, struct spdy_frame *f,
	       size_t *used, kumo_error_t *err)
{
	*f = (struct spdy_frame){0};
	if (len < 8)
		return 0;
	uint32_t w0 = get32be(buf), w1 = get32be(buf + 4);
	uint32_t plen = w1 & 0xffffff;
	if (len - 8 < plen)
		return 0;
	const uint8_t *p = buf + 8;
	f->flags = (uint8_t)(w1 >> 24);
	*used = 8 + plen;
	if (!(w0 & 0x80000000u)) {
		f->type = SPDY_DATA;
		f->stream_id = w0 & 0x7fffffff;
		f->data = p;
		f->len = plen;
		if (f->stream_id == 0)
			return kumo_error(err, KUMO_E_INVALID, "spdy: data frame on stream 0");
		return 1;
	}
	uint16_t version = (uint16_t)((w0 >> 16) & 0x7fff);
	f->type = (int)(w0 & 0xffff);
	if (version != SPDY_VERSION)
		return kumo_error(err, KUMO_E_INVALID, "spdy: version %u, want %d", version,
				  SPDY_VERSION);
	int r = 0;
	switch (f->type) {
	case SPDY_SYN_STREAM:
		if (plen < 10)
			goto short_frame;
		f->stream_id = get32be(p) & 0x7fffffff;
		f->assoc_id = get32be(p + 4) & 0x7fffffff;
		f->priority = p[8] >> 5;
		r = inflate_block(c, p + 10, plen - 10, err);
		if (r == 0)
			r = decode_headers(c, f, err);
		break;
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		if (plen < 4)
			goto short_frame;
		f->stream_id = get32be(p) & 0x7fffffff;
		r = inflate_block(c, p + 4, plen - 4, err);
		if (r == 0)
			r = decode_headers(c, f, err);
		break;
	case SPDY_RST_STREAM:
		if (plen != 8)
			goto short_frame;
		f->stream_id = get32be(p) & 0x7fffffff;
		f->status = get32be(p + 4);
		break;
	case SPDY_PING:
		if (plen != 4)
			goto short_frame;
		f->ping_id = get32be(p);
		break;
	case SPDY_GOAWAY:
		if (plen != 8)
			goto short_frame;
		f->last_good_id = get32be(p) & 0x7fffffff;
		f->status = get32be(p + 4);
		break;
	case SPDY_WINDOW_UPDATE:
		if (plen != 8)
			goto short_frame;
		f->stream_id = get32be(p) & 0x7fffffff;
		f->delta = get32be(p + 4) & 0x7fffffff;
		break;
	default:
		/* SETTINGS and unknown types: nothing the server acts on. */
		break;
	}
	if (r < 0) {
		spdy_frame_clear(f);
		return -1;
	}
	if ((f->type == SPDY_SYN_STREAM || f->type == SPDY_SYN_REPLY ||
	     f->type == SPDY_RST_STREAM) && f->stream_id == 0) {
		spdy_frame_clear(f);
		return kumo_error(err, KUMO_E_INVALID, "spdy: control frame for stream 0");
	}
	return 1;
short_frame:
	return kumo_error(err, KUMO_E_INVALID, "spdy: control frame type %d of bad length %u",
			  f->type, plen);
}

static void put_control_header(struct sbuf *out, int type, uint8_t flags, uint32_t len)
{
	sbuf_put32be(out, 0x80000000u | (uint32_t)SPDY_VERSION << 16 | (uint32_t)type);
	sbuf_put32be(out, (uint32_t)flags << 24 | (len & 0xffffff));
}

void spdy_put_data(struct sbuf *out, uint32_t stream_id, uint8_t flags, const void *data,
		   size_t len)
{
	sbuf_put32be(out, stream_id & 0x7fffffff);
	sbuf_put32be(out, (uint32_t)flags << 24 | ((uint32_t)len & 0xffffff));
	sbuf_put(out, data, len);
}

/* Compresses a header block into c->block. */
static void compress_headers(struct spdy_codec *c, const char *const *names,
			     const char *const *values, size_t n)
{
	struct sbuf raw = {0};
	sbuf_put32be(&raw, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(names[i]), vl = strlen(values[i]);
		sbuf_put32be(&raw, (uint32_t)nl);
		sbuf_put(&raw, names[i], nl);
		sbuf_put32be(&raw, (uint32_t)vl);
		sbuf_put(&raw, values[i], vl);
	}
	c->block.off = c->block.len = 0;
	c->out.next_in = sbuf_head(&raw);
	c->out.avail_in = (uInt)sbuf_size(&raw);
	do {
		uint8_t *o = sbuf_reserve(&c->block, 1024);
		c->out.next_out = o;
		c->out.avail_out = 1024;
		if (deflate(&c->out, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
			abort(); /* our own state: cannot happen */
		sbuf_commit(&c->block, 1024 - c->out.avail_out);
	} while (c->out.avail_out == 0);
	sbuf_free(&raw);
}

void spdy_put_syn_stream(struct spdy_codec *c, struct sbuf *out, uint32_t stream_id,
			 uint8_t flags, const char *const *names, const char *const *values,
			 size_t n)
{
	compress_headers(c, names, values, n);
	put_control_header(out, SPDY_SYN_STREAM, flags, 10 + (uint32_t)sbuf_size(&c->block));
	sbuf_put32be(out, stream_id & 0x7fffffff);
	sbuf_put32be(out, 0); /* associated stream */
	sbuf_put16be(out, 0); /* priority 0, slot 0 */
	sbuf_put(out, sbuf_head(&c->block), sbuf_size(&c->block));
}

void spdy_put_syn_reply(struct spdy_codec *c, struct sbuf *out, uint32_t stream_id,
			uint8_t flags, const char *const *names, const char *const *values,
			size_t n)
{
	compress_headers(c, names, values, n);
	put_control_header(out, SPDY_SYN_REPLY, flags, 4 + (uint32_t)sbuf_size(&c->block));
	sbuf_put32be(out, stream_id & 0x7fffffff);
	sbuf_put(out, sbuf_head(&c->block), sbuf_size(&c->block));
}

void spdy_put_rst_stream(struct sbuf *out, uint32_t stream_id, uint32_t status)
{
	put_control_header(out, SPDY_RST_STREAM, 0, 8);
	sbuf_put32be(out, stream_id & 0x7fffffff);
	sbuf_put32be(out, status);
}

void spdy_put_ping(struct sbuf *out, uint32_t id)
{
	put_control_header(out, SPDY_PING, 0, 4);
	sbuf_put32be(out, id);
}

void spdy_put_goaway(struct sbuf *out, uint32_t last_good_id, uint32_t status)
{
	put_control_header(out, SPDY_GOAWAY, 0, 8);
	sbuf_put32be(out, last_good_id & 0x7fffffff);
	sbuf_put32be(out, status);
}
