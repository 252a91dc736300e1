/* compiler/opcodes.h - named constants for every WebAssembly 2.0 opcode (and the
 * proposal opcodes the validator must recognise in order to refuse them by name).
 *
 * WASM_OPCODES(X) lists single-byte opcodes as X(NAME, byte, "text", sig) and
 * WASM_FC_OPCODES(X) the 0xFC-prefixed ones by sub-opcode. `sig` is NULL for
 * instructions with immediates or polymorphic typing, otherwise "params_results" with
 * one letter per value type: i = i32, l = i64, f = f32, d = f64 (the numeric and
 * conversion instructions, which pop their params and push their result).
 */
#ifndef KUMO_COMPILER_OPCODES_H
#define KUMO_COMPILER_OPCODES_H

#include <stddef.h>

#define WASM_OPCODES(X) \
	X(UNREACHABLE, 0x00, "unreachable", NULL) \
	X(NOP, 0x01, "nop", NULL) \
	X(BLOCK, 0x02, "block", NULL) \
	X(LOOP, 0x03, "loop", NULL) \
	X(IF, 0x04, "if", NULL) \
	X(ELSE, 0x05, "else", NULL) \
	X(TRY, 0x06, "try", NULL) \
	X(CATCH, 0x07, "catch", NULL) \
	X(THROW, 0x08, "throw", NULL) \
	X(RETHROW, 0x09, "rethrow", NULL) \
	X(THROW_REF, 0x0a, "throw_ref", NULL) \
	X(END, 0x0b, "end", NULL) \
	X(BR, 0x0c, "br", NULL) \
	X(BR_IF, 0x0d, "br_if", NULL) \
	X(BR_TABLE, 0x0e, "br_table", NULL) \
	X(RETURN, 0x0f, "return", NULL) \
	X(CALL, 0x10, "call", NULL) \
	X(CALL_INDIRECT, 0x11, "call_indirect", NULL) \
	X(RETURN_CALL, 0x12, "return_call", NULL) \
	X(RETURN_CALL_INDIRECT, 0x13, "return_call_indirect", NULL) \
	X(CALL_REF, 0x14, "call_ref", NULL) \
	X(RETURN_CALL_REF, 0x15, "return_call_ref", NULL) \
	X(DELEGATE, 0x18, "delegate", NULL) \
	X(CATCH_ALL, 0x19, "catch_all", NULL) \
	X(DROP, 0x1a, "drop", NULL) \
	X(SELECT, 0x1b, "select", NULL) \
	X(SELECT_T, 0x1c, "select", NULL) \
	X(TRY_TABLE, 0x1f, "try_table", NULL) \
	X(LOCAL_GET, 0x20, "local.get", NULL) \
	X(LOCAL_SET, 0x21, "local.set", NULL) \
	X(LOCAL_TEE, 0x22, "local.tee", NULL) \
	X(GLOBAL_GET, 0x23, "global.get", NULL) \
	X(GLOBAL_SET, 0x24, "global.set", NULL) \
	X(TABLE_GET, 0x25, "table.get", NULL) \
	X(TABLE_SET, 0x26, "table.set", NULL) \
	X(I32_LOAD, 0x28, "i32.load", NULL) \
	X(I64_LOAD, 0x29, "i64.load", NULL) \
	X(F32_LOAD, 0x2a, "f32.load", NULL) \
	X(F64_LOAD, 0x2b, "f64.load", NULL) \
	X(I32_LOAD8_S, 0x2c, "i32.load8_s", NULL) \
	X(I32_LOAD8_U, 0x2d, "i32.load8_u", NULL) \
	X(I32_LOAD16_S, 0x2e, "i32.load16_s", NULL) \
	X(I32_LOAD16_U, 0x2f, "i32.load16_u", NULL) \
	X(I64_LOAD8_S, 0x30, "i64.load8_s", NULL) \
	X(I64_LOAD8_U, 0x31, "i64.load8_u", NULL) \
	X(I64_LOAD16_S, 0x32, "i64.load16_s", NULL) \
	X(I64_LOAD16_U, 0x33, "i64.load16_u", NULL) \
	X(I64_LOAD32_S, 0x34, "i64.load32_s", NULL) \
	X(I64_LOAD32_U, 0x35, "i64.load32_u", NULL) \
	X(I32_STORE, 0x36, "i32.store", NULL) \
	X(I64_STORE, 0x37, "i64.store", NULL) \
	X(F32_STORE, 0x38, "f32.store", NULL) \
	X(F64_STORE, 0x39, "f64.store", NULL) \
	X(I32_STORE8, 0x3a, "i32.store8", NULL) \
	X(I32_STORE16, 0x3b, "i32.store16", NULL) \
	X(I64_STORE8, 0x3c, "i64.store8", NULL) \
	X(I64_STORE16, 0x3d, "i64.store16", NULL) \
	X(I64_STORE32, 0x3e, "i64.store32", NULL) \
	X(MEMORY_SIZE, 0x3f, "memory.size", NULL) \
	X(MEMORY_GROW, 0x40, "memory.grow", NULL) \
	X(I32_CONST, 0x41, "i32.const", NULL) \
	X(I64_CONST, 0x42, "i64.const", NULL) \
	X(F32_CONST, 0x43, "f32.const", NULL) \
	X(F64_CONST, 0x44, "f64.const", NULL) \
	X(I32_EQZ, 0x45, "i32.eqz", "i_i") \
	X(I32_EQ, 0x46, "i32.eq", "ii_i") \
	X(I32_NE, 0x47, "i32.ne", "ii_i") \
	X(I32_LT_S, 0x48, "i32.lt_s", "ii_i") \
	X(I32_LT_U, 0x49, "i32.lt_u", "ii_i") \
	X(I32_GT_S, 0x4a, "i32.gt_s", "ii_i") \
	X(I32_GT_U, 0x4b, "i32.gt_u", "ii_i") \
	X(I32_LE_S, 0x4c, "i32.le_s", "ii_i") \
	X(I32_LE_U, 0x4d, "i32.le_u", "ii_i") \
	X(I32_GE_S, 0x4e, "i32.ge_s", "ii_i") \
	X(I32_GE_U, 0x4f, "i32.ge_u", "ii_i") \
	X(I64_EQZ, 0x50, "i64.eqz", "l_i") \
	X(I64_EQ, 0x51, "i64.eq", "ll_i") \
	X(I64_NE, 0x52, "i64.ne", "ll_i") \
	X(I64_LT_S, 0x53, "i64.lt_s", "ll_i") \
	X(I64_LT_U, 0x54, "i64.lt_u", "ll_i") \
	X(I64_GT_S, 0x55, "i64.gt_s", "ll_i") \
	X(I64_GT_U, 0x56, "i64.gt_u", "ll_i") \
	X(I64_LE_S, 0x57, "i64.le_s", "ll_i") \
	X(I64_LE_U, 0x58, "i64.le_u", "ll_i") \
	X(I64_GE_S, 0x59, "i64.ge_s", "ll_i") \
	X(I64_GE_U, 0x5a, "i64.ge_u", "ll_i") \
	X(F32_EQ, 0x5b, "f32.eq", "ff_i") \
	X(F32_NE, 0x5c, "f32.ne", "ff_i") \
	X(F32_LT, 0x5d, "f32.lt", "ff_i") \
	X(F32_GT, 0x5e, "f32.gt", "ff_i") \
	X(F32_LE, 0x5f, "f32.le", "ff_i") \
	X(F32_GE, 0x60, "f32.ge", "ff_i") \
	X(F64_EQ, 0x61, "f64.eq", "dd_i") \
	X(F64_NE, 0x62, "f64.ne", "dd_i") \
	X(F64_LT, 0x63, "f64.lt", "dd_i") \
	X(F64_GT, 0x64, "f64.gt", "dd_i") \
	X(F64_LE, 0x65, "f64.le", "dd_i") \
	X(F64_GE, 0x66, "f64.ge", "dd_i") \
	X(I32_CLZ, 0x67, "i32.clz", "i_i") \
	X(I32_CTZ, 0x68, "i32.ctz", "i_i") \
	X(I32_POPCNT, 0x69, "i32.popcnt", "i_i") \
	X(I32_ADD, 0x6a, "i32.add", "ii_i") \
	X(I32_SUB, 0x6b, "i32.sub", "ii_i") \
	X(I32_MUL, 0x6c, "i32.mul", "ii_i") \
	X(I32_DIV_S, 0x6d, "i32.div_s", "ii_i") \
	X(I32_DIV_U, 0x6e, "i32.div_u", "ii_i") \
	X(I32_REM_S, 0x6f, "i32.rem_s", "ii_i") \
	X(I32_REM_U, 0x70, "i32.rem_u", "ii_i") \
	X(I32_AND, 0x71, "i32.and", "ii_i") \
	X(I32_OR, 0x72, "i32.or", "ii_i") \
	X(I32_XOR, 0x73, "i32.xor", "ii_i") \
	X(I32_SHL, 0x74, "i32.shl", "ii_i") \
	X(I32_SHR_S, 0x75, "i32.shr_s", "ii_i") \
	X(I32_SHR_U, 0x76, "i32.shr_u", "ii_i") \
	X(I32_ROTL, 0x77, "i32.rotl", "ii_i") \
	X(I32_ROTR, 0x78, "i32.rotr", "ii_i") \
	X(I64_CLZ, 0x79, "i64.clz", "l_l") \
	X(I64_CTZ, 0x7a, "i64.ctz", "l_l") \
	X(I64_POPCNT, 0x7b, "i64.popcnt", "l_l") \
	X(I64_ADD, 0x7c, "i64.add", "ll_l") \
	X(I64_SUB, 0x7d, "i64.sub", "ll_l") \
	X(I64_MUL, 0x7e, "i64.mul", "ll_l") \
	X(I64_DIV_S, 0x7f, "i64.div_s", "ll_l") \
	X(I64_DIV_U, 0x80, "i64.div_u", "ll_l") \
	X(I64_REM_S, 0x81, "i64.rem_s", "ll_l") \
	X(I64_REM_U, 0x82, "i64.rem_u", "ll_l") \
	X(I64_AND, 0x83, "i64.and", "ll_l") \
	X(I64_OR, 0x84, "i64.or", "ll_l") \
	X(I64_XOR, 0x85, "i64.xor", "ll_l") \
	X(I64_SHL, 0x86, "i64.shl", "ll_l") \
	X(I64_SHR_S, 0x87, "i64.shr_s", "ll_l") \
	X(I64_SHR_U, 0x88, "i64.shr_u", "ll_l") \
	X(I64_ROTL, 0x89, "i64.rotl", "ll_l") \
	X(I64_ROTR, 0x8a, "i64.rotr", "ll_l") \
	X(F32_ABS, 0x8b, "f32.abs", "f_f") \
	X(F32_NEG, 0x8c, "f32.neg", "f_f") \
	X(F32_CEIL, 0x8d, "f32.ceil", "f_f") \
	X(F32_FLOOR, 0x8e, "f32.floor", "f_f") \
	X(F32_TRUNC, 0x8f, "f32.trunc", "f_f") \
	X(F32_NEAREST, 0x90, "f32.nearest", "f_f") \
	X(F32_SQRT, 0x91, "f32.sqrt", "f_f") \
	X(F32_ADD, 0x92, "f32.add", "ff_f") \
	X(F32_SUB, 0x93, "f32.sub", "ff_f") \
	X(F32_MUL, 0x94, "f32.mul", "ff_f") \
	X(F32_DIV, 0x95, "f32.div", "ff_f") \
	X(F32_MIN, 0x96, "f32.min", "ff_f") \
	X(F32_MAX, 0x97, "f32.max", "ff_f") \
	X(F32_COPYSIGN, 0x98, "f32.copysign", "ff_f") \
	X(F64_ABS, 0x99, "f64.abs", "d_d") \
	X(F64_NEG, 0x9a, "f64.neg", "d_d") \
	X(F64_CEIL, 0x9b, "f64.ceil", "d_d") \
	X(F64_FLOOR, 0x9c, "f64.floor", "d_d") \
	X(F64_TRUNC, 0x9d, "f64.trunc", "d_d") \
	X(F64_NEAREST, 0x9e, "f64.nearest", "d_d") \
	X(F64_SQRT, 0x9f, "f64.sqrt", "d_d") \
	X(F64_ADD, 0xa0, "f64.add", "dd_d") \
	X(F64_SUB, 0xa1, "f64.sub", "dd_d") \
	X(F64_MUL, 0xa2, "f64.mul", "dd_d") \
	X(F64_DIV, 0xa3, "f64.div", "dd_d") \
	X(F64_MIN, 0xa4, "f64.min", "dd_d") \
	X(F64_MAX, 0xa5, "f64.max", "dd_d") \
	X(F64_COPYSIGN, 0xa6, "f64.copysign", "dd_d") \
	X(I32_WRAP_I64, 0xa7, "i32.wrap_i64", "l_i") \
	X(I32_TRUNC_F32_S, 0xa8, "i32.trunc_f32_s", "f_i") \
	X(I32_TRUNC_F32_U, 0xa9, "i32.trunc_f32_u", "f_i") \
	X(I32_TRUNC_F64_S, 0xaa, "i32.trunc_f64_s", "d_i") \
	X(I32_TRUNC_F64_U, 0xab, "i32.trunc_f64_u", "d_i") \
	X(I64_EXTEND_I32_S, 0xac, "i64.extend_i32_s", "i_l") \
	X(I64_EXTEND_I32_U, 0xad, "i64.extend_i32_u", "i_l") \
	X(I64_TRUNC_F32_S, 0xae, "i64.trunc_f32_s", "f_l") \
	X(I64_TRUNC_F32_U, 0xaf, "i64.trunc_f32_u", "f_l") \
	X(I64_TRUNC_F64_S, 0xb0, "i64.trunc_f64_s", "d_l") \
	X(I64_TRUNC_F64_U, 0xb1, "i64.trunc_f64_u", "d_l") \
	X(F32_CONVERT_I32_S, 0xb2, "f32.convert_i32_s", "i_f") \
	X(F32_CONVERT_I32_U, 0xb3, "f32.convert_i32_u", "i_f") \
	X(F32_CONVERT_I64_S, 0xb4, "f32.convert_i64_s", "l_f") \
	X(F32_CONVERT_I64_U, 0xb5, "f32.convert_i64_u", "l_f") \
	X(F32_DEMOTE_F64, 0xb6, "f32.demote_f64", "d_f") \
	X(F64_CONVERT_I32_S, 0xb7, "f64.convert_i32_s", "i_d") \
	X(F64_CONVERT_I32_U, 0xb8, "f64.convert_i32_u", "i_d") \
	X(F64_CONVERT_I64_S, 0xb9, "f64.convert_i64_s", "l_d") \
	X(F64_CONVERT_I64_U, 0xba, "f64.convert_i64_u", "l_d") \
	X(F64_PROMOTE_F32, 0xbb, "f64.promote_f32", "f_d") \
	X(I32_REINTERPRET_F32, 0xbc, "i32.reinterpret_f32", "f_i") \
	X(I64_REINTERPRET_F64, 0xbd, "i64.reinterpret_f64", "d_l") \
	X(F32_REINTERPRET_I32, 0xbe, "f32.reinterpret_i32", "i_f") \
	X(F64_REINTERPRET_I64, 0xbf, "f64.reinterpret_i64", "l_d") \
	X(I32_EXTEND8_S, 0xc0, "i32.extend8_s", "i_i") \
	X(I32_EXTEND16_S, 0xc1, "i32.extend16_s", "i_i") \
	X(I64_EXTEND8_S, 0xc2, "i64.extend8_s", "l_l") \
	X(I64_EXTEND16_S, 0xc3, "i64.extend16_s", "l_l") \
	X(I64_EXTEND32_S, 0xc4, "i64.extend32_s", "l_l") \
	X(REF_NULL, 0xd0, "ref.null", NULL) \
	X(REF_IS_NULL, 0xd1, "ref.is_null", NULL) \
	X(REF_FUNC, 0xd2, "ref.func", NULL) \
	X(REF_AS_NON_NULL, 0xd3, "ref.as_non_null", NULL) \
	X(BR_ON_NULL, 0xd4, "br_on_null", NULL) \
	X(REF_EQ, 0xd5, "ref.eq", NULL) \
	X(BR_ON_NON_NULL, 0xd6, "br_on_non_null", NULL) \
	X(PREFIX_GC, 0xfb, "<gc prefix>", NULL) \
	X(PREFIX_FC, 0xfc, "<0xfc prefix>", NULL) \
	X(PREFIX_SIMD, 0xfd, "<simd prefix>", NULL) \
	X(PREFIX_THREADS, 0xfe, "<threads prefix>", NULL) \

