/* common/sha256.c - the one sha256 of host code: "sha256:<hex>" digests of memory, of
 * files and of streams (OpenSSL's EVP underneath). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>

#include "common.h"

struct kumo_sha256 {
	EVP_MD_CTX *ctx; /* OpenSSL's state */
};

struct kumo_sha256 *kumo_sha256_new(void)
{
	struct kumo_sha256 *h = xzalloc(sizeof(*h));
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		abort(); /* allocation failure: cannot happen with the built-in sha256 otherwise */
	return h;
}

void kumo_sha256_reset(struct kumo_sha256 *h)
{
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		abort();
}

void kumo_sha256_update(struct kumo_sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void kumo_sha256_final(struct kumo_sha256 *h, char out[KUMO_DIGEST_BUF])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
		abort();
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++) {
		out[7 + 2 * i] = digits[md[i] >> 4];
		out[8 + 2 * i] = digits[md[i] & 15];
	}
	out[71] = 0;
}

void kumo_sha256_free(struct kumo_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void kumo_sha256(const void *data, size_t len, char out[KUMO_DIGEST_BUF])
{
	struct kumo_sha256 *h = kumo_sha256_new();
	kumo_sha256_update(h, data, len);
	kumo_sha256_final(h, out);
	kumo_sha256_free(h);
}

int kumo_sha256_file(const char *path, char out[KUMO_DIGEST_BUF], uint64_t *size,
		     kumo_error_t *err)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", path);
	struct kumo_sha256 *h = kumo_sha256_new();
	static __thread unsigned char buf[1 << 16];
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			kumo_sha256_free(h);
			return kumo_error_errno(err, e, "read `%s`", path);
		}
		if (n == 0)
			break;
		kumo_sha256_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	kumo_sha256_final(h, out);
	kumo_sha256_free(h);
	if (size)
		*size = total;
	return 0;
}
