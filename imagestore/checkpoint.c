/* imagestore/checkpoint.c - checkpoint images (imagestore.h): a pulled layer starts as a snapshot archive does. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "imagestore/istore.h"

#define TAR_BLOCK 512
#define ARCHIVE_FIRST "manifest.json" /* vmm/vmm.h: VMM_ARCHIVE_MANIFEST */

/* An octal field of a tar header (NUL or space terminated); -1 when it is not one. */
static long long tar_octal(const uint8_t *f, size_t n)
{
	long long v = 0;
	size_t i = 0;
	while (i < n && f[i] == ' ')
		i++;
	if (i == n || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		v = v * 8 + (f[i] - '0');
	for (; i < n; i++)
		if (f[i] != 0 && f[i] != ' ')
			return -1;
	return v;
}

int checkpoint_head_check(const uint8_t *head, size_t len, kumo_error_t *err)
{
	if (len < TAR_BLOCK)
		return kumo_error(err, KUMO_E_INVALID,
				  "the checkpoint layer is %zu bytes, too short for a snapshot archive",
				  len);
	/* ustar: name [0,100), chksum [148,156), typeflag 156, magic "ustar" at 257. */
	long long want = tar_octal(head + 148, 8);
	long long sum = 0;
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += i >= 148 && i < 156 ? ' ' : head[i];
	if (memcmp(head + 257, "ustar", 5) != 0 || want != sum)
		return kumo_error(err, KUMO_E_INVALID,
				  "the checkpoint layer is not a tar archive (no valid ustar header): "
				  "not a kumo snapshot archive");
	char name[101];
	memcpy(name, head, 100);
	name[100] = 0;
	for (char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	if (strcmp(name, ARCHIVE_FIRST) != 0)
		return kumo_error(err, KUMO_E_INVALID,
				  "the checkpoint layer is a tar whose first member is `%s`, not `"
				  ARCHIVE_FIRST "`: not a kumo snapshot archive", name);
	if (head[156] != '0' && head[156] != 0)
		return kumo_error(err, KUMO_E_INVALID,
				  "the checkpoint layer's first member `" ARCHIVE_FIRST "` is not a "
				  "regular file (type `%c`): not a kumo snapshot archive",
				  head[156] >= 0x20 && head[156] < 0x7f ? head[156] : '?');
	return 0;
}

int checkpoint_blob_check(const char *path, kumo_error_t *err)
{
	autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", path);
	uint8_t head[TAR_BLOCK];
	size_t got = 0;
	while (got < sizeof(head)) {
		ssize_t r = read(fd, head + got, sizeof(head) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return kumo_error_errno(err, errno, "read `%s`", path);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return checkpoint_head_check(head, got, err);
}
