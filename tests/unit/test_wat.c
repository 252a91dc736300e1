/* tests/unit/test_wat.c - the text format front end (compiler/wat_lex.c, wat_parse.c):
 * abbreviations, literals, comments, errors, and wasm_load() telling text from binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "common.h"
#include "compiler/frontend.h"
#include "compiler/module.h"
#include "compiler/wat.h"

/* Assembled binaries live in one arena per test, freed by teardown. */
static struct wasm_arena arena;

static int teardown(void **state)
{
	arena_free(&arena);
	return 0;
}

/* Assembles `text`; fails the test with the error when it is refused. */
static const uint8_t *wat(const char *text, size_t *len)
{
	const uint8_t *bin;
	struct wat_error e;
	if (wat_assemble(text, strlen(text), &arena, &bin, len, &e) < 0)
		fail_msg("refused: %u:%u: %s\n%s", e.line, e.col, e.msg, text);
	return bin;
}

/* Two texts that must assemble to the same bytes. */
static void same(const char *a, const char *b)
{
	size_t la, lb;
	const uint8_t *ba = wat(a, &la), *bb = wat(b, &lb);
	if (la != lb || memcmp(ba, bb, la) != 0)
		fail_msg("different binaries (%zu vs %zu bytes):\n%s\n%s", la, lb, a, b);
}

/* A text that must be refused at line:col with a message containing msg. */
static void refused(const char *text, uint32_t line, uint32_t col, const char *msg)
{
	const uint8_t *bin;
	size_t len;
	struct wat_error e;
	if (wat_assemble(text, strlen(text), &arena, &bin, &len, &e) == 0)
		fail_msg("accepted: %s", text);
	if (!strstr(e.msg, msg) || e.line != line || e.col != col)
		fail_msg("expected %u:%u: \"%s\", got %u:%u: \"%s\"", line, col, msg, e.line, e.col,
			 e.msg);
}

/* Loads text through wasm_load (decode + validate). */
static void load(const char *text, struct wasm_module *m)
{
	kumo_error_t err = NULL;
	if (wasm_load((const uint8_t *)text, strlen(text), m, &err) < 0)
		fail_msg("wasm_load: %s", kumo_error_msg(err));
}

static void func_abbreviations(void **state)
{
	/* Inline export and import. */
	same("(module (func $f (export \"a\") (export \"b\")))",
	     "(module (func $f) (export \"a\" (func $f)) (export \"b\" (func 0)))");
	same("(module (func $f (import \"m\" \"n\") (param i32)))",
	     "(module (type (func (param i32))) (import \"m\" \"n\" (func $f (type 0))))");
	/* Type use synthesis: an inline signature reuses a matching type or adds one at
	 * the end, after the explicit types. */
	same("(module (func (param i32) (result i64) unreachable) (type (func)))",
	     "(module (type (func)) (type (func (param i32) (result i64)))"
	     " (func (type 1) unreachable))");
	same("(module (type $t (func (param i32))) (func (param i32)))",
	     "(module (type $t (func (param i32))) (func (type $t)))");
	/* Named params and locals share the local index space. */
	same("(module (func (param $a i32) (param i64 f32) (local $x f64) (local i32 i32)"
	     " local.get $a drop local.get $x drop local.get 5 drop))",
	     "(module (func (param i32 i64 f32) (local f64 i32 i32)"
	     " local.get 0 drop local.get 3 drop local.get 5 drop))");
	/* Bare fields without (module ...). */
	same("(func) (memory 1)", "(module (func) (memory 1))");
}

static void folded_and_flat(void **state)
{
	same("(module (func (result i32) (i32.add (i32.const 1) (i32.mul (i32.const 2) (i32.const 3)))))",
	     "(module (func (result i32) i32.const 1 i32.const 2 i32.const 3 i32.mul i32.add))");
	same("(module (func (param i32) (result i32)"
	     " (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2)))))",
	     "(module (func (param i32) (result i32)"
	     " local.get 0 if (result i32) i32.const 1 else i32.const 2 end))");
	same("(module (func (block $out (loop $l (br_if $out (i32.const 1)) (br $l)))))",
	     "(module (func block $out loop $l i32.const 1 br_if 1 br 0 end end))");
	same("(module (func block $a block $b br_table $a $b $a end $b end $a))",
	     "(module (func block block br_table 1 0 1 end end))");
	/* A block with params gets a synthesized type. */
	same("(module (func (i32.const 1) (block (param i32) (drop))))",
	     "(module (type (func)) (type (func (param i32)))"
	     " (func (type 0) i32.const 1 block (type 1) drop end))");
}

