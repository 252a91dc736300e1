/* imagestore/digest.c - digests as the store accepts them (hashing is common/sha256.c). */
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
