/* tests/spectest/spectest.c - the spec-test runner: interprets wabt wast2json output
 * (*.json + .wasm). Validity assertions go through kumo's front end; modules and actions
 * run compiled by kumo and instantiated by the hosted runtime (spectest_exec.c).
 *
 * usage: kumo-spectest [-v [-v]] [--validate-only] [--timeout SECONDS] FILE.json|DIR...
 * Prints one line per file and closes with `spectest: N passed, N failed, N skipped`
 * over the assertions (assert_*); `module` commands are counted apart (modules: ...),
 * and a `simd files: ...; other files: ...` line splits both between the SIMD files
 * (named simd*) and the rest.
 * Text-format modules (assert_malformed with `module quote`, written by wast2json as
 * .wat files) go through kumo's text front end. The assertions that need execution are
 * skipped when built without the hosted runtime or run with --validate-only.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "compiler/abi.h"
#include "compiler/module.h"
#include "compiler/wat.h"
#include "tests/spectest/spectest.h"

struct tally {
	unsigned passed, failed, skipped; /* assertions */
	unsigned mod_ok, mod_failed;      /* module commands */
	unsigned done;                    /* commands run so far in the current file */
};

static int verbose;
static struct exec *ex; /* NULL: validity phase only */

#ifndef SPECTEST_EXEC
/* Built without the hosted runtime: `ex` stays NULL and these are never reached. */
int exec_begin_file(struct exec *x) { return -1; }
void exec_end_file(struct exec *x) {}
int exec_module(struct exec *x, const char *path, const char *name, struct exec_result *res)
{
	return -1;
}
int exec_register(struct exec *x, const char *as, const char *name) { return -1; }
int exec_invoke(struct exec *x, const char *module, const char *field, size_t field_len,
		const struct exec_value *args, uint32_t nargs, struct exec_result *res)
{
	return -1;
}
int exec_get(struct exec *x, const char *module, const char *field, size_t field_len,
	     struct exec_result *res)
{
	return -1;
}
#endif

/* Decodes and validates one .wasm; returns 0 when valid, -1 with *e when refused, -2
 * when the file cannot be read. */
static int check_module_file(const char *path, struct wasm_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	kumo_error_t err = NULL;
	memset(e, 0, sizeof(*e));
	if (kumo_read_file(path, 256u << 20, &buf, &len, &err) < 0) {
		snprintf(e->msg, sizeof(e->msg), "%s", kumo_error_msg(err));
		kumo_error_free(&err);
		return -2;
	}
	struct wasm_module m;
	struct wasm_arena text_arena = { 0 };
	const uint8_t *bin = buf;
	size_t bin_len = len;
	if (wat_is_text(buf, len)) {
		struct wat_error we;
		if (wat_assemble((const char *)buf, len, &text_arena, &bin, &bin_len, &we) < 0) {
			snprintf(e->msg, sizeof(e->msg), "%u:%u: %.200s", we.line, we.col, we.msg);
			e->malformed = true;
			arena_free(&text_arena);
			free(buf);
			return -1;
		}
	}
	int rc = wasm_decode(bin, bin_len, &m, e);
	if (rc == 0) {
		rc = wasm_validate(&m, e);
		wasm_module_free(&m);
	}
	arena_free(&text_arena);
	free(buf);
	return rc;
}

__attribute__((format(printf, 3, 4)))
static void note(const char *file, json_t *cmd, const char *fmt, ...)
{
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "  %s:%lld: %s: ", file,
		(long long)json_integer_value(json_object_get(cmd, "line")),
		json_string_value(json_object_get(cmd, "type")));
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* wast2json values: decimal bit patterns; "nan:canonical" / "nan:arithmetic" in
 * expectations; references as "null" or a host number. */
enum nan_kind { NAN_NONE, NAN_CANONICAL, NAN_ARITHMETIC };

static int type_code(const char *t)
{
	if (!t)
		return -1;
	if (!strcmp(t, "i32")) return KUMO_T_I32;
	if (!strcmp(t, "i64")) return KUMO_T_I64;
	if (!strcmp(t, "f32")) return KUMO_T_F32;
	if (!strcmp(t, "f64")) return KUMO_T_F64;
	if (!strcmp(t, "externref")) return KUMO_T_EXTERNREF;
	if (!strcmp(t, "funcref")) return KUMO_T_FUNCREF;
	if (!strcmp(t, "v128")) return KUMO_T_V128;
	return -1; /* anything newer */
}

