/* tests/unit/test_imagestore_store.c - the content store: verified blob writes, records (a checkpoint image's too), status/list/remove/pin, GC, usage and the checker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "imagestore/istore.h"

struct fixture {
	char dir[64];
	struct imagestore *s;
};

static int setup(void **state)
{
	struct fixture *f = xzalloc(sizeof(*f));
	strcpy(f->dir, "/tmp/kumo-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	struct imagestore_config cfg = {.root = f->dir, .docker_config = ""};
	kumo_error_t err = NULL;
	if (imagestore_open(&cfg, &f->s, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	imagestore_close(f->s);
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	remove_tree_at(fd, f->dir + 5);
	close(fd);
	free(f);
	return 0;
}

static void put_blob_verifies(void **state)
{
	struct fixture *f = *state;
	char d[KUMO_DIGEST_BUF];
	kumo_sha256("hello", 5, d);
	kumo_error_t err = NULL;
	const char *wrong = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
	assert_int_equal(store_put_blob(f->s, wrong, "hellO", 5, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "does not match its digest"));
	kumo_error_free(&err);
	assert_false(store_blob_exists(f->s, wrong));
	assert_int_equal(store_put_blob(f->s, d, "hello", 5, &err), 0);
	assert_true(store_blob_exists(f->s, d));
	assert_int_equal(store_put_blob(f->s, d, "hello", 5, &err), 0); /* idempotent */
	size_t n = 0;
	assert_int_equal(imagestore_check(f->s, &n, &err), 0);
	assert_int_equal(n, 1);
	/* A blob whose bytes changed on disk is reported by the checker. */
	char *p = store_blob_path(f->s, d);
	assert_int_equal(kumo_write_file_atomic(p, "jello", 5, 0644, &err), 0);
	assert_int_equal(imagestore_check(f->s, &n, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "hashes to"));
	kumo_error_free(&err);
	unlink(p);
	free(p);
	/* A stray file in blobs/ too. */
	char *stray = xasprintf("%s/blobs/sha256/partial.tmp", f->dir);
	assert_int_equal(kumo_write_file_atomic(stray, "x", 1, 0644, &err), 0);
	assert_int_equal(imagestore_check(f->s, &n, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "stray file"));
	kumo_error_free(&err);
	unlink(stray);
	free(stray);
}

/* Stores a Wasm artifact's three blobs and its record; returns the id. */
static char *add_artifact(struct fixture *f, const char *wasm, size_t wlen, const char *tag, const char *repo_digest)
{
	kumo_error_t err = NULL;
	char ld[KUMO_DIGEST_BUF], cd[KUMO_DIGEST_BUF], md[KUMO_DIGEST_BUF];
	kumo_sha256(wasm, wlen, ld);
	char *cfg = xasprintf("{\"os\":\"wasip1\",\"architecture\":\"wasm\",\"layer\":\"%s\"}", ld);
	kumo_sha256(cfg, strlen(cfg), cd);
	char *man = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
			      "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"application/wasm\","
			      "\"digest\":\"%s\",\"size\":%zu}]}",
			      IMAGESTORE_MT_OCI_MANIFEST, IMAGESTORE_MT_WASM_CONFIG, cd, strlen(cfg), ld, wlen);
	kumo_sha256(man, strlen(man), md);
	assert_int_equal(store_put_blob(f->s, ld, wasm, wlen, &err), 0);
	assert_int_equal(store_put_blob(f->s, cd, cfg, strlen(cfg), &err), 0);
	assert_int_equal(store_put_blob(f->s, md, man, strlen(man), &err), 0);
	struct record rec = {0};
	rec.id = xstrdup(cd);
	rec.manifest = xstrdup(md);
	rec.config_media_type = xstrdup(IMAGESTORE_MT_WASM_CONFIG);
	char *layers[] = {ld, NULL};
	rec.layers = strv_dup(layers);
	rec.repo_tags = xzalloc(sizeof(char *));
	rec.repo_digests = xzalloc(sizeof(char *));
	if (tag)
		strv_add_unique(&rec.repo_tags, tag);
	if (repo_digest)
		strv_add_unique(&rec.repo_digests, repo_digest);
	rec.size = wlen + strlen(cfg);
	rec.format = IMAGESTORE_FORMAT_WASM_ARTIFACT;
	rec.platform = xstrdup("wasip1/wasm");
	rec.module_rel = xasprintf("blobs/sha256/%s", digest_hex(ld));
	rec.module_digest = xstrdup(ld);
	rec.config.entrypoint = xzalloc(sizeof(char *));
	rec.config.cmd = xzalloc(sizeof(char *));
	rec.config.env = xzalloc(sizeof(char *));
	assert_int_equal(record_save(f->s, &rec, &err), 0);
	char *id = xstrdup(cd);
	record_clear(&rec);
	free(cfg);
	free(man);
	return id;
}

