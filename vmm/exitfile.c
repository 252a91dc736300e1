/* vmm/exitfile.c - the files a guest reported at exit: KUMO-FILE records on its exit
 * channel (kernel/boot_abi.h), what the app wrote to its file mounts. */
#include <string.h>

#include "kernel/boot_abi.h"
#include "vmm_backend.h"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes one record line (without its '\n'); false when it is not a valid one. */
static bool parse_file_line(const char *l, size_t n, vmm_exit_file_fn fn, void *ctx, int *rc)
{
	size_t pl = strlen(KUMO_FILE_RECORD_PREFIX);
	if (n < pl || memcmp(l, KUMO_FILE_RECORD_PREFIX, pl) != 0)
		return false;
	const char *p = l + pl, *end = l + n;
	if (end - p < 5 || memcmp(p, "size=", 5) != 0)
		return false;
	p += 5;
	size_t size = 0;
	if (p >= end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		size = size * 10 + (size_t)(*p - '0');
		if (size > KUMO_FILE_RECORD_MAX)
			return false;
	}
	if ((size_t)(end - p) < 5 + 2 * size + 6 || memcmp(p, " hex=", 5) != 0)
		return false;
	const char *hex = p + 5;
	p = hex + 2 * size;
	if (memcmp(p, " path=", 6) != 0 || p + 6 == end)
		return false;
	autofree uint8_t *data = xmalloc(size + 1);
	for (size_t i = 0; i < size; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		data[i] = (uint8_t)(hi << 4 | lo);
	}
	autofree char *path = xstrndup(p + 6, (size_t)(end - (p + 6)));
	*rc = fn(path, data, size, ctx);
	return true;
}

int vmm_parse_file_records(const char *buf, size_t len, vmm_exit_file_fn fn, void *ctx)
{
	int count = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (!nl)
			break; /* unterminated: cut off */
		size_t n = (size_t)(nl - (buf + i));
		int rc = 0;
		if (parse_file_line(buf + i, n, fn, ctx, &rc)) {
			if (rc < 0)
				return -1;
			count++;
		}
		i += n + 1;
	}
	return count;
}

int vmm_exit_files(const char *run_dir, vmm_exit_file_fn fn, void *ctx, kumo_error_t *err)
{
	autofree char *path = xasprintf("%s/%s", run_dir, VMM_RAW_EXIT);
	autofree uint8_t *buf = NULL;
	size_t len = 0;
	if (kumo_read_file(path, 64u << 20, &buf, &len, err) < 0)
		return kumo_error_wrap(err, "files reported at exit");
	int n = vmm_parse_file_records((const char *)buf, len, fn, ctx);
	if (n < 0)
		return kumo_error(err, KUMO_E_IO, "files reported at exit in `%s`: a file could not "
				  "be written back", path);
	return n;
}
