/* tests/spectest/spectest.c - runs wabt wast2json output (*.json + .wasm) against kumo's
 * front end: module commands must decode and validate, assert_invalid and binary
 * assert_malformed modules must be refused.
 *
 * usage: kumo-spectest [-v] FILE.json|DIR...
 * Prints one line per file and closes with `spectest: N passed, N failed, N skipped`.
 * Text-format assert_malformed modules (kumo has no text parser) and commands that need
 * execution (assert_return, assert_trap, ...) are counted as skipped.
 */
#include <dirent.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "compiler/module.h"

struct tally {
	unsigned passed, failed, skipped;
};

static int verbose;

/* Decodes and validates one .wasm; returns 0 when valid, -1 with *e when refused. */
static int check_module_file(const char *dir, const char *name, struct wasm_error *e,
			     char *why, size_t whylen)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	if (kumo_read_file(path, 256u << 20, &buf, &len, &err) < 0) {
		snprintf(why, whylen, "%s", kumo_error_msg(err));
		kumo_error_free(&err);
		memset(e, 0, sizeof(*e));
		snprintf(e->msg, sizeof(e->msg), "cannot read module");
		return -2;
	}
	struct wasm_module m;
	int rc = wasm_decode(buf, len, &m, e);
	if (rc == 0) {
		rc = wasm_validate(&m, e);
		wasm_module_free(&m);
	}
	free(buf);
	return rc;
}

static void report(const char *file, json_t *cmd, const char *fmt, const char *a, const char *b)
{
	if (!verbose)
		return;
	fprintf(stderr, "  %s:%lld: %s: ", file, (long long)json_integer_value(json_object_get(cmd, "line")),
		json_string_value(json_object_get(cmd, "type")));
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
}

static void run_file(const char *path, struct tally *total)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
	struct tally t = { 0 };
	char dirbuf[4096];
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	const char *dir = dirname(dirbuf);
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!root) {
		printf("%-32s cannot parse: %s\n", base, jerr.text);
		total->failed++;
		return;
	}
	json_t *cmds = json_object_get(root, "commands");
	size_t i;
	json_t *cmd;
	json_array_foreach(cmds, i, cmd) {
		const char *type = json_string_value(json_object_get(cmd, "type"));
		const char *fname = json_string_value(json_object_get(cmd, "filename"));
		const char *mtype = json_string_value(json_object_get(cmd, "module_type"));
		const char *text = json_string_value(json_object_get(cmd, "text"));
		struct wasm_error e;
		char why[512] = "";
		if (!type)
			continue;
		if (strcmp(type, "module") == 0) {
			/* Not an assertion, but a valid module that we refuse is a failure. */
			if (check_module_file(dir, fname, &e, why, sizeof(why)) == 0) {
				t.passed++;
			} else {
				t.failed++;
				report(base, cmd, "refused valid module: %s (offset %s)", e.msg, "");
			}
		} else if (strcmp(type, "assert_invalid") == 0 ||
			   strcmp(type, "assert_malformed") == 0) {
			if (mtype && strcmp(mtype, "binary") != 0) {
				t.skipped++;
				continue;
			}
			int rc = check_module_file(dir, fname, &e, why, sizeof(why));
			if (rc == -1) {
				t.passed++;
				if (verbose > 1)
					report(base, cmd, "ok: expected \"%s\", got \"%s\"", text, e.msg);
			} else {
				t.failed++;
				report(base, cmd, "accepted; expected \"%s\"%s", text, why);
			}
		} else if (strcmp(type, "assert_unlinkable") == 0 ||
			   strcmp(type, "assert_uninstantiable") == 0) {
			/* The module itself must be valid; linking needs execution (phase B). */
			t.skipped++;
		} else if (strncmp(type, "assert_", 7) == 0) {
			t.skipped++;
		}
	}
	printf("%-32s %5u passed, %5u failed, %5u skipped\n", base, t.passed, t.failed, t.skipped);
	total->passed += t.passed;
	total->failed += t.failed;
	total->skipped += t.skipped;
	json_decref(root);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.json under dir (one level of subdirectories too, as wast2json output is
 * usually laid out one directory per .wast). */
static void collect(const char *dir, char ***list, size_t *n, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
			*list = xrealloc(*list, (*n + 1) * sizeof(**list));
			(*list)[(*n)++] = xstrdup(path);
		} else if (depth == 0) {
			collect(path, list, n, 1);
		}
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	struct tally total = { 0 };
	char **files = NULL;
	size_t nfiles = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose++;
			continue;
		}
		size_t l = strlen(argv[i]);
		if (l > 5 && strcmp(argv[i] + l - 5, ".json") == 0) {
			files = xrealloc(files, (nfiles + 1) * sizeof(*files));
			files[nfiles++] = xstrdup(argv[i]);
		} else {
			collect(argv[i], &files, &nfiles, 0);
		}
	}
	if (nfiles == 0) {
		fprintf(stderr, "usage: kumo-spectest [-v] FILE.json|DIR...\n");
		return 2;
	}
	qsort(files, nfiles, sizeof(*files), cmp_str);
	for (size_t i = 0; i < nfiles; i++) {
		run_file(files[i], &total);
		free(files[i]);
	}
	free(files);
	printf("spectest: %u passed, %u failed, %u skipped\n", total.passed, total.failed,
	       total.skipped);
	return total.failed ? 1 : 0;
}