/* A v128 as wast2json writes it: "lane_type" and one decimal string per lane (or a NaN
 * class in expectations). Fills the 16 bytes, the lane width and each lane's NaN class. */
static int parse_v128(json_t *v, uint8_t bytes[16], unsigned *lane_bytes, bool *is_float,
		      enum nan_kind nan[16], unsigned *nlanes)
{
	const char *lt = jstr(v, "lane_type");
	json_t *vals = json_object_get(v, "value");
	if (!lt || !json_is_array(vals))
		return -1;
	unsigned w = !strcmp(lt, "i8") ? 1 : !strcmp(lt, "i16") ? 2 :
		     !strcmp(lt, "i32") || !strcmp(lt, "f32") ? 4 :
		     !strcmp(lt, "i64") || !strcmp(lt, "f64") ? 8 : 0;
	if (!w || json_array_size(vals) != 16 / w)
		return -1;
	*lane_bytes = w;
	*is_float = lt[0] == 'f';
	*nlanes = 16 / w;
	for (unsigned i = 0; i < 16 / w; i++) {
		const char *s = json_string_value(json_array_get(vals, i));
		if (!s)
			return -1;
		nan[i] = !strcmp(s, "nan:canonical") ? NAN_CANONICAL :
			 !strcmp(s, "nan:arithmetic") ? NAN_ARITHMETIC : NAN_NONE;
		uint64_t x = nan[i] == NAN_NONE ? strtoull(s, NULL, 10) : 0;
		memcpy(bytes + i * w, &x, w); /* little-endian host */
	}
	return 0;
}