/* A checkpoint image's record (what a pull of one stores): its archive is its layer's
 * blob, reported as checkpoint_path, never as a module; its manifest's annotations come
 * back; the checker hashes the archive; remove collects it. */
static void checkpoint_record(void **state)
{
	struct fixture *f = *state;
	kumo_error_t err = NULL;
	static const char archive[] = "manifest.json\0(a snapshot archive's bytes)";
	const char *cfg = "{\"format\":\"kumo-snapshot\",\"kind\":\"pod-vm\"}";
	char ld[KUMO_DIGEST_BUF], cd[KUMO_DIGEST_BUF], md[KUMO_DIGEST_BUF];
	kumo_sha256(archive, sizeof(archive), ld);
	kumo_sha256(cfg, strlen(cfg), cd);
	char *man = xasprintf("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
			      "\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
			      IMAGESTORE_MT_CHECKPOINT_CONFIG, cd, strlen(cfg),
			      IMAGESTORE_MT_CHECKPOINT_LAYER, ld, sizeof(archive));
	kumo_sha256(man, strlen(man), md);
	assert_int_equal(store_put_blob(f->s, ld, archive, sizeof(archive), &err), 0);
	assert_int_equal(store_put_blob(f->s, cd, cfg, strlen(cfg), &err), 0);
	assert_int_equal(store_put_blob(f->s, md, man, strlen(man), &err), 0);
	struct record rec = {0};
	rec.id = xstrdup(cd);
	rec.manifest = xstrdup(md);
	rec.config_media_type = xstrdup(IMAGESTORE_MT_CHECKPOINT_CONFIG);
	char *layers[] = {ld, NULL};
	rec.layers = strv_dup(layers);
	rec.repo_tags = xzalloc(sizeof(char *));
	rec.repo_digests = xzalloc(sizeof(char *));
	strv_add_unique(&rec.repo_tags, "reg:5000/ck:v1");
	rec.size = sizeof(archive) + strlen(cfg);
	rec.format = IMAGESTORE_FORMAT_CHECKPOINT;
	rec.platform = xstrdup("kumo/checkpoint");
	rec.module_rel = xasprintf("blobs/sha256/%s", digest_hex(ld));
	rec.module_digest = xstrdup(ld);
	rec.config.entrypoint = xzalloc(sizeof(char *));
	rec.config.cmd = xzalloc(sizeof(char *));
	rec.config.env = xzalloc(sizeof(char *));
	char *ann[] = {IMAGESTORE_ANN_CHECKPOINT_NAME, "counter", "k", "v=1, \"quoted\"", NULL};
	rec.annotations = strv_dup(ann);
	assert_int_equal(record_save(f->s, &rec, &err), 0);
	record_clear(&rec);

	struct record back;
	assert_int_equal(record_load(f->s, digest_hex(cd), &back, &err), 0);
	assert_int_equal(back.format, IMAGESTORE_FORMAT_CHECKPOINT);
	assert_int_equal(strv_len(back.annotations), 4);
	record_clear(&back);
	struct imagestore_image *im;
	assert_int_equal(imagestore_status(f->s, "reg:5000/ck:v1", &im, &err), 0);
	assert_int_equal(im->format, IMAGESTORE_FORMAT_CHECKPOINT);
	assert_null(im->module_path); /* nothing to compile */
	assert_null(im->module_digest);
	char *want = xasprintf("%s/blobs/sha256/%s", f->dir, digest_hex(ld));
	assert_string_equal(im->checkpoint_path, want);
	free(want);
	assert_string_equal(im->platform, "kumo/checkpoint");
	/* Annotations in pairs, in whatever order, the values intact. */
	int seen = 0;
	for (size_t i = 0; im->annotations[i]; i += 2) {
		if (strcmp(im->annotations[i], IMAGESTORE_ANN_CHECKPOINT_NAME) == 0)
			seen += strcmp(im->annotations[i + 1], "counter") == 0;
		if (strcmp(im->annotations[i], "k") == 0)
			seen += strcmp(im->annotations[i + 1], "v=1, \"quoted\"") == 0;
	}
	assert_int_equal(seen, 2);
	imagestore_image_free(im);
	size_t n = 0;
	assert_int_equal(imagestore_check(f->s, &n, &err), 0);
	assert_int_equal(n, 3);
	/* The archive altered on disk: the checker says so. */
	char *p = store_blob_path(f->s, ld);
	assert_int_equal(kumo_write_file_atomic(p, "altered", 7, 0644, &err), 0);
	assert_int_equal(imagestore_check(f->s, &n, &err), -1);
	kumo_error_free(&err);
	free(p);
	assert_int_equal(imagestore_remove(f->s, "reg:5000/ck:v1", false, &err), 0);
	assert_false(store_blob_exists(f->s, ld));
	assert_false(store_blob_exists(f->s, cd));
	assert_int_equal(imagestore_check(f->s, &n, &err), 0);
	assert_int_equal(n, 0);
	free(man);
}

