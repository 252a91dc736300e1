/* kernel/os/podrec.c - the pod's record stream on COM1 (kernel/pod_abi.h): framed records, the instances' output, JSON payloads. */
#include <stdio.h>
#include <string.h>

#include "kernel/os/kos.h"
#include "kernel/os/pod.h"

void podrec_write(uint16_t type, uint32_t cid, uint64_t seq, const void *payload, size_t len)
{
	struct kumo_pod_rec h = {.magic = KUMO_POD_REC_MAGIC, .type = type, .cid = cid,
				 .len = (uint32_t)len, .seq = seq};
	kcons_write(KCONS_STDOUT, &h, sizeof(h));
	if (len)
		kcons_write(KCONS_STDOUT, payload, len);
}

void podrec_output(int stream, uint32_t cid, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t type = stream == 2 ? KUMO_POD_REC_STDERR : KUMO_POD_REC_STDOUT;
	while (len) {
		size_t n = len < KUMO_POD_REC_MAX ? len : KUMO_POD_REC_MAX;
		podrec_write(type, cid, 0, p, n);
		p += n;
		len -= n;
	}
}

void podrec_json(uint16_t type, uint32_t cid, uint64_t seq, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1; /* a cut record is still framed; JSON values are short */
	podrec_write(type, cid, seq, buf, (size_t)n);
}

char *pod_json_escape(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (; s && *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
		} else {
			out[n++] = (char)c;
		}
	}
	if (cap)
		out[n < cap ? n : cap - 1] = 0;
	return out;
}
