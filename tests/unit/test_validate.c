/* tests/unit/test_validate.c - the validator (compiler/validate.c) and kumo_validate(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "compiler/compiler.h"
#include "compiler/module.h"
#include "tests/unit/wat_fixture.h"

#define HDR "\0asm\1\0\0\0"
/* type () -> (), one function, code section with one body of `n` bytes */
#define ONE_FUNC(n) "\1\4\1\x60\0\0" "\3\2\1\0" "\x0a" n "\1"

/* Validates WAT text built with wat2wasm (`--no-check` when it is invalid on purpose);
 * returns kumo_validate's result and leaves the message in msg. */
static int validate_wat(const char *wat, bool no_check, char *msg, size_t msglen)
{
	size_t len;
	uint8_t *w = wat_to_wasm(wat, no_check ? "--no-check" : NULL, &len);
	assert_non_null(w);
	kumo_error_t err = NULL;
	int rc = kumo_validate(w, len, &err);
	snprintf(msg, msglen, "%s", kumo_error_msg(err));
	kumo_error_free(&err);
	free(w);
	return rc;
}

static int validate_bytes(const char *b, size_t len, char *msg, size_t msglen, int *status)
{
	kumo_error_t err = NULL;
	int rc = kumo_validate((const uint8_t *)b, len, &err);
	snprintf(msg, msglen, "%s", kumo_error_msg(err));
	if (status)
		*status = err ? err->status : 0;
	kumo_error_free(&err);
	return rc;
}

static void valid_program(void **state)
{
	char msg[512];
	int rc = validate_wat(
		"(module (memory 1) (table 2 funcref) (global $g (mut i32) (i32.const 0))\n"
		" (type $bin (func (param i32 i32) (result i32)))\n"
		" (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))\n"
		" (elem (i32.const 0) $add)\n"
		" (func (export \"run\") (param i32) (result i32) (local i64 f64)\n"
		"  (block $out (result i32)\n"
		"   (loop $l\n"
		"    (br_if $out (i32.const 9) (i32.eqz (local.get 0)))\n"
		"    (local.set 0 (i32.sub (local.get 0) (i32.const 1)))\n"
		"    (global.set $g (call_indirect (type $bin) (global.get $g) (i32.const 1) (i32.const 0)))\n"
		"    (i64.store (i32.const 8) (i64.extend_i32_u (memory.size)))\n"
		"    (br $l))\n"
		"   (unreachable)))\n"
		" (func (param i32) (result i32)\n"
		"  (block (block (br_table 0 1 (local.get 0))) (return (i32.const 1))) (i32.const 2)))",
		false, msg, sizeof(msg));
	if (rc != 0)
		fail_msg("%s", msg);
}

static void invalid_messages(void **state)
{
	char msg[512];
	assert_int_equal(validate_wat("(module (func (result i32) (i32.add (i32.const 1) (i64.const 2))))",
				      true, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "invalid module at offset 0x"));
	assert_non_null(strstr(msg, "type mismatch in i32.add"));
	assert_int_equal(validate_wat("(module (func (local i32) (drop (local.get 3))))", true, msg,
				      sizeof(msg)), -1);
	assert_non_null(strstr(msg, "unknown local 3"));
	assert_int_equal(validate_wat("(module (func (export \"x\")) (export \"x\" (func 0)))", true,
				      msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "duplicate export name"));
}

static void offsets_point_at_instruction(void **state)
{
	char msg[512];
	/* body: 0 locals, i32.const 0, i64.eqz (offset 0x19), drop, end */
	const char b[] = HDR ONE_FUNC("\x08") "\x06\0\x41\0\x50\x1a\x0b";
	assert_int_equal(validate_bytes(b, sizeof(b) - 1, msg, sizeof(msg), NULL), -1);
	assert_string_equal(msg, "invalid module at offset 0x19: type mismatch in i64.eqz");
}