#define WASM_FC_OPCODES(X) \
	X(I32_TRUNC_SAT_F32_S, 0, "i32.trunc_sat_f32_s", "f_i") \
	X(I32_TRUNC_SAT_F32_U, 1, "i32.trunc_sat_f32_u", "f_i") \
	X(I32_TRUNC_SAT_F64_S, 2, "i32.trunc_sat_f64_s", "d_i") \
	X(I32_TRUNC_SAT_F64_U, 3, "i32.trunc_sat_f64_u", "d_i") \
	X(I64_TRUNC_SAT_F32_S, 4, "i64.trunc_sat_f32_s", "f_l") \
	X(I64_TRUNC_SAT_F32_U, 5, "i64.trunc_sat_f32_u", "f_l") \
	X(I64_TRUNC_SAT_F64_S, 6, "i64.trunc_sat_f64_s", "d_l") \
	X(I64_TRUNC_SAT_F64_U, 7, "i64.trunc_sat_f64_u", "d_l") \
	X(MEMORY_INIT, 8, "memory.init", NULL) \
	X(DATA_DROP, 9, "data.drop", NULL) \
	X(MEMORY_COPY, 10, "memory.copy", NULL) \
	X(MEMORY_FILL, 11, "memory.fill", NULL) \
	X(TABLE_INIT, 12, "table.init", NULL) \
	X(ELEM_DROP, 13, "elem.drop", NULL) \
	X(TABLE_COPY, 14, "table.copy", NULL) \
	X(TABLE_GROW, 15, "table.grow", NULL) \
	X(TABLE_SIZE, 16, "table.size", NULL) \
	X(TABLE_FILL, 17, "table.fill", NULL) \