static void table_memory_abbreviations(void **state)
{
	same("(module (func $f) (table $t funcref (elem $f $f)))",
	     "(module (func $f) (table $t 2 2 funcref) (elem (i32.const 0) func $f $f))");
	same("(module (memory (data \"ab\" \"c\")))",
	     "(module (memory 1 1) (data (memory 0) (i32.const 0) \"abc\"))");
	same("(module (memory 1) (data (offset (i32.const 8)) \"x\"))",
	     "(module (memory 1) (data (i32.const 8) \"x\"))");
	same("(module (table 1 funcref) (func $f) (elem (i32.const 0) $f))",
	     "(module (table 1 funcref) (func $f) (elem (offset (i32.const 0)) func $f))");
	same("(module (table 1 funcref) (elem funcref (item ref.func 0) (ref.null func)) (func))",
	     "(module (table 1 funcref) (elem funcref (item (ref.func 0)) (item ref.null func)) (func))");
	same("(module (global $g (export \"g\") (mut i32) (i32.const 7)))",
	     "(module (global $g (mut i32) i32.const 7) (export \"g\" (global $g)))");
	same("(module (memory $m (import \"e\" \"m\") 1 2) (table (import \"e\" \"t\") 1 externref))",
	     "(module (import \"e\" \"m\" (memory $m 1 2)) (import \"e\" \"t\" (table 1 externref)))");
}

static void literals(void **state)
{
	struct wasm_module m;
	load("(module"
	     " (global (export \"a\") i32 (i32.const 0xffff_ffff))"
	     " (global i32 (i32.const -2_147_483_648))"
	     " (global i64 (i64.const 0x7fff_ffff_ffff_ffff))"
	     " (global f32 (f32.const 0x1.8p1))"
	     " (global f64 (f64.const -nan:0x4))"
	     " (global f32 (f32.const inf))"
	     " (global f64 (f64.const 1_000.5e-1))"
	     " (global f32 (f32.const nan))"
	     " (global f64 (f64.const 1)))", &m);
	assert_int_equal(m.nglobals, 9);
	assert_int_equal(m.globals[0].init.bits & 0xffffffff, 0xffffffffu);
	assert_int_equal(m.globals[1].init.bits & 0xffffffff, 0x80000000u);
	assert_int_equal(m.globals[2].init.bits, 0x7fffffffffffffffull);
	assert_int_equal(m.globals[3].init.bits & 0xffffffff, 0x40400000u); /* 3.0f */
	assert_int_equal(m.globals[4].init.bits, 0xfff0000000000004ull);
	assert_int_equal(m.globals[5].init.bits & 0xffffffff, 0x7f800000u);
	double d;
	memcpy(&d, &m.globals[6].init.bits, 8);
	assert_true(d == 100.05);
	assert_int_equal(m.globals[7].init.bits & 0xffffffff, 0x7fc00000u);
	assert_int_equal(m.globals[8].init.bits, 0x3ff0000000000000ull);
	assert_int_equal(m.exports[0].name.len, 1);
	wasm_module_free(&m);

	/* Strings: escapes and \u{...} in names and data. */
	load("(module (memory 1) (func (export \"\\u{e9}t\\u{1F600}\"))"
	     " (data (i32.const 0) \"\\00\\ff\\t\\n\\r\\\"\\'\\\\\"))", &m);
	assert_int_equal(m.exports[0].name.len, 2 + 1 + 4);
	assert_memory_equal(m.exports[0].name.ptr, "\xc3\xa9t\xf0\x9f\x98\x80", 7);
	assert_int_equal(m.datas[0].len, 8);
	assert_memory_equal(m.datas[0].bytes, "\0\xff\t\n\r\"'\\", 8);
	wasm_module_free(&m);
}

static void comments_and_annotations(void **state)
{
	same("(module ;; line\n (; block (; nested ;) still ;) (func (@name \"x\" (a b)) nop))",
	     "(module (func nop))");
}

static void errors(void **state)
{
	refused("(module\n  (func i32.addd))", 2, 9, "unknown operator `i32.addd`");
	refused("(module (func (i32.const 0x1_0000_0000) drop))", 1, 26, "constant out of range");
	refused("(module (func (i64.const 1__0) drop))", 1, 26, "malformed integer `1__0`");
	refused("(module (func (f32.const 0x1p_1) drop))", 1, 26, "malformed float");
	refused("(module (func (f32.const 1e39) drop))", 1, 26, "constant out of range");
	refused("(module (func (f64.const nan:0x0) drop))", 1, 26, "constant out of range");
	refused("(module (func $f) (func $f))", 1, 25, "duplicate function `$f`");
	refused("(module (func (call $nope)))", 1, 21, "unknown function `$nope`");
	refused("(module (func block $a end $b))", 1, 28, "mismatching label `$b`");
	refused("(module (type (func)) (func (type 0) (param i32)))", 1, 29, "inconsistent type");
	refused("(module (func) (import \"m\" \"f\" (func)))", 1, 17, "import after");
	refused("(module (memory 1) (func (i32.load align=3 (i32.const 0)) drop))", 1, 36,
		"alignment must be a power of two");
	refused("(module (func (result i32) (i32.const 1))", 1, 42, "expected `)`, found end of input");
	refused("(module (func \"\\ff\"))", 1, 15, "expected");
	refused("(module (export \"\\ff\" (func 0)) (func))", 1, 17, "malformed UTF-8");
	refused("(module (data\"a\"))", 1, 14, "tokens must be separated");
	refused("(module (; open", 1, 9, "unclosed block comment");
	refused("(module (func (param $x i32) (result i32) (param i32)))", 1, 44,
		"unexpected `param` after `result`");
	refused("(module (func (call_indirect (param $x i32))))", 1, 37, "unexpected identifier");
	refused("(module (func v128.const))", 1, 25, "vector shape");
	refused("(module (func (v128.const i16x8 1 2 3)))", 1, 38, "integer lane");
	refused("(module (func (v128.const i8x16 256 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0)))", 1, 33,
		"constant out of range");
	refused("(module (func i8x16.relaxed_swizzle))", 1, 15, "unknown operator");
	refused("(module (memory i64 1))", 1, 17, "memory64");
	refused("(module) (module)", 1, 10, "end of input");
	refused("(module (func \"unclosed))", 1, 15, "unclosed string");
}

