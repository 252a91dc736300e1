/* tests/unit/test_decode.c - the Wasm binary decoder (compiler/decode.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "compiler/module.h"
#include "tests/unit/wat_fixture.h"

#define HDR "\0asm\1\0\0\0"

/* Decodes a byte string literal; returns the decode result. */
static int decode_lit(const char *bytes, size_t len, struct wasm_module *m, struct wasm_error *e)
{
	return wasm_decode((const uint8_t *)bytes, len, m, e);
}
#define DECODE(lit, m, e) decode_lit(lit, sizeof(lit) - 1, m, e)

static void expect_malformed(const char *bytes, size_t len, const char *msg)
{
	struct wasm_module m;
	struct wasm_error e;
	assert_int_equal(decode_lit(bytes, len, &m, &e), -1);
	assert_true(e.malformed);
	if (!strstr(e.msg, msg))
		fail_msg("expected \"%s\", got \"%s\"", msg, e.msg);
	wasm_module_free(&m);
}
#define MALFORMED(lit, msg) expect_malformed(lit, sizeof(lit) - 1, msg)

static void empty_module(void **state)
{
	struct wasm_module m;
	struct wasm_error e;
	assert_int_equal(DECODE(HDR, &m, &e), 0);
	assert_int_equal(m.ntypes, 0);
	assert_int_equal(m.nfuncs, 0);
	assert_false(m.has_start);
	wasm_module_free(&m);
}

static void header_errors(void **state)
{
	MALFORMED("", "unexpected end");
	MALFORMED("\0as", "unexpected end");
	MALFORMED("\0asn\1\0\0\0", "magic header not detected");
	MALFORMED("\0asm", "unexpected end");
	MALFORMED("\0asm\2\0\0\0", "unknown binary version");
}

static void section_errors(void **state)
{
	/* type section claims 5 bytes, holds 4 */
	MALFORMED(HDR "\1\5\1\x60\0\0", "unexpected end");
	/* type section: one type, then a stray byte inside the section */
	MALFORMED(HDR "\1\5\1\x60\0\0\0", "section size mismatch");
	/* function section before type section */
	MALFORMED(HDR "\1\4\1\x60\0\0\3\2\1\0\1\4\1\x60\0\0", "unexpected content after last section");
	MALFORMED(HDR "\x0e\1\0", "malformed section id");
	/* function section without code section */
	MALFORMED(HDR "\1\4\1\x60\0\0\3\2\1\0", "function and code section have inconsistent lengths");
	/* data count 1, no data section */
	MALFORMED(HDR "\x0c\1\1", "data count and data section have inconsistent lengths");
	/* integer too large: type count with 5th byte using unused bits */
	MALFORMED(HDR "\1\5\x80\x80\x80\x80\x1f", "integer too large");
	MALFORMED(HDR "\1\6\x80\x80\x80\x80\x80\0", "integer representation too long");
	/* custom section name with invalid UTF-8 */
	MALFORMED(HDR "\0\3\2\xc0\x80", "malformed UTF-8 encoding");
	/* import field with a lone surrogate */
	MALFORMED(HDR "\2\x0a\1\1m\3\xed\xa0\x80\3\0\0", "malformed UTF-8 encoding");
}

static void too_many_locals(void **state)
{
	MALFORMED(HDR "\1\4\1\x60\0\0" "\3\2\1\0" "\x0a\x0c\1\x0a\2\xff\xff\xff\xff\x0f\x7f\2\x7e\x0b",
		  "too many locals");
}

static void unsupported_features(void **state)
{
	struct wasm_module m;
	struct wasm_error e;
	/* (func (param v128)): SIMD is Wasm 2.0, decoded like any value type */
	assert_int_equal(DECODE(HDR "\1\5\1\x60\1\x7b\0", &m, &e), 0);
	assert_int_equal(m.types[0].params[0], KUMO_T_V128);
	wasm_module_free(&m);
	/* (global v128 (v128.const ...)) keeps its 16 bytes */
	assert_int_equal(DECODE(HDR "\6\x16\1\x7b\0\xfd\x0c" "\1\2\3\4\5\6\7\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
				"\x0b", &m, &e), 0);
	assert_int_equal(m.globals[0].init.kind, KUMO_CONST_V128);
	assert_true(m.globals[0].init.bits == 0x0807060504030201ull);
	assert_true(m.globals[0].init.bits_hi == 0x100f0e0d0c0b0a09ull);
	wasm_module_free(&m);
	/* shared memory */
	assert_int_equal(DECODE(HDR "\5\4\1\3\1\2", &m, &e), -1);
	assert_true(e.unsupported);
	assert_non_null(strstr(e.msg, "threads"));
	/* memory64 */
	assert_int_equal(DECODE(HDR "\5\3\1\4\1", &m, &e), -1);
	assert_non_null(strstr(e.msg, "memory64"));
}

