/* cri/websocket.c - RFC 6455 frames, the handshake accept key and base64. */
#include <string.h>

#include <openssl/sha.h>

#include "cri/websocket.h"

int ws_parse(uint8_t *buf, size_t len, size_t max_payload, bool from_client, struct ws_frame *f,
	     size_t *used, kumo_error_t *err)
{
	*f = (struct ws_frame){0};
	if (len < 2)
		return 0;
	uint8_t b0 = buf[0], b1 = buf[1];
	size_t hl = 2;
	uint64_t plen = b1 & 0x7f;
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = (uint64_t)buf[2] << 8 | buf[3];
		hl = 4;
	} else if (plen == 127) {
		if (len < 10)
			return 0;
		plen = 0;
		for (int i = 0; i < 8; i++)
			plen = plen << 8 | buf[2 + i];
		hl = 10;
	}
	bool masked = b1 & 0x80;
	f->fin = b0 & 0x80;
	f->opcode = b0 & 0x0f;
	if (b0 & 0x70)
		return kumo_error(err, KUMO_E_INVALID, "websocket: reserved bits set (no extension "
				  "was negotiated)");
	switch (f->opcode) {
	case WS_CONTINUATION:
	case WS_TEXT:
	case WS_BINARY:
		break;
	case WS_CLOSE:
	case WS_PING:
	case WS_PONG:
		if (!f->fin || plen > 125)
			return kumo_error(err, KUMO_E_INVALID,
					  "websocket: control frame fragmented or longer than 125 "
					  "bytes");
		break;
	default:
		return kumo_error(err, KUMO_E_INVALID, "websocket: unknown opcode %d", f->opcode);
	}
	if (from_client && !masked)
		return kumo_error(err, KUMO_E_INVALID, "websocket: a client frame is not masked");
	if (plen > max_payload)
		return kumo_error(err, KUMO_E_INVALID,
				  "websocket: a frame of %llu bytes is larger than %zu",
				  (unsigned long long)plen, max_payload);
	size_t ml = masked ? 4 : 0;
	if (len - hl < ml || len - hl - ml < plen)
		return 0;
	uint8_t *p = buf + hl + ml;
	if (masked) {
		const uint8_t *m = buf + hl;
		for (size_t i = 0; i < plen; i++)
			p[i] ^= m[i & 3];
	}
	f->payload = p;
	f->len = (size_t)plen;
	*used = hl + ml + (size_t)plen;
	return 1;
}

void ws_put_frame(struct sbuf *out, int opcode, bool fin, const void *data, size_t len,
		  const uint8_t *mask)
{
	sbuf_put8(out, (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f)));
	uint8_t mbit = mask ? 0x80 : 0;
	if (len < 126) {
		sbuf_put8(out, (uint8_t)(mbit | len));
	} else if (len <= 0xffff) {
		sbuf_put8(out, (uint8_t)(mbit | 126));
		sbuf_put16be(out, (uint16_t)len);
	} else {
		sbuf_put8(out, (uint8_t)(mbit | 127));
		sbuf_put32be(out, (uint32_t)((uint64_t)len >> 32));
		sbuf_put32be(out, (uint32_t)len);
	}
	if (!mask) {
		sbuf_put(out, data, len);
		return;
	}
	sbuf_put(out, mask, 4);
	uint8_t *p = sbuf_reserve(out, len);
	const uint8_t *d = data;
	for (size_t i = 0; i < len; i++)
		p[i] = d[i] ^ mask[i & 3];
	sbuf_commit(out, len);
}

void ws_put_close(struct sbuf *out, uint16_t code, const char *reason, const uint8_t *mask)
{
	uint8_t body[125];
	size_t rl = reason ? strlen(reason) : 0;
	if (rl > sizeof(body) - 2)
		rl = sizeof(body) - 2;
	body[0] = (uint8_t)(code >> 8);
	body[1] = (uint8_t)code;
	if (rl)
		memcpy(body + 2, reason, rl);
	ws_put_frame(out, WS_CLOSE, true, body, 2 + rl, mask);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void ws_base64_encode(struct sbuf *out, const void *data, size_t len)
{
	const uint8_t *d = data;
	char *o = (char *)sbuf_reserve(out, (len + 2) / 3 * 4);
	size_t n = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < len)
			v |= d[i + 2];
		o[n++] = b64[v >> 18 & 63];
		o[n++] = b64[v >> 12 & 63];
		o[n++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		o[n++] = i + 2 < len ? b64[v & 63] : '=';
	}
	sbuf_commit(out, n);
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;
	return p ? (int)(p - b64) : -1;
}

long ws_base64_decode(const char *in, size_t len, uint8_t *out)
{
	if (len % 4)
		return -1;
	long n = 0;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad)
				return -1; /* data after padding */
			v[k] = b64_value(in[i + k]);
			if (v[k] < 0)
				return -1;
		}
		uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			     (uint32_t)v[3];
		out[n++] = (uint8_t)(x >> 16);
		if (pad < 2)
			out[n++] = (uint8_t)(x >> 8);
		if (pad < 1)
			out[n++] = (uint8_t)x;
	}
	return n;
}

void ws_accept_key(const char *key, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	autofree char *s = xasprintf("%s%s", key, guid);
	uint8_t digest[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)s, strlen(s), digest);
	struct sbuf b = {0};
	ws_base64_encode(&b, digest, sizeof(digest));
	memcpy(out, sbuf_head(&b), 28);
	out[28] = 0;
	sbuf_free(&b);
}