static void records_lifecycle(void **state)
{
	struct fixture *f = *state;
	kumo_error_t err = NULL;
	char *id1 = add_artifact(f, "\0asm\1\0\0\0one", 11, "docker.io/library/one:v1",
				 "docker.io/library/one@sha256:1111111111111111111111111111111111111111111111111111111111111111");
	char *id2 = add_artifact(f, "\0asm\1\0\0\0two", 11, "reg:5000/two:latest", NULL);
	size_t n;
	assert_int_equal(imagestore_check(f->s, &n, &err), 0);
	assert_int_equal(n, 6);

	struct imagestore_image **list;
	assert_int_equal(imagestore_list(f->s, &list, &err), 0);
	assert_non_null(list[0]);
	assert_non_null(list[1]);
	assert_null(list[2]);
	imagestore_image_list_free(list);

	/* Status by short name, full id, id prefix, repo digest. */
	struct imagestore_image *im;
	assert_int_equal(imagestore_status(f->s, "one:v1", &im, &err), 0);
	assert_string_equal(im->id, id1);
	assert_int_equal(im->format, IMAGESTORE_FORMAT_WASM_ARTIFACT);
	char *mp = xasprintf("%s/blobs/sha256/", f->dir);
	assert_memory_equal(im->module_path, mp, strlen(mp));
	free(mp);
	imagestore_image_free(im);
	assert_int_equal(imagestore_status(f->s, id2, &im, &err), 0);
	assert_string_equal(im->repo_tags[0], "reg:5000/two:latest");
	imagestore_image_free(im);
	char prefix[20];
	snprintf(prefix, sizeof(prefix), "%.12s", id2 + 7);
	assert_int_equal(imagestore_status(f->s, prefix, &im, &err), 0);
	assert_string_equal(im->id, id2);
	imagestore_image_free(im);
	assert_int_equal(imagestore_status(f->s, "one@sha256:1111111111111111111111111111111111111111111111111111111111111111", &im, &err), 0);
	assert_string_equal(im->id, id1);
	imagestore_image_free(im);
	assert_int_equal(imagestore_status(f->s, "one:v2", &im, &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	kumo_error_free(&err);

	/* Pinned images are refused by remove. */
	assert_int_equal(imagestore_pin(f->s, "one:v1", true, &err), 0);
	assert_int_equal(imagestore_remove(f->s, "one:v1", false, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "pinned"));
	kumo_error_free(&err);
	assert_int_equal(imagestore_pin(f->s, id1, false, &err), 0);

	uint64_t bytes = 0, inodes = 0;
	assert_int_equal(imagestore_fs_usage(f->s, &bytes, &inodes, &err), 0);
	assert_true(bytes > 0);
	assert_true(inodes >= 8);

	/* Removing the last tag removes the image and collects its blobs, not the other's. */
	assert_int_equal(imagestore_remove(f->s, "one:v1", false, &err), 0);
	assert_false(store_blob_exists(f->s, id1));
	assert_true(store_blob_exists(f->s, id2));
	assert_int_equal(imagestore_check(f->s, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(imagestore_remove(f->s, "one:v1", false, &err), -1);
	assert_int_equal(err->status, KUMO_E_NOT_FOUND);
	kumo_error_free(&err);
	assert_int_equal(imagestore_remove(f->s, "one:v1", true, &err), 0);

	/* Abandoned downloads are collected too. */
	char *partial = xasprintf("%s/ingest/%s.partial", f->dir, digest_hex(id1));
	assert_int_equal(kumo_write_file_atomic(partial, "abc", 3, 0644, &err), 0);
	uint64_t freed = 0;
	assert_int_equal(imagestore_gc(f->s, &freed, &err), 0);
	assert_int_equal(freed, 3);
	assert_int_not_equal(access(partial, F_OK), 0);
	free(partial);

	assert_int_equal(imagestore_remove(f->s, id2, false, &err), 0);
	assert_int_equal(imagestore_check(f->s, &n, &err), 0);
	assert_int_equal(n, 0);
	free(id1);
	free(id2);
}

static void corrupt_record(void **state)
{
	struct fixture *f = *state;
	kumo_error_t err = NULL;
	char *p = xasprintf("%s/images/%064d.json", f->dir, 0);
	assert_int_equal(kumo_write_file_atomic(p, "{\"id\":", 6, 0644, &err), 0);
	struct imagestore_image **list;
	assert_int_equal(imagestore_list(f->s, &list, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "corrupt"));
	kumo_error_free(&err);
	size_t n;
	assert_int_equal(imagestore_check(f->s, &n, &err), -1);
	kumo_error_free(&err);
	unlink(p);
	free(p);
}

static void insecure_matching(void **state)
{
	struct fixture *f = *state;
	assert_true(store_is_insecure(f->s, "localhost"));
	assert_true(store_is_insecure(f->s, "localhost:5000"));
	assert_true(store_is_insecure(f->s, "127.0.0.1:39999"));
	assert_true(store_is_insecure(f->s, "[::1]:5000"));
	assert_false(store_is_insecure(f->s, "docker.io"));
	assert_false(store_is_insecure(f->s, "localhost.example.com"));
	assert_false(store_is_insecure(f->s, "127.0.0.10:5000"));
	const char *list[] = {"reg.internal:5000", NULL};
	struct imagestore_config cfg = {.root = f->dir, .insecure_registries = list};
	struct imagestore *s2;
	kumo_error_t err = NULL;
	assert_int_equal(imagestore_open(&cfg, &s2, &err), 0);
	assert_true(store_is_insecure(s2, "reg.internal:5000"));
	assert_false(store_is_insecure(s2, "reg.internal:5001"));
	assert_false(store_is_insecure(s2, "localhost:5000"));
	imagestore_close(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(put_blob_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(records_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(checkpoint_record, setup, teardown),
		cmocka_unit_test_setup_teardown(corrupt_record, setup, teardown),
		cmocka_unit_test_setup_teardown(insecure_matching, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