static void load_detects_text(void **state)
{
	struct wasm_module m;
	/* Text with leading whitespace and a comment, through the full front end. */
	load("  ;; app\n(module (func (export \"_start\") (result i32) (i32.const 42)))", &m);
	assert_int_equal(m.nfuncs, 1);
	assert_int_equal(m.nexports, 1);
	assert_memory_equal(m.exports[0].name.ptr, "_start", 6);
	wasm_module_free(&m);
	/* (module quote ...): the strings are text (empty: the empty module). */
	same("(module quote \"(func (export \\\"f\\\"))\" \"(memory 1)\")",
	     "(module (func (export \"f\")) (memory 1))");
	same("(module quote)", "(module)");
	/* Binary via (module binary ...). */
	load("(module binary \"\\00asm\" \"\\01\\00\\00\\00\")", &m);
	assert_int_equal(m.nfuncs, 0);
	wasm_module_free(&m);
	/* A text error names line and column; a valid text with an invalid body is refused by
	 * the validator. */
	kumo_error_t err = NULL;
	const char *bad = "(module\n (func (result i32) (i64.const 1)))";
	assert_int_equal(wasm_load((const uint8_t *)bad, strlen(bad), &m, &err), -1);
	assert_non_null(strstr(kumo_error_msg(err), "type mismatch"));
	kumo_error_free(&err);
	const char *garbled = "(module (fnuc))";
	assert_int_equal(wasm_load((const uint8_t *)garbled, strlen(garbled), &m, &err), -1);
	assert_string_equal(kumo_error_msg(err),
			    "malformed text module at 1:10: expected a module field, found `fnuc`");
	kumo_error_free(&err);
	assert_false(wat_is_text((const uint8_t *)"\0asm", 4));
	assert_true(wat_is_text((const uint8_t *)"\n (module)", 10));
}

/* Every prefix of a valid module is refused cleanly (no crash, no overread under ASan). */
static void truncations(void **state)
{
	const char *text = "(module (type (func (param i32))) (memory 1) (table 1 funcref)"
			   " (func $f (export \"f\") (param $x i32) (result f64)"
			   " (block $b (br_if $b (local.get $x))) (f64.const 0x1.fp+3))"
			   " (data (i32.const 0) \"\\u{41}\") (elem (i32.const 0) $f))";
	size_t n = strlen(text);
	for (size_t i = 1; i < n; i++) { /* the empty text is the empty module */
		char *copy = xmalloc(i);
		memcpy(copy, text, i);
		const uint8_t *bin;
		size_t len;
		struct wat_error e;
		struct wasm_arena a = { 0 };
		assert_int_equal(wat_assemble(copy, i, &a, &bin, &len, &e), -1);
		assert_true(e.msg[0] != 0);
		arena_free(&a);
		free(copy);
	}
}

/* Nesting is bounded (the parser recurses), and reasonable nesting works. */
static void deep_nesting(void **state)
{
	for (int deep = 0; deep < 2; deep++) {
		int n = deep ? 6000 : 200;
		size_t cap = (size_t)n * 16 + 64;
		char *text = xmalloc(cap);
		char *p = text + sprintf(text, "(module (func ");
		for (int i = 0; i < n; i++)
			p += sprintf(p, i % 2 ? "(block " : "block ");
		for (int i = n; i-- > 0;)
			p += sprintf(p, i % 2 ? ")" : " end ");
		sprintf(p, "))");
		const uint8_t *bin;
		size_t len;
		struct wat_error e;
		int rc = wat_assemble(text, strlen(text), &arena, &bin, &len, &e);
		if (deep) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(e.msg, "nested deeper"));
		} else if (rc < 0) {
			fail_msg("%u:%u: %s", e.line, e.col, e.msg);
		}
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(func_abbreviations, teardown),
		cmocka_unit_test_teardown(folded_and_flat, teardown),
		cmocka_unit_test_teardown(table_memory_abbreviations, teardown),
		cmocka_unit_test_teardown(literals, teardown),
		cmocka_unit_test_teardown(comments_and_annotations, teardown),
		cmocka_unit_test_teardown(errors, teardown),
		cmocka_unit_test_teardown(load_detects_text, teardown),
		cmocka_unit_test_teardown(truncations, teardown),
		cmocka_unit_test_teardown(deep_nesting, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
