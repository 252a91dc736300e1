/* cri/spdy.h - SPDY/3.1 framing, the codec under kumod's streaming server (private to
 * cri/). What kubelet's and crictl's clients (moby/spdystream) exchange after an
 * `Upgrade: SPDY/3.1`: control frames (SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING,
 * GOAWAY, HEADERS, WINDOW_UPDATE; version 3 on the wire) and DATA frames, header blocks
 * compressed with zlib and SPDY/3's dictionary as ONE stream per direction per
 * connection (each block ends with a sync flush).
 *
 * A codec only: no I/O, no stream state. One struct spdy_codec per connection holds the
 * two zlib streams; it is not thread-safe (one reader, and writers under one lock).
 * Flow control: spdystream neither sends nor honours WINDOW_UPDATE, so neither side
 * limits what it sends; TCP is the back-pressure. The codec parses those frames and
 * leaves them to the caller to ignore.
 */
#ifndef KUMO_CRI_SPDY_H
#define KUMO_CRI_SPDY_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "cri/stream_buf.h"

#define SPDY_VERSION 3

enum spdy_type {
	SPDY_DATA = 0, /* not a control type: a DATA frame */
	SPDY_SYN_STREAM = 1,
	SPDY_SYN_REPLY = 2,
	SPDY_RST_STREAM = 3,
	SPDY_SETTINGS = 4,
	SPDY_PING = 6,
	SPDY_GOAWAY = 7,
	SPDY_HEADERS = 8,
	SPDY_WINDOW_UPDATE = 9,
};

#define SPDY_FLAG_FIN 0x01            /* DATA, SYN_STREAM, SYN_REPLY, HEADERS */
#define SPDY_FLAG_UNIDIRECTIONAL 0x02 /* SYN_STREAM */

/* RST_STREAM status codes. */
enum spdy_rst {
	SPDY_RST_PROTOCOL_ERROR = 1,
	SPDY_RST_INVALID_STREAM = 2,
	SPDY_RST_REFUSED_STREAM = 3,
	SPDY_RST_CANCEL = 5,
	SPDY_RST_INTERNAL_ERROR = 6,
};

/* Largest payload a frame may carry (24-bit length). */
#define SPDY_MAX_FRAME ((1u << 24) - 1)
/* Largest decompressed header block accepted. */
#define SPDY_MAX_HEADER_BLOCK (256 * 1024)

/* One name/value pair; several values of one name are joined with NUL bytes on the
 * wire and kept joined here (value_len counts them). */
struct spdy_header {
	char *name;       /* lowercase, NUL-terminated */
	char *value;      /* NUL-terminated (and NUL-separated when several) */
	size_t value_len; /* bytes of value without the final NUL */
};

/* One parsed frame. Which fields are set depends on `type`. */
struct spdy_frame {
	int type;              /* enum spdy_type */
	uint8_t flags;         /* SPDY_FLAG_* */
	uint32_t stream_id;    /* DATA, SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS, WINDOW_UPDATE */
	uint32_t assoc_id;     /* SYN_STREAM */
	uint8_t priority;      /* SYN_STREAM, 0 (highest) .. 7 */
	uint32_t status;       /* RST_STREAM, GOAWAY */
	uint32_t ping_id;      /* PING */
	uint32_t last_good_id; /* GOAWAY */
	uint32_t delta;        /* WINDOW_UPDATE */
	const uint8_t *data;   /* DATA payload, borrowed from the parsed buffer */
	size_t len;            /* its length */
	struct spdy_header *headers; /* SYN_STREAM, SYN_REPLY, HEADERS; owned */
	size_t n_headers;
};

struct spdy_codec;

/* The SPDY/3 header dictionary (1423 bytes; zlib dictionary id 0xe3c6a7c2). */
const uint8_t *spdy_dictionary(size_t *len);

struct spdy_codec *spdy_codec_new(void);
void spdy_codec_free(struct spdy_codec *c); /* accepts NULL */

/* Parses one frame from the start of buf. Returns 1 with *f filled and *used set to
 * the bytes it took, 0 when buf does not hold a whole frame yet, -1 on a protocol error
 * (err says what; the connection cannot continue: the header compression state is
 * lost). Frames of unknown control types are skipped (returned with their type and no
 * fields). Clear *f with spdy_frame_clear. */
int spdy_parse(struct spdy_codec *c, const uint8_t *buf, size_t len, struct spdy_frame *f,
	       size_t *used, kumo_error_t *err);
void spdy_frame_clear(struct spdy_frame *f);

/* The value of header `name` (lowercase) in a parsed frame, NULL when absent; for a
 * name with several values, the first. */
const char *spdy_header_get(const struct spdy_frame *f, const char *name);

/* Serializers: append one frame to `out`. Header blocks are compressed with the codec's
 * sending stream, so frames carrying headers must be appended in the order they are
 * sent. names are lowercase; values may not contain NUL. */
void spdy_put_data(struct sbuf *out, uint32_t stream_id, uint8_t flags, const void *data,
		   size_t len);
void spdy_put_syn_stream(struct spdy_codec *c, struct sbuf *out, uint32_t stream_id,
			 uint8_t flags, const char *const *names, const char *const *values,
			 size_t n);
void spdy_put_syn_reply(struct spdy_codec *c, struct sbuf *out, uint32_t stream_id,
			uint8_t flags, const char *const *names, const char *const *values,
			size_t n);
void spdy_put_rst_stream(struct sbuf *out, uint32_t stream_id, uint32_t status);
void spdy_put_ping(struct sbuf *out, uint32_t id);
void spdy_put_goaway(struct sbuf *out, uint32_t last_good_id, uint32_t status);

#endif /* KUMO_CRI_SPDY_H */
