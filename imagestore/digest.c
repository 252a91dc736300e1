/* imagestore/digest.c - sha256 digests: validation, hashing of memory and files. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "imagestore/istore.h"

bool digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0)
		return false;
	for (int i = 0; i < 64; i++) {
		char c = d[7 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return d[71] == 0;
}

EVP_MD_CTX *digest_new(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		abort();
	return ctx;
}

void digest_final(EVP_MD_CTX *ctx, char out[DIGEST_BUF])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_DigestFinal_ex(ctx, md, &n);
	memcpy(out, "sha256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

void digest_bytes(const void *data, size_t len, char out[DIGEST_BUF])
{
	EVP_MD_CTX *ctx = digest_new();
	EVP_DigestUpdate(ctx, data, len);
	digest_final(ctx, out);
	EVP_MD_CTX_free(ctx);
}

int digest_file(const char *path, char out[DIGEST_BUF], uint64_t *size, kumo_error_t *err)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", path);
	EVP_MD_CTX *ctx = digest_new();
	static __thread unsigned char buf[1 << 16];
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			EVP_MD_CTX_free(ctx);
			return kumo_error_errno(err, e, "read `%s`", path);
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += (uint64_t)n;
	}
	digest_final(ctx, out);
	EVP_MD_CTX_free(ctx);
	if (size)
		*size = total;
	return 0;
}
