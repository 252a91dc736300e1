/* cri/websocket.h - WebSocket (RFC 6455) framing, the codec under kumod's streaming
 * server for clients that upgrade with `Upgrade: websocket` (crictl --transport
 * websocket, kubectl through the API server's translation). Private to cri/.
 *
 * A codec only: the opening handshake's accept key, frame parsing and writing, and the
 * base64 the `base64.channel.k8s.io` protocols use. No I/O. Frames from a client are
 * masked (RFC 6455 5.1); the parser unmasks them in place. Extensions are not
 * negotiated, so the RSV bits must be zero.
 */
#ifndef KUMO_CRI_WEBSOCKET_H
#define KUMO_CRI_WEBSOCKET_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "cri/stream_buf.h"

enum ws_opcode {
	WS_CONTINUATION = 0x0,
	WS_TEXT = 0x1,
	WS_BINARY = 0x2,
	WS_CLOSE = 0x8,
	WS_PING = 0x9,
	WS_PONG = 0xa,
};

/* Close codes (RFC 6455 7.4.1). */
#define WS_CLOSE_NORMAL 1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL_ERROR 1002
#define WS_CLOSE_TOO_BIG 1009
#define WS_CLOSE_INTERNAL 1011

/* One parsed frame. */
struct ws_frame {
	bool fin;         /* last fragment of its message */
	int opcode;       /* enum ws_opcode */
	uint8_t *payload; /* points into the parsed buffer (unmasked in place) */
	size_t len;
};

/* Parses one frame from the start of buf. Returns 1 with *f and *used set, 0 when more
 * bytes are needed, -1 on a protocol error (err says what): a payload longer than
 * max_payload, a control frame longer than 125 bytes or fragmented, RSV bits set, an
 * unknown opcode, or an unmasked frame when `from_client`. */
int ws_parse(uint8_t *buf, size_t len, size_t max_payload, bool from_client, struct ws_frame *f,
	     size_t *used, kumo_error_t *err);

/* Appends one frame. `mask` is NULL for a server (unmasked) or 4 bytes for a client. */
void ws_put_frame(struct sbuf *out, int opcode, bool fin, const void *data, size_t len,
		  const uint8_t *mask);
/* Appends a close frame with `code` and a reason (may be NULL). */
void ws_put_close(struct sbuf *out, uint16_t code, const char *reason, const uint8_t *mask);

/* Sec-WebSocket-Accept for the client's Sec-WebSocket-Key (28 characters + NUL). */
void ws_accept_key(const char *key, char out[29]);

/* Standard base64 with padding. encode appends to out; decode returns the decoded
 * length or -1 for input that is not base64. */
void ws_base64_encode(struct sbuf *out, const void *data, size_t len);
long ws_base64_decode(const char *in, size_t len, uint8_t *out);

#endif /* KUMO_CRI_WEBSOCKET_H */