static void full_module(void **state)
{
	size_t len;
	uint8_t *w = wat_to_wasm(
		"(module\n"
		" (type $t (func (param i32) (result i32)))\n"
		" (import \"env\" \"f\" (func $f (type $t)))\n"
		" (import \"env\" \"g\" (global $g i32))\n"
		" (import \"env\" \"tab\" (table 1 funcref))\n"
		" (memory 1 2)\n"
		" (table $t2 2 externref)\n"
		" (global $h (mut i64) (i64.const -5))\n"
		" (global $r funcref (ref.func $a))\n"
		" (func $a (type $t) (local i64 i64 f32) (local.get 0))\n"
		" (func $b (result i32) (i32.const 1))\n"
		" (func $c)\n"
		" (export \"a\" (func $a))\n"
		" (start $c)\n"
		" (elem (i32.const 0) $b)\n"
		" (elem funcref (ref.null func))\n"
		" (elem declare func $c)\n"
		" (elem (table $t2) (i32.const 0) externref (ref.null extern))\n"
		" (data (i32.const 8) \"hello\")\n"
		" (data \"passive\"))\n",
		NULL, &len);
	assert_non_null(w);
	struct wasm_module m;
	struct wasm_error e;
	assert_int_equal(wasm_decode(w, len, &m, &e), 0);
	assert_int_equal(m.ntypes, 3);
	assert_int_equal(m.nimports, 3);
	assert_int_equal(m.nfuncs, 4);
	assert_int_equal(m.nimported_funcs, 1);
	assert_int_equal(m.funcs[0].type_idx, 0);
	assert_int_equal(m.funcs[1].nlocals, 3);
	assert_int_equal(m.funcs[1].local_types[0], KUMO_T_I64);
	assert_int_equal(m.funcs[1].local_types[2], KUMO_T_F32);
	assert_int_equal(m.funcs[1].body[0], 0x20); /* local.get */
	assert_int_equal(m.funcs[1].body_end[-1], 0x0b);
	assert_int_equal(m.funcs[1].body_offset, m.funcs[1].body - w);
	assert_int_equal(m.ntables, 2);
	assert_int_equal(m.tables[0].elem_type, KUMO_T_FUNCREF);
	assert_int_equal(m.tables[1].elem_type, KUMO_T_EXTERNREF);
	assert_int_equal(m.nmemories, 1);
	assert_true(m.memories[0].has_max);
	assert_int_equal(m.memories[0].max, 2);
	assert_int_equal(m.nglobals, 3);
	assert_int_equal(m.globals[0].type.type, KUMO_T_I32);
	assert_int_equal(m.globals[1].init.kind, KUMO_CONST_I64);
	assert_int_equal((int64_t)m.globals[1].init.bits, -5);
	assert_true(m.globals[1].type.mutable_);
	assert_int_equal(m.globals[2].init.kind, KUMO_CONST_REF_FUNC);
	assert_true(m.has_start);
	assert_int_equal(m.start, 3);
	assert_int_equal(m.nelems, 4);
	assert_int_equal(m.elems[0].mode, KUMO_SEG_ACTIVE);
	assert_int_equal(m.elems[0].items[0].kind, KUMO_CONST_REF_FUNC);
	assert_int_equal(m.elems[0].items[0].index, 2);
	assert_int_equal(m.elems[1].mode, KUMO_SEG_PASSIVE);
	assert_int_equal(m.elems[1].items[0].kind, KUMO_CONST_REF_NULL);
	assert_int_equal(m.elems[2].mode, KUMO_SEG_DECLARATIVE);
	assert_int_equal(m.elems[3].table, 1);
	assert_int_equal(m.elems[3].elem_type, KUMO_T_EXTERNREF);
	assert_int_equal(m.ndatas, 2);
	assert_int_equal(m.datas[0].len, 5);
	assert_memory_equal(m.datas[0].bytes, "hello", 5);
	assert_int_equal(m.datas[1].mode, KUMO_SEG_PASSIVE);
	/* declared: $a (global init, export), $b (elem), $c (declare); not $f */
	assert_false(m.func_declared[0]);
	assert_true(m.func_declared[1]);
	assert_true(m.func_declared[2]);
	assert_true(m.func_declared[3]);
	wasm_module_free(&m);
	free(w);
}

/* Every prefix of a valid module is refused cleanly (no crash, error set). */
static void truncations(void **state)
{
	size_t len;
	uint8_t *w = wat_to_wasm("(module (memory 1) (global i32 (i32.const 7))"
				 " (func (export \"x\") (result i32) (global.get 0))"
				 " (data (i32.const 0) \"abc\"))",
				 NULL, &len);
	assert_non_null(w);
	for (size_t n = 0; n < len; n++) {
		struct wasm_module m;
		struct wasm_error e;
		uint8_t *copy = malloc(n + 1);
		memcpy(copy, w, n);
		int rc = wasm_decode(copy, n, &m, &e);
		if (rc == 0)
			wasm_module_free(&m);
		else
			assert_true(e.msg[0] != '\0');
		free(copy);
	}
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_module),
		cmocka_unit_test(header_errors),
		cmocka_unit_test(section_errors),
		cmocka_unit_test(too_many_locals),
		cmocka_unit_test(unsupported_features),
		cmocka_unit_test(full_module),
		cmocka_unit_test(truncations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
