/* tests/unit/test_cri_podvm_snap.c - the pod-VM stage's snapshot helpers (cri/podvm_snap.c):
 * the record a save cut, found from a record boundary in a record file (kernel/pod_abi.h
 * records) at every cut point, and a broken stream refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cri/podvm_impl.h"

/* A record file of three records (payloads of 5, 0 and 300 bytes); *offs gets each
 * record's start and the end. */
static char *record_file(uint64_t offs[4], uint8_t **bytes, size_t *len)
{
	static const uint32_t lens[3] = {5, 0, 300};
	size_t n = 0;
	uint8_t *b = xmalloc(3 * sizeof(struct kumo_pod_rec) + 305);
	for (int i = 0; i < 3; i++) {
		offs[i] = n;
		struct kumo_pod_rec h = {.magic = KUMO_POD_REC_MAGIC, .type = KUMO_POD_REC_STDOUT,
					 .cid = 1, .len = lens[i], .seq = (uint64_t)i};
		memcpy(b + n, &h, sizeof(h));
		n += sizeof(h);
		for (uint32_t k = 0; k < lens[i]; k++)
			b[n++] = (uint8_t)('a' + (k + (uint32_t)i) % 26);
	}
	offs[3] = n;
	char *path = xstrdup("/tmp/kumo-test-podvm-snap-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	close(fd);
	*bytes = b;
	*len = n;
	return path;
}

static void cut_at_every_offset(void **state)
{
	(void)state;
	uint64_t offs[4];
	uint8_t *file;
	size_t flen;
	char *path = record_file(offs, &file, &flen);
	for (uint64_t end = 0; end <= flen; end++) {
		/* The last record start at or before end, unless end is a boundary itself. */
		uint64_t want = 0;
		for (int i = 0; i < 4; i++)
			if (offs[i] <= end)
				want = offs[i];
		for (int from = 0; from < 3 && offs[from] <= end; from++) {
			uint8_t *out = NULL;
			size_t len = 99;
			kumo_error_t err = NULL;
			assert_int_equal(podvm_cut_record(path, offs[from], end, &out, &len, &err), 0);
			assert_int_equal(len, end - want);
			assert_memory_equal(out, file + want, len);
			free(out);
		}
	}
	unlink(path);
	free(path);
	free(file);
}

static void broken_stream_refused(void **state)
{
	(void)state;
	uint64_t offs[4];
	uint8_t *file;
	size_t flen;
	char *path = record_file(offs, &file, &flen);
	kumo_error_t err = NULL;
	uint8_t *out = NULL;
	size_t len = 0;
	/* From a point that is no record's start: its "header" is payload bytes. */
	assert_int_equal(podvm_cut_record(path, offs[1] + 3, flen, &out, &len, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "is broken at offset"));
	kumo_error_free(&err);
	assert_null(out);
	assert_int_equal(podvm_cut_record("/nonexistent/stdout.raw", 0, 10, &out, &len, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "/nonexistent/stdout.raw"));
	kumo_error_free(&err);
	unlink(path);
	free(path);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cut_at_every_offset),
		cmocka_unit_test(broken_stream_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