static bool nan_matches(enum nan_kind nan, uint64_t b, bool f32)
{
	if (f32)
		return nan == NAN_CANONICAL ? (b & 0x7fffffffu) == 0x7fc00000u
					    : (b & 0x7fc00000u) == 0x7fc00000u;
	return nan == NAN_CANONICAL ? (b & 0x7fffffffffffffffull) == 0x7ff8000000000000ull
				    : (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
}

static int parse_value(json_t *v, struct exec_value *out, enum nan_kind *nan, bool *any_ref)
{
	int t = type_code(jstr(v, "type"));
	const char *val = jstr(v, "value");
	*nan = NAN_NONE;
	*any_ref = false;
	if (t < 0 || (!val && t != KUMO_T_V128))
		return -1;
	out->type = (uint8_t)t;
	out->bits = 0;
	out->hi = 0;
	if (t == KUMO_T_V128) {
		uint8_t bytes[16];
		unsigned w, n;
		bool fl;
		enum nan_kind lanes[16];
		if (parse_v128(v, bytes, &w, &fl, lanes, &n) < 0)
			return -1;
		memcpy(&out->bits, bytes, 8);
		memcpy(&out->hi, bytes + 8, 8);
		return 0;
	}
	if (!strcmp(val, "nan:canonical")) {
		*nan = NAN_CANONICAL;
	} else if (!strcmp(val, "nan:arithmetic")) {
		*nan = NAN_ARITHMETIC;
	} else if (t == KUMO_T_EXTERNREF || t == KUMO_T_FUNCREF) {
		if (strcmp(val, "null") != 0) {
			out->bits = strtoull(val, NULL, 10) + 1;
			*any_ref = t == KUMO_T_FUNCREF;
		}
	} else {
		out->bits = strtoull(val, NULL, 10);
	}
	return 0;
}

static bool value_matches(json_t *expect, const struct exec_value *got)
{
	struct exec_value want;
	enum nan_kind nan;
	bool any_ref;
	if (parse_value(expect, &want, &nan, &any_ref) < 0 || want.type != got->type)
		return false;
	if (got->type == KUMO_T_V128) {
		uint8_t w_bytes[16], g_bytes[16];
		unsigned w, n;
		bool fl;
		enum nan_kind lanes[16];
		parse_v128(expect, w_bytes, &w, &fl, lanes, &n);
		memcpy(g_bytes, &got->bits, 8);
		memcpy(g_bytes + 8, &got->hi, 8);
		for (unsigned i = 0; i < n; i++) {
			uint64_t g = 0;
			memcpy(&g, g_bytes + i * w, w);
			if (lanes[i] != NAN_NONE) {
				if (!fl || !nan_matches(lanes[i], g, w == 4))
					return false;
			} else if (memcmp(g_bytes + i * w, w_bytes + i * w, w) != 0) {
				return false;
			}
		}
		return true;
	}
	if (nan != NAN_NONE) {
		if (got->type == KUMO_T_F32) {
			uint32_t b = (uint32_t)got->bits;
			return nan == NAN_CANONICAL ? (b & 0x7fffffffu) == 0x7fc00000u
						    : (b & 0x7fc00000u) == 0x7fc00000u;
		}
		uint64_t b = got->bits;
		return nan == NAN_CANONICAL ? (b & 0x7fffffffffffffffull) == 0x7ff8000000000000ull
					    : (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
	}
	if (any_ref)
		return got->bits != 0;
	return want.bits == got->bits;
}

/* Runs an "invoke" or "get" action. Returns 0 when it ran to completion. */
static int run_action(json_t *action, struct exec_result *res)
{
	const char *type = jstr(action, "type");
	const char *module = jstr(action, "module");
	const char *field = jstr(action, "field");
	size_t field_len = json_string_length(json_object_get(action, "field"));
	memset(res, 0, sizeof(*res));
	if (!type || !field) {
		res->kind = EXEC_ERROR;
		snprintf(res->msg, sizeof(res->msg), "malformed action");
		return -1;
	}
	if (!strcmp(type, "get"))
		return exec_get(ex, module, field, field_len, res);
	json_t *args = json_object_get(action, "args");
	struct exec_value vals[EXEC_MAX_VALUES];
	size_t n = json_array_size(args);
	if (n > EXEC_MAX_VALUES) {
		res->kind = EXEC_ERROR;
		snprintf(res->msg, sizeof(res->msg), "too many arguments");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		enum nan_kind nan;
		bool any_ref;
		if (parse_value(json_array_get(args, i), &vals[i], &nan, &any_ref) < 0) {
			res->kind = EXEC_ERROR;
			snprintf(res->msg, sizeof(res->msg), "unsupported argument type");
			return -1;
		}
	}
	return exec_invoke(ex, module, field, field_len, vals, (uint32_t)n, res);
}

/* The expected text may carry details kumo's trap wording has not ("uninitialized
 * element 2"): either string being a prefix of the other is a match. */
static bool trap_text_matches(const char *got, const char *want)
{
	size_t a = strlen(got), b = strlen(want);
	return a > 0 && strncmp(got, want, a < b ? a : b) == 0;
}

static const char *kind_name(enum exec_kind k)
{
	switch (k) {
	case EXEC_OK: return "returned";
	case EXEC_LOAD_FAILED: return "load failed";
	case EXEC_ERROR: return "error";
	case EXEC_TRAP: return "trap";
	}
	return "?";
}

/* One command; returns 1 passed, 0 failed, -1 skipped, 2 not an assertion. */
static int run_command(const char *dir, const char *base, json_t *cmd, struct tally *t)
{
	const char *type = jstr(cmd, "type");
	const char *fname = jstr(cmd, "filename");
	const char *text = jstr(cmd, "text");
	char path[4096] = "";
	if (fname)
		snprintf(path, sizeof(path), "%s/%s", dir, fname);
	struct wasm_error e;
	struct exec_result res;
	if (!strcmp(type, "module")) {
		int rc;
		if (ex)
			rc = exec_module(ex, path, jstr(cmd, "name"), &res);
		else
			rc = check_module_file(path, &e);
		if (rc == 0) {
			t->mod_ok++;
		} else {
			t->mod_failed++;
			note(base, cmd, "module refused: %s", ex ? res.msg : e.msg);
		}
		return 2;
	}
	if (!strcmp(type, "register")) {
		if (ex && exec_register(ex, jstr(cmd, "as"), jstr(cmd, "name")) < 0)
			note(base, cmd, "no such module to register");
		return 2;
	}
	if (!strcmp(type, "assert_invalid") || !strcmp(type, "assert_malformed")) {
		/* Text modules (module_type "text", from `module quote`) go through kumo's
		 * text front end: the parser or the decoder after it must refuse them. */
		int rc = check_module_file(path, &e);
		if (rc == -1) {
			if (verbose > 1)
				note(base, cmd, "ok: expected \"%s\", got \"%s\"", text, e.msg);
			return 1;
		}
		note(base, cmd, "accepted; expected \"%s\"%s", text, rc == -2 ? e.msg : "");
		return 0;
	}
	if (!ex) /* everything below needs execution */
		return strncmp(type, "assert_", 7) == 0 ? -1 : 2;
	if (!strcmp(type, "action")) {
		if (run_action(json_object_get(cmd, "action"), &res) < 0)
			note(base, cmd, "%s: %s", kind_name(res.kind), res.msg);
		return 2;
	}
	if (!strcmp(type, "assert_unlinkable") || !strcmp(type, "assert_uninstantiable")) {
		bool trap = !strcmp(type, "assert_uninstantiable");
		if (check_module_file(path, &e) != 0) {
			note(base, cmd, "module is not valid: %s", e.msg);
			return 0;
		}
		struct exec_result r2;
		if (exec_module(ex, path, NULL, &r2) == 0) {
			note(base, cmd, "instantiated; expected \"%s\"", text);
			return 0;
		}
		if ((trap && r2.kind == EXEC_TRAP) || (!trap && r2.kind == EXEC_ERROR))
			return 1;
		note(base, cmd, "%s \"%s\"; expected \"%s\"", kind_name(r2.kind), r2.msg, text);
		return 0;
	}
	if (!strcmp(type, "assert_return")) {
		json_t *expected = json_object_get(cmd, "expected");
		if (run_action(json_object_get(cmd, "action"), &res) < 0) {
			note(base, cmd, "%s: %s", kind_name(res.kind), res.msg);
			return 0;
		}
		if (res.nvalues != json_array_size(expected)) {
			note(base, cmd, "%u results, expected %zu", res.nvalues, json_array_size(expected));
			return 0;
		}
		for (uint32_t i = 0; i < res.nvalues; i++) {
			if (!value_matches(json_array_get(expected, i), &res.values[i])) {
				json_t *ev = json_array_get(expected, i);
				char *want = json_dumps(json_object_get(ev, "value"), JSON_COMPACT);
				note(base, cmd, "result %u: got 0x%llx:%016llx (type 0x%x), expected %s", i,
				     (unsigned long long)res.values[i].bits,
				     (unsigned long long)res.values[i].hi, res.values[i].type,
				     want ? want : "?");
				free(want);
				return 0;
			}
		}
		return 1;
	}
	if (!strcmp(type, "assert_trap") || !strcmp(type, "assert_exhaustion")) {
		if (run_action(json_object_get(cmd, "action"), &res) == 0) {
			note(base, cmd, "returned; expected trap \"%s\"", text);
			return 0;
		}
		if (res.kind == EXEC_TRAP && text && trap_text_matches(res.msg, text))
			return 1;
		note(base, cmd, "%s \"%s\"; expected \"%s\"", kind_name(res.kind), res.msg, text);
		return 0;
	}
	if (!strncmp(type, "assert_", 7)) {
		note(base, cmd, "unknown assertion");
		return 0;
	}
	return 2;
}

/* Runs every command of one file, sending the running tally after each command to
 * fd (when >= 0) so the parent knows how far a crashed or hung child got. */
static void run_commands(const char *dir, const char *base, json_t *cmds, struct tally *t,
			 int fd)
{
	size_t i;
	json_t *cmd;
	json_array_foreach(cmds, i, cmd) {
		if (!jstr(cmd, "type"))
			continue;
		if (getenv("KUMO_SPECTEST_TRACE"))
			fprintf(stderr, "%s:%lld %s\n", base,
				(long long)json_integer_value(json_object_get(cmd, "line")),
				jstr(cmd, "type"));
		switch (run_command(dir, base, cmd, t)) {
		case 1: t->passed++; break;
		case 0: t->failed++; break;
		case -1: t->skipped++; break;
		default: break;
		}
		t->done = (unsigned)i + 1;
		if (fd >= 0 && write(fd, t, sizeof(*t)) != (ssize_t)sizeof(*t))
			fd = -1;
	}
}

static unsigned file_timeout = 300; /* seconds per file (execution only) */

/* Execution runs in a child process per file: a crash or a hang in generated code or
 * the runtime costs that file's remaining assertions, not the whole run. */
static void run_isolated(const char *dir, const char *base, json_t *cmds, struct tally *t)
{
	int pfd[2];
	if (pipe(pfd) < 0) {
		run_commands(dir, base, cmds, t, -1);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		int rc = exec_begin_file(ex);
		if (rc == 0) {
			run_commands(dir, base, cmds, t, pfd[1]);
			exec_end_file(ex);
		}
		fflush(stdout);
		fflush(stderr);
		_exit(rc == 0 ? 0 : 3);
	}
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		t->failed++;
		return;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int st = 0;
	bool timed_out = false;
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct tally msg;
		ssize_t n;
		while ((n = read(pfd[0], &msg, sizeof(msg))) == (ssize_t)sizeof(msg))
			*t = msg;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!timed_out && (unsigned)(now.tv_sec - t0.tv_sec) > file_timeout) {
			kill(pid, SIGKILL);
			timed_out = true;
		}
		struct timespec nap = { 0, 20 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	struct tally msg;
	while (read(pfd[0], &msg, sizeof(msg)) == (ssize_t)sizeof(msg))
		*t = msg;
	close(pfd[0]);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && t->done == json_array_size(cmds))
		return;
	/* Whatever did not run counts as failed. */
	size_t i;
	json_t *cmd;
	unsigned lost = 0;
	json_array_foreach(cmds, i, cmd) {
		const char *type = jstr(cmd, "type");
		if (i >= t->done && type && !strncmp(type, "assert_", 7))
			lost++;
	}
	long long line = t->done < json_array_size(cmds)
		? (long long)json_integer_value(json_object_get(json_array_get(cmds, t->done), "line"))
		: 0;
	if (timed_out)
		printf("%-32s timed out after %us at line %lld; %u assertions not run\n", base,
		       file_timeout, line, lost);
	else if (WIFSIGNALED(st))
		printf("%-32s crashed (signal %d) at line %lld; %u assertions not run\n", base,
		       WTERMSIG(st), line, lost);
	else
		printf("%-32s runner exited with %d at line %lld; %u assertions not run\n", base,
		       WEXITSTATUS(st), line, lost);
	t->failed += lost > 0 ? lost : 1;
}

/* Totals over the SIMD files (simd_*.json) and the others, for the closing note. */
static struct tally simd_total, other_total;

static void add_tally(struct tally *to, const struct tally *t)
{
	to->passed += t->passed;
	to->failed += t->failed;
	to->skipped += t->skipped;
	to->mod_ok += t->mod_ok;
	to->mod_failed += t->mod_failed;
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
	if (ex)
		run_isolated(dir, base, cmds, &t);
	else
		run_commands(dir, base, cmds, &t, -1);
	printf("%-32s %5u passed, %5u failed, %5u skipped; modules %4u ok, %3u failed\n", base,
	       t.passed, t.failed, t.skipped, t.mod_ok, t.mod_failed);
	add_tally(total, &t);
	add_tally(strstr(base, "simd") ? &simd_total : &other_total, &t);
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
	int no_exec = 0;
	char **files = NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	size_t nfiles = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0) {
			verbose++;
			continue;
		}
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			file_timeout = (unsigned)atoi(argv[++i]);
			continue;
		}
		if (strcmp(argv[i], "--validate-only") == 0) {
			no_exec = 1;
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
		fprintf(stderr, "usage: kumo-spectest [-v] [--validate-only] [--timeout S] FILE.json|DIR...\n");
		return 2;
	}
	qsort(files, nfiles, sizeof(*files), cmp_str);
#ifdef SPECTEST_EXEC
	if (!no_exec) {
		ex = exec_new();
		if (!ex) {
			fprintf(stderr, "kumo-spectest: cannot create a temporary directory\n");
			return 2;
		}
	}
#endif
	for (size_t i = 0; i < nfiles; i++) {
		run_file(files[i], &total);
		free(files[i]);
	}
	free(files);
#ifdef SPECTEST_EXEC
	exec_free(ex);
#endif
	(void)no_exec;
	printf("simd files: %u passed, %u failed, %u skipped (modules %u ok, %u failed); "
	       "other files: %u passed, %u failed, %u skipped (modules %u ok, %u failed)\n",
	       simd_total.passed, simd_total.failed, simd_total.skipped, simd_total.mod_ok,
	       simd_total.mod_failed, other_total.passed, other_total.failed, other_total.skipped,
	       other_total.mod_ok, other_total.mod_failed);
	printf("modules: %u ok, %u failed\n", total.mod_ok, total.mod_failed);
	printf("spectest: %u passed, %u failed, %u skipped\n", total.passed, total.failed,
	       total.skipped);
	return total.failed || total.mod_failed ? 1 : 0;
}