enum wasm_opcode {
#define WASM_OP_ENUM_(name, code, text, sig) WASM_OP_##name = code,
	WASM_OPCODES(WASM_OP_ENUM_)
#undef WASM_OP_ENUM_
};

/* Sub-opcodes after the 0xFC prefix (a u32 LEB128). */
enum wasm_fc_opcode {
#define WASM_FC_ENUM_(name, code, text, sig) WASM_FC_##name = code,
	WASM_FC_OPCODES(WASM_FC_ENUM_)
#undef WASM_FC_ENUM_
	WASM_FC_COUNT
};

/* Block type encodings besides a value type or a type index (s33). */
#define WASM_BLOCKTYPE_EMPTY 0x40

/* Section ids. */
enum wasm_section_id {
	WASM_SEC_CUSTOM = 0,
	WASM_SEC_TYPE = 1,
	WASM_SEC_IMPORT = 2,
	WASM_SEC_FUNCTION = 3,
	WASM_SEC_TABLE = 4,
	WASM_SEC_MEMORY = 5,
	WASM_SEC_GLOBAL = 6,
	WASM_SEC_EXPORT = 7,
	WASM_SEC_START = 8,
	WASM_SEC_ELEMENT = 9,
	WASM_SEC_CODE = 10,
	WASM_SEC_DATA = 11,
	WASM_SEC_DATA_COUNT = 12,
	WASM_SEC_TAG = 13, /* exception handling: refused */
};

