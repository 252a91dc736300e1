/* tests/unit/test_cri_podvm_snap.c - the pod-VM stage's snapshot helpers (cri/podvm_snap.c):
 * the record a save cut, found from a record boundary in a record file (kernel/pod_abi.h
 * records) at every cut point, and a broken stream refused; a live migration's hand-over
 * built and read back (with and without a cut record, a cut record holding newlines),
 * and refused when it is another pod's, cut short or not a hand-over at all. */
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

static void hand_over_round_trip(void **state)
{
	(void)state;
	const char *st = "{\"containers\":[],\"next_seq\":7,\"pod_id\":\"abc123\",\"version\":1}";
	static const uint8_t cut[] = {'K', 'R', '\n', 0, 0, '\n', 9};
	for (size_t cl = 0; cl <= sizeof(cut); cl += sizeof(cut)) {
		size_t len = 0;
		uint8_t *b = podvm_hand_over(st, cut, cl, &len);
		struct cri_record rec;
		const uint8_t *c = NULL;
		size_t clen = 99;
		kumo_error_t err = NULL;
		assert_int_equal(podvm_hand_over_parse(b, len, "abc123", &rec, &c, &clen, &err), 0);
		assert_string_equal(rec.name, "podvm.json");
		assert_int_equal(rec.len, strlen(st));
		assert_memory_equal(rec.data, st, rec.len);
		assert_int_equal(clen, cl);
		if (cl)
			assert_memory_equal(c, cut, cl);
		free(b);
	}
}

static void hand_over_refused(void **state)
{
	(void)state;
	const char *st = "{\"pod_id\":\"abc123\",\"version\":1}";
	size_t len = 0;
	uint8_t *b = podvm_hand_over(st, NULL, 0, &len);
	struct cri_record rec;
	const uint8_t *c;
	size_t clen;
	kumo_error_t err = NULL;
	/* Another pod's. */
	assert_int_equal(podvm_hand_over_parse(b, len, "def456", &rec, &c, &clen, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "is of pod `abc123`"));
	kumo_error_free(&err);
	/* Cut short at every length before the state's newline. */
	for (size_t n = 0; n < len; n++) {
		assert_int_equal(podvm_hand_over_parse(b, n, "abc123", &rec, &c, &clen, &err), -1);
		kumo_error_free(&err);
	}
	/* Not a hand-over: another first line. */
	b[0] = 'X';
	assert_int_equal(podvm_hand_over_parse(b, len, "abc123", &rec, &c, &clen, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "not a pod VM's migration hand-over"));
	kumo_error_free(&err);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cut_at_every_offset),
		cmocka_unit_test(broken_stream_refused),
		cmocka_unit_test(hand_over_round_trip),
		cmocka_unit_test(hand_over_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