static void unsupported_proposals(void **state)
{
	char msg[512];
	int status;
	/* Wasm 2.0 SIMD validates: v128.const, drop */
	const char simd[] = HDR ONE_FUNC("\x17") "\x15\0\xfd\x0c" "0123456789abcdef" "\x1a\x0b";
	assert_int_equal(validate_bytes(simd, sizeof(simd) - 1, msg, sizeof(msg), &status), 0);
	/* relaxed SIMD (i8x16.relaxed_swizzle, sub-opcode 0x100) is refused by name at 0x17 */
	const char relaxed[] = HDR ONE_FUNC("\x07") "\x05\0\xfd\x80\x02\x0b";
	assert_int_equal(validate_bytes(relaxed, sizeof(relaxed) - 1, msg, sizeof(msg), &status), -1);
	assert_string_equal(msg, "unsupported feature `relaxed SIMD` at offset 0x17");
	assert_int_equal(status, KUMO_E_UNSUPPORTED);
	/* a lane index out of range is invalid */
	const char lane[] = HDR ONE_FUNC("\x19") "\x17\0\xfd\x0c" "0123456789abcdef" "\xfd\x1b\x04\x0b";
	assert_int_equal(validate_bytes(lane, sizeof(lane) - 1, msg, sizeof(msg), &status), -1);
	assert_non_null(strstr(msg, "invalid lane index"));
	/* return_call 0 */
	const char tail[] = HDR ONE_FUNC("\x06") "\x04\0\x12\0\x0b";
	assert_int_equal(validate_bytes(tail, sizeof(tail) - 1, msg, sizeof(msg), &status), -1);
	assert_non_null(strstr(msg, "`tail calls`"));
	/* try (exception handling) */
	const char eh[] = HDR ONE_FUNC("\x07") "\x05\0\x06\x40\x0b\x0b";
	assert_int_equal(validate_bytes(eh, sizeof(eh) - 1, msg, sizeof(msg), &status), -1);
	assert_non_null(strstr(msg, "`exception handling`"));
	/* atomic.fence (threads) */
	const char th[] = HDR ONE_FUNC("\x07") "\x05\0\xfe\x03\0\x0b";
	assert_int_equal(validate_bytes(th, sizeof(th) - 1, msg, sizeof(msg), &status), -1);
	assert_non_null(strstr(msg, "`threads`"));
	/* two memories */
	const char mm[] = HDR "\5\5\2\0\1\0\1";
	assert_int_equal(validate_bytes(mm, sizeof(mm) - 1, msg, sizeof(msg), &status), -1);
	assert_non_null(strstr(msg, "multiple memories"));
	assert_int_equal(status, KUMO_E_UNSUPPORTED);
}

static void malformed_message(void **state)
{
	char msg[512];
	const char b[] = "\0asm\2\0\0\0";
	assert_int_equal(validate_bytes(b, sizeof(b) - 1, msg, sizeof(msg), NULL), -1);
	assert_string_equal(msg, "malformed module at offset 0x4: unknown binary version");
}

/* Every single-byte mutation of a valid module is decoded and validated without a
 * crash (run under ASan+UBSan in `make test`). */
static void mutations_do_not_crash(void **state)
{
	size_t len;
	uint8_t *w = wat_to_wasm("(module (memory 1) (table 1 funcref) (global (mut i64) (i64.const 1))"
				 " (func $f (param i32) (result i32) (local f32)"
				 "  (block (result i32) (loop (br_if 1 (local.get 0) (local.get 0)) (br 0)) (i32.const 0)))"
				 " (elem (i32.const 0) $f) (data (i32.const 0) \"xy\"))",
				 NULL, &len);
	assert_non_null(w);
	const uint8_t vals[] = { 0x00, 0x01, 0x0b, 0x40, 0x7f, 0x80, 0xff };
	for (size_t i = 8; i < len; i++) {
		for (size_t v = 0; v < sizeof(vals); v++) {
			uint8_t *copy = malloc(len);
			memcpy(copy, w, len);
			copy[i] = vals[v];
			kumo_error_t err = NULL;
			if (kumo_validate(copy, len, &err) < 0)
				assert_true(kumo_error_msg(err)[0] != '\0');
			kumo_error_free(&err);
			free(copy);
		}
	}
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_program),
		cmocka_unit_test(invalid_messages),
		cmocka_unit_test(offsets_point_at_instruction),
		cmocka_unit_test(unsupported_proposals),
		cmocka_unit_test(malformed_message),
		cmocka_unit_test(mutations_do_not_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