/* Text name of a single-byte opcode ("i32.add"), or NULL for an unassigned byte. */
static inline const char *wasm_opcode_name(unsigned op)
{
	switch (op) {
#define WASM_OP_NAME_(name, code, text, sig) case code: return text;
	WASM_OPCODES(WASM_OP_NAME_)
#undef WASM_OP_NAME_
	default: return NULL;
	}
}

/* Operand signature of a single-byte opcode (see above), or NULL. */
static inline const char *wasm_opcode_sig(unsigned op)
{
	switch (op) {
#define WASM_OP_SIG_(name, code, text, sig) case code: return sig;
	WASM_OPCODES(WASM_OP_SIG_)
#undef WASM_OP_SIG_
	default: return NULL;
	}
}

static inline const char *wasm_fc_opcode_name(unsigned sub)
{
	switch (sub) {
#define WASM_FC_NAME_(name, code, text, sig) case code: return text;
	WASM_FC_OPCODES(WASM_FC_NAME_)
#undef WASM_FC_NAME_
	default: return NULL;
	}
}

static inline const char *wasm_fc_opcode_sig(unsigned sub)
{
	switch (sub) {
#define WASM_FC_SIG_(name, code, text, sig) case code: return sig;
	WASM_FC_OPCODES(WASM_FC_SIG_)
#undef WASM_FC_SIG_
	default: return NULL;
	}
}

#endif /* KUMO_COMPILER_OPCODES_H */
