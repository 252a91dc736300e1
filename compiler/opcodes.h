/* compiler/opcodes.h - named constants for every WebAssembly 2.0 opcode (and the
 * proposal opcodes the validator must recognise in order to refuse them by name).
 *
 * WASM_OPCODES(X) lists single-byte opcodes as X(NAME, byte, "text", sig) and
 * WASM_FC_OPCODES(X) the 0xFC-prefixed ones by sub-opcode. `sig` is NULL for
 * instructions with immediates or polymorphic typing, otherwise "params_results" with
 * one letter per value type: i = i32, l = i64, f = f32, d = f64 (the numeric and
 * conversion instructions, which pop their params and push their result).
 * WASM_SIMD_OPCODES(X) lists the 0xFD-prefixed (fixed-width SIMD) ones.
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

/* The 0xFD-prefixed (SIMD) instructions of Wasm 2.0 by sub-opcode (a u32 LEB128 after
 * the prefix): X(NAME, code, "text", sig, imm, arg). sig as above plus v = v128 (the
 * operands and result, also of the ones with immediates). imm says what follows the
 * sub-opcode: 'n' nothing; 'm' a memarg, arg = log2 of the natural alignment; 'L' a
 * memarg then a lane index, arg = log2 of the access size (the lane count is 16 >> arg);
 * 'l' a lane index, arg = the lane count; 's' 16 lane indices (0..31); 'c' 16 bytes. */
#define WASM_SIMD_OPCODES(X) \
	X(V128_LOAD, 0x00, "v128.load", "i_v", 'm', 4) \
	X(V128_LOAD8X8_S, 0x01, "v128.load8x8_s", "i_v", 'm', 3) \
	X(V128_LOAD8X8_U, 0x02, "v128.load8x8_u", "i_v", 'm', 3) \
	X(V128_LOAD16X4_S, 0x03, "v128.load16x4_s", "i_v", 'm', 3) \
	X(V128_LOAD16X4_U, 0x04, "v128.load16x4_u", "i_v", 'm', 3) \
	X(V128_LOAD32X2_S, 0x05, "v128.load32x2_s", "i_v", 'm', 3) \
	X(V128_LOAD32X2_U, 0x06, "v128.load32x2_u", "i_v", 'm', 3) \
	X(V128_LOAD8_SPLAT, 0x07, "v128.load8_splat", "i_v", 'm', 0) \
	X(V128_LOAD16_SPLAT, 0x08, "v128.load16_splat", "i_v", 'm', 1) \
	X(V128_LOAD32_SPLAT, 0x09, "v128.load32_splat", "i_v", 'm', 2) \
	X(V128_LOAD64_SPLAT, 0x0a, "v128.load64_splat", "i_v", 'm', 3) \
	X(V128_STORE, 0x0b, "v128.store", "iv_", 'm', 4) \
	X(V128_CONST, 0x0c, "v128.const", "_v", 'c', 0) \
	X(I8X16_SHUFFLE, 0x0d, "i8x16.shuffle", "vv_v", 's', 0) \
	X(I8X16_SWIZZLE, 0x0e, "i8x16.swizzle", "vv_v", 'n', 0) \
	X(I8X16_SPLAT, 0x0f, "i8x16.splat", "i_v", 'n', 0) \
	X(I16X8_SPLAT, 0x10, "i16x8.splat", "i_v", 'n', 0) \
	X(I32X4_SPLAT, 0x11, "i32x4.splat", "i_v", 'n', 0) \
	X(I64X2_SPLAT, 0x12, "i64x2.splat", "l_v", 'n', 0) \
	X(F32X4_SPLAT, 0x13, "f32x4.splat", "f_v", 'n', 0) \
	X(F64X2_SPLAT, 0x14, "f64x2.splat", "d_v", 'n', 0) \
	X(I8X16_EXTRACT_LANE_S, 0x15, "i8x16.extract_lane_s", "v_i", 'l', 16) \
	X(I8X16_EXTRACT_LANE_U, 0x16, "i8x16.extract_lane_u", "v_i", 'l', 16) \
	X(I8X16_REPLACE_LANE, 0x17, "i8x16.replace_lane", "vi_v", 'l', 16) \
	X(I16X8_EXTRACT_LANE_S, 0x18, "i16x8.extract_lane_s", "v_i", 'l', 8) \
	X(I16X8_EXTRACT_LANE_U, 0x19, "i16x8.extract_lane_u", "v_i", 'l', 8) \
	X(I16X8_REPLACE_LANE, 0x1a, "i16x8.replace_lane", "vi_v", 'l', 8) \
	X(I32X4_EXTRACT_LANE, 0x1b, "i32x4.extract_lane", "v_i", 'l', 4) \
	X(I32X4_REPLACE_LANE, 0x1c, "i32x4.replace_lane", "vi_v", 'l', 4) \
	X(I64X2_EXTRACT_LANE, 0x1d, "i64x2.extract_lane", "v_l", 'l', 2) \
	X(I64X2_REPLACE_LANE, 0x1e, "i64x2.replace_lane", "vl_v", 'l', 2) \
	X(F32X4_EXTRACT_LANE, 0x1f, "f32x4.extract_lane", "v_f", 'l', 4) \
	X(F32X4_REPLACE_LANE, 0x20, "f32x4.replace_lane", "vf_v", 'l', 4) \
	X(F64X2_EXTRACT_LANE, 0x21, "f64x2.extract_lane", "v_d", 'l', 2) \
	X(F64X2_REPLACE_LANE, 0x22, "f64x2.replace_lane", "vd_v", 'l', 2) \
	X(I8X16_EQ, 0x23, "i8x16.eq", "vv_v", 'n', 0) \
	X(I8X16_NE, 0x24, "i8x16.ne", "vv_v", 'n', 0) \
	X(I8X16_LT_S, 0x25, "i8x16.lt_s", "vv_v", 'n', 0) \
	X(I8X16_LT_U, 0x26, "i8x16.lt_u", "vv_v", 'n', 0) \
	X(I8X16_GT_S, 0x27, "i8x16.gt_s", "vv_v", 'n', 0) \
	X(I8X16_GT_U, 0x28, "i8x16.gt_u", "vv_v", 'n', 0) \
	X(I8X16_LE_S, 0x29, "i8x16.le_s", "vv_v", 'n', 0) \
	X(I8X16_LE_U, 0x2a, "i8x16.le_u", "vv_v", 'n', 0) \
	X(I8X16_GE_S, 0x2b, "i8x16.ge_s", "vv_v", 'n', 0) \
	X(I8X16_GE_U, 0x2c, "i8x16.ge_u", "vv_v", 'n', 0) \
	X(I16X8_EQ, 0x2d, "i16x8.eq", "vv_v", 'n', 0) \
	X(I16X8_NE, 0x2e, "i16x8.ne", "vv_v", 'n', 0) \
	X(I16X8_LT_S, 0x2f, "i16x8.lt_s", "vv_v", 'n', 0) \
	X(I16X8_LT_U, 0x30, "i16x8.lt_u", "vv_v", 'n', 0) \
	X(I16X8_GT_S, 0x31, "i16x8.gt_s", "vv_v", 'n', 0) \
	X(I16X8_GT_U, 0x32, "i16x8.gt_u", "vv_v", 'n', 0) \
	X(I16X8_LE_S, 0x33, "i16x8.le_s", "vv_v", 'n', 0) \
	X(I16X8_LE_U, 0x34, "i16x8.le_u", "vv_v", 'n', 0) \
	X(I16X8_GE_S, 0x35, "i16x8.ge_s", "vv_v", 'n', 0) \
	X(I16X8_GE_U, 0x36, "i16x8.ge_u", "vv_v", 'n', 0) \
	X(I32X4_EQ, 0x37, "i32x4.eq", "vv_v", 'n', 0) \
	X(I32X4_NE, 0x38, "i32x4.ne", "vv_v", 'n', 0) \
	X(I32X4_LT_S, 0x39, "i32x4.lt_s", "vv_v", 'n', 0) \
	X(I32X4_LT_U, 0x3a, "i32x4.lt_u", "vv_v", 'n', 0) \
	X(I32X4_GT_S, 0x3b, "i32x4.gt_s", "vv_v", 'n', 0) \
	X(I32X4_GT_U, 0x3c, "i32x4.gt_u", "vv_v", 'n', 0) \
	X(I32X4_LE_S, 0x3d, "i32x4.le_s", "vv_v", 'n', 0) \
	X(I32X4_LE_U, 0x3e, "i32x4.le_u", "vv_v", 'n', 0) \
	X(I32X4_GE_S, 0x3f, "i32x4.ge_s", "vv_v", 'n', 0) \
	X(I32X4_GE_U, 0x40, "i32x4.ge_u", "vv_v", 'n', 0) \
	X(F32X4_EQ, 0x41, "f32x4.eq", "vv_v", 'n', 0) \
	X(F32X4_NE, 0x42, "f32x4.ne", "vv_v", 'n', 0) \
	X(F32X4_LT, 0x43, "f32x4.lt", "vv_v", 'n', 0) \
	X(F32X4_GT, 0x44, "f32x4.gt", "vv_v", 'n', 0) \
	X(F32X4_LE, 0x45, "f32x4.le", "vv_v", 'n', 0) \
	X(F32X4_GE, 0x46, "f32x4.ge", "vv_v", 'n', 0) \
	X(F64X2_EQ, 0x47, "f64x2.eq", "vv_v", 'n', 0) \
	X(F64X2_NE, 0x48, "f64x2.ne", "vv_v", 'n', 0) \
	X(F64X2_LT, 0x49, "f64x2.lt", "vv_v", 'n', 0) \
	X(F64X2_GT, 0x4a, "f64x2.gt", "vv_v", 'n', 0) \
	X(F64X2_LE, 0x4b, "f64x2.le", "vv_v", 'n', 0) \
	X(F64X2_GE, 0x4c, "f64x2.ge", "vv_v", 'n', 0) \
	X(V128_NOT, 0x4d, "v128.not", "v_v", 'n', 0) \
	X(V128_AND, 0x4e, "v128.and", "vv_v", 'n', 0) \
	X(V128_ANDNOT, 0x4f, "v128.andnot", "vv_v", 'n', 0) \
	X(V128_OR, 0x50, "v128.or", "vv_v", 'n', 0) \
	X(V128_XOR, 0x51, "v128.xor", "vv_v", 'n', 0) \
	X(V128_BITSELECT, 0x52, "v128.bitselect", "vvv_v", 'n', 0) \
	X(V128_ANY_TRUE, 0x53, "v128.any_true", "v_i", 'n', 0) \
	X(V128_LOAD8_LANE, 0x54, "v128.load8_lane", "iv_v", 'L', 0) \
	X(V128_LOAD16_LANE, 0x55, "v128.load16_lane", "iv_v", 'L', 1) \
	X(V128_LOAD32_LANE, 0x56, "v128.load32_lane", "iv_v", 'L', 2) \
	X(V128_LOAD64_LANE, 0x57, "v128.load64_lane", "iv_v", 'L', 3) \
	X(V128_STORE8_LANE, 0x58, "v128.store8_lane", "iv_", 'L', 0) \
	X(V128_STORE16_LANE, 0x59, "v128.store16_lane", "iv_", 'L', 1) \
	X(V128_STORE32_LANE, 0x5a, "v128.store32_lane", "iv_", 'L', 2) \
	X(V128_STORE64_LANE, 0x5b, "v128.store64_lane", "iv_", 'L', 3) \
	X(V128_LOAD32_ZERO, 0x5c, "v128.load32_zero", "i_v", 'm', 2) \
	X(V128_LOAD64_ZERO, 0x5d, "v128.load64_zero", "i_v", 'm', 3) \
	X(F32X4_DEMOTE_F64X2_ZERO, 0x5e, "f32x4.demote_f64x2_zero", "v_v", 'n', 0) \
	X(F64X2_PROMOTE_LOW_F32X4, 0x5f, "f64x2.promote_low_f32x4", "v_v", 'n', 0) \
	X(I8X16_ABS, 0x60, "i8x16.abs", "v_v", 'n', 0) \
	X(I8X16_NEG, 0x61, "i8x16.neg", "v_v", 'n', 0) \
	X(I8X16_POPCNT, 0x62, "i8x16.popcnt", "v_v", 'n', 0) \
	X(I8X16_ALL_TRUE, 0x63, "i8x16.all_true", "v_i", 'n', 0) \
	X(I8X16_BITMASK, 0x64, "i8x16.bitmask", "v_i", 'n', 0) \
	X(I8X16_NARROW_I16X8_S, 0x65, "i8x16.narrow_i16x8_s", "vv_v", 'n', 0) \
	X(I8X16_NARROW_I16X8_U, 0x66, "i8x16.narrow_i16x8_u", "vv_v", 'n', 0) \
	X(F32X4_CEIL, 0x67, "f32x4.ceil", "v_v", 'n', 0) \
	X(F32X4_FLOOR, 0x68, "f32x4.floor", "v_v", 'n', 0) \
	X(F32X4_TRUNC, 0x69, "f32x4.trunc", "v_v", 'n', 0) \
	X(F32X4_NEAREST, 0x6a, "f32x4.nearest", "v_v", 'n', 0) \
	X(I8X16_SHL, 0x6b, "i8x16.shl", "vi_v", 'n', 0) \
	X(I8X16_SHR_S, 0x6c, "i8x16.shr_s", "vi_v", 'n', 0) \
	X(I8X16_SHR_U, 0x6d, "i8x16.shr_u", "vi_v", 'n', 0) \
	X(I8X16_ADD, 0x6e, "i8x16.add", "vv_v", 'n', 0) \
	X(I8X16_ADD_SAT_S, 0x6f, "i8x16.add_sat_s", "vv_v", 'n', 0) \
	X(I8X16_ADD_SAT_U, 0x70, "i8x16.add_sat_u", "vv_v", 'n', 0) \
	X(I8X16_SUB, 0x71, "i8x16.sub", "vv_v", 'n', 0) \
	X(I8X16_SUB_SAT_S, 0x72, "i8x16.sub_sat_s", "vv_v", 'n', 0) \
	X(I8X16_SUB_SAT_U, 0x73, "i8x16.sub_sat_u", "vv_v", 'n', 0) \
	X(F64X2_CEIL, 0x74, "f64x2.ceil", "v_v", 'n', 0) \
	X(F64X2_FLOOR, 0x75, "f64x2.floor", "v_v", 'n', 0) \
	X(I8X16_MIN_S, 0x76, "i8x16.min_s", "vv_v", 'n', 0) \
	X(I8X16_MIN_U, 0x77, "i8x16.min_u", "vv_v", 'n', 0) \
	X(I8X16_MAX_S, 0x78, "i8x16.max_s", "vv_v", 'n', 0) \
	X(I8X16_MAX_U, 0x79, "i8x16.max_u", "vv_v", 'n', 0) \
	X(F64X2_TRUNC, 0x7a, "f64x2.trunc", "v_v", 'n', 0) \
	X(I8X16_AVGR_U, 0x7b, "i8x16.avgr_u", "vv_v", 'n', 0) \
	X(I16X8_EXTADD_PAIRWISE_I8X16_S, 0x7c, "i16x8.extadd_pairwise_i8x16_s", "v_v", 'n', 0) \
	X(I16X8_EXTADD_PAIRWISE_I8X16_U, 0x7d, "i16x8.extadd_pairwise_i8x16_u", "v_v", 'n', 0) \
	X(I32X4_EXTADD_PAIRWISE_I16X8_S, 0x7e, "i32x4.extadd_pairwise_i16x8_s", "v_v", 'n', 0) \
	X(I32X4_EXTADD_PAIRWISE_I16X8_U, 0x7f, "i32x4.extadd_pairwise_i16x8_u", "v_v", 'n', 0) \
	X(I16X8_ABS, 0x80, "i16x8.abs", "v_v", 'n', 0) \
	X(I16X8_NEG, 0x81, "i16x8.neg", "v_v", 'n', 0) \
	X(I16X8_Q15MULR_SAT_S, 0x82, "i16x8.q15mulr_sat_s", "vv_v", 'n', 0) \
	X(I16X8_ALL_TRUE, 0x83, "i16x8.all_true", "v_i", 'n', 0) \
	X(I16X8_BITMASK, 0x84, "i16x8.bitmask", "v_i", 'n', 0) \
	X(I16X8_NARROW_I32X4_S, 0x85, "i16x8.narrow_i32x4_s", "vv_v", 'n', 0) \
	X(I16X8_NARROW_I32X4_U, 0x86, "i16x8.narrow_i32x4_u", "vv_v", 'n', 0) \
	X(I16X8_EXTEND_LOW_I8X16_S, 0x87, "i16x8.extend_low_i8x16_s", "v_v", 'n', 0) \
	X(I16X8_EXTEND_HIGH_I8X16_S, 0x88, "i16x8.extend_high_i8x16_s", "v_v", 'n', 0) \
	X(I16X8_EXTEND_LOW_I8X16_U, 0x89, "i16x8.extend_low_i8x16_u", "v_v", 'n', 0) \
	X(I16X8_EXTEND_HIGH_I8X16_U, 0x8a, "i16x8.extend_high_i8x16_u", "v_v", 'n', 0) \
	X(I16X8_SHL, 0x8b, "i16x8.shl", "vi_v", 'n', 0) \
	X(I16X8_SHR_S, 0x8c, "i16x8.shr_s", "vi_v", 'n', 0) \
	X(I16X8_SHR_U, 0x8d, "i16x8.shr_u", "vi_v", 'n', 0) \
	X(I16X8_ADD, 0x8e, "i16x8.add", "vv_v", 'n', 0) \
	X(I16X8_ADD_SAT_S, 0x8f, "i16x8.add_sat_s", "vv_v", 'n', 0) \
	X(I16X8_ADD_SAT_U, 0x90, "i16x8.add_sat_u", "vv_v", 'n', 0) \
	X(I16X8_SUB, 0x91, "i16x8.sub", "vv_v", 'n', 0) \
	X(I16X8_SUB_SAT_S, 0x92, "i16x8.sub_sat_s", "vv_v", 'n', 0) \
	X(I16X8_SUB_SAT_U, 0x93, "i16x8.sub_sat_u", "vv_v", 'n', 0) \
	X(F64X2_NEAREST, 0x94, "f64x2.nearest", "v_v", 'n', 0) \
	X(I16X8_MUL, 0x95, "i16x8.mul", "vv_v", 'n', 0) \
	X(I16X8_MIN_S, 0x96, "i16x8.min_s", "vv_v", 'n', 0) \
	X(I16X8_MIN_U, 0x97, "i16x8.min_u", "vv_v", 'n', 0) \
	X(I16X8_MAX_S, 0x98, "i16x8.max_s", "vv_v", 'n', 0) \
	X(I16X8_MAX_U, 0x99, "i16x8.max_u", "vv_v", 'n', 0) \
	X(I16X8_AVGR_U, 0x9b, "i16x8.avgr_u", "vv_v", 'n', 0) \
	X(I16X8_EXTMUL_LOW_I8X16_S, 0x9c, "i16x8.extmul_low_i8x16_s", "vv_v", 'n', 0) \
	X(I16X8_EXTMUL_HIGH_I8X16_S, 0x9d, "i16x8.extmul_high_i8x16_s", "vv_v", 'n', 0) \
	X(I16X8_EXTMUL_LOW_I8X16_U, 0x9e, "i16x8.extmul_low_i8x16_u", "vv_v", 'n', 0) \
	X(I16X8_EXTMUL_HIGH_I8X16_U, 0x9f, "i16x8.extmul_high_i8x16_u", "vv_v", 'n', 0) \
	X(I32X4_ABS, 0xa0, "i32x4.abs", "v_v", 'n', 0) \
	X(I32X4_NEG, 0xa1, "i32x4.neg", "v_v", 'n', 0) \
	X(I32X4_ALL_TRUE, 0xa3, "i32x4.all_true", "v_i", 'n', 0) \
	X(I32X4_BITMASK, 0xa4, "i32x4.bitmask", "v_i", 'n', 0) \
	X(I32X4_EXTEND_LOW_I16X8_S, 0xa7, "i32x4.extend_low_i16x8_s", "v_v", 'n', 0) \
	X(I32X4_EXTEND_HIGH_I16X8_S, 0xa8, "i32x4.extend_high_i16x8_s", "v_v", 'n', 0) \
	X(I32X4_EXTEND_LOW_I16X8_U, 0xa9, "i32x4.extend_low_i16x8_u", "v_v", 'n', 0) \
	X(I32X4_EXTEND_HIGH_I16X8_U, 0xaa, "i32x4.extend_high_i16x8_u", "v_v", 'n', 0) \
	X(I32X4_SHL, 0xab, "i32x4.shl", "vi_v", 'n', 0) \
	X(I32X4_SHR_S, 0xac, "i32x4.shr_s", "vi_v", 'n', 0) \
	X(I32X4_SHR_U, 0xad, "i32x4.shr_u", "vi_v", 'n', 0) \
	X(I32X4_ADD, 0xae, "i32x4.add", "vv_v", 'n', 0) \
	X(I32X4_SUB, 0xb1, "i32x4.sub", "vv_v", 'n', 0) \
	X(I32X4_MUL, 0xb5, "i32x4.mul", "vv_v", 'n', 0) \
	X(I32X4_MIN_S, 0xb6, "i32x4.min_s", "vv_v", 'n', 0) \
	X(I32X4_MIN_U, 0xb7, "i32x4.min_u", "vv_v", 'n', 0) \
	X(I32X4_MAX_S, 0xb8, "i32x4.max_s", "vv_v", 'n', 0) \
	X(I32X4_MAX_U, 0xb9, "i32x4.max_u", "vv_v", 'n', 0) \
	X(I32X4_DOT_I16X8_S, 0xba, "i32x4.dot_i16x8_s", "vv_v", 'n', 0) \
	X(I32X4_EXTMUL_LOW_I16X8_S, 0xbc, "i32x4.extmul_low_i16x8_s", "vv_v", 'n', 0) \
	X(I32X4_EXTMUL_HIGH_I16X8_S, 0xbd, "i32x4.extmul_high_i16x8_s", "vv_v", 'n', 0) \
	X(I32X4_EXTMUL_LOW_I16X8_U, 0xbe, "i32x4.extmul_low_i16x8_u", "vv_v", 'n', 0) \
	X(I32X4_EXTMUL_HIGH_I16X8_U, 0xbf, "i32x4.extmul_high_i16x8_u", "vv_v", 'n', 0) \
	X(I64X2_ABS, 0xc0, "i64x2.abs", "v_v", 'n', 0) \
	X(I64X2_NEG, 0xc1, "i64x2.neg", "v_v", 'n', 0) \
	X(I64X2_ALL_TRUE, 0xc3, "i64x2.all_true", "v_i", 'n', 0) \
	X(I64X2_BITMASK, 0xc4, "i64x2.bitmask", "v_i", 'n', 0) \
	X(I64X2_EXTEND_LOW_I32X4_S, 0xc7, "i64x2.extend_low_i32x4_s", "v_v", 'n', 0) \
	X(I64X2_EXTEND_HIGH_I32X4_S, 0xc8, "i64x2.extend_high_i32x4_s", "v_v", 'n', 0) \
	X(I64X2_EXTEND_LOW_I32X4_U, 0xc9, "i64x2.extend_low_i32x4_u", "v_v", 'n', 0) \
	X(I64X2_EXTEND_HIGH_I32X4_U, 0xca, "i64x2.extend_high_i32x4_u", "v_v", 'n', 0) \
	X(I64X2_SHL, 0xcb, "i64x2.shl", "vi_v", 'n', 0) \
	X(I64X2_SHR_S, 0xcc, "i64x2.shr_s", "vi_v", 'n', 0) \
	X(I64X2_SHR_U, 0xcd, "i64x2.shr_u", "vi_v", 'n', 0) \
	X(I64X2_ADD, 0xce, "i64x2.add", "vv_v", 'n', 0) \
	X(I64X2_SUB, 0xd1, "i64x2.sub", "vv_v", 'n', 0) \
	X(I64X2_MUL, 0xd5, "i64x2.mul", "vv_v", 'n', 0) \
	X(I64X2_EQ, 0xd6, "i64x2.eq", "vv_v", 'n', 0) \
	X(I64X2_NE, 0xd7, "i64x2.ne", "vv_v", 'n', 0) \
	X(I64X2_LT_S, 0xd8, "i64x2.lt_s", "vv_v", 'n', 0) \
	X(I64X2_GT_S, 0xd9, "i64x2.gt_s", "vv_v", 'n', 0) \
	X(I64X2_LE_S, 0xda, "i64x2.le_s", "vv_v", 'n', 0) \
	X(I64X2_GE_S, 0xdb, "i64x2.ge_s", "vv_v", 'n', 0) \
	X(I64X2_EXTMUL_LOW_I32X4_S, 0xdc, "i64x2.extmul_low_i32x4_s", "vv_v", 'n', 0) \
	X(I64X2_EXTMUL_HIGH_I32X4_S, 0xdd, "i64x2.extmul_high_i32x4_s", "vv_v", 'n', 0) \
	X(I64X2_EXTMUL_LOW_I32X4_U, 0xde, "i64x2.extmul_low_i32x4_u", "vv_v", 'n', 0) \
	X(I64X2_EXTMUL_HIGH_I32X4_U, 0xdf, "i64x2.extmul_high_i32x4_u", "vv_v", 'n', 0) \
	X(F32X4_ABS, 0xe0, "f32x4.abs", "v_v", 'n', 0) \
	X(F32X4_NEG, 0xe1, "f32x4.neg", "v_v", 'n', 0) \
	X(F32X4_SQRT, 0xe3, "f32x4.sqrt", "v_v", 'n', 0) \
	X(F32X4_ADD, 0xe4, "f32x4.add", "vv_v", 'n', 0) \
	X(F32X4_SUB, 0xe5, "f32x4.sub", "vv_v", 'n', 0) \
	X(F32X4_MUL, 0xe6, "f32x4.mul", "vv_v", 'n', 0) \
	X(F32X4_DIV, 0xe7, "f32x4.div", "vv_v", 'n', 0) \
	X(F32X4_MIN, 0xe8, "f32x4.min", "vv_v", 'n', 0) \
	X(F32X4_MAX, 0xe9, "f32x4.max", "vv_v", 'n', 0) \
	X(F32X4_PMIN, 0xea, "f32x4.pmin", "vv_v", 'n', 0) \
	X(F32X4_PMAX, 0xeb, "f32x4.pmax", "vv_v", 'n', 0) \
	X(F64X2_ABS, 0xec, "f64x2.abs", "v_v", 'n', 0) \
	X(F64X2_NEG, 0xed, "f64x2.neg", "v_v", 'n', 0) \
	X(F64X2_SQRT, 0xef, "f64x2.sqrt", "v_v", 'n', 0) \
	X(F64X2_ADD, 0xf0, "f64x2.add", "vv_v", 'n', 0) \
	X(F64X2_SUB, 0xf1, "f64x2.sub", "vv_v", 'n', 0) \
	X(F64X2_MUL, 0xf2, "f64x2.mul", "vv_v", 'n', 0) \
	X(F64X2_DIV, 0xf3, "f64x2.div", "vv_v", 'n', 0) \
	X(F64X2_MIN, 0xf4, "f64x2.min", "vv_v", 'n', 0) \
	X(F64X2_MAX, 0xf5, "f64x2.max", "vv_v", 'n', 0) \
	X(F64X2_PMIN, 0xf6, "f64x2.pmin", "vv_v", 'n', 0) \
	X(F64X2_PMAX, 0xf7, "f64x2.pmax", "vv_v", 'n', 0) \
	X(I32X4_TRUNC_SAT_F32X4_S, 0xf8, "i32x4.trunc_sat_f32x4_s", "v_v", 'n', 0) \
	X(I32X4_TRUNC_SAT_F32X4_U, 0xf9, "i32x4.trunc_sat_f32x4_u", "v_v", 'n', 0) \
	X(F32X4_CONVERT_I32X4_S, 0xfa, "f32x4.convert_i32x4_s", "v_v", 'n', 0) \
	X(F32X4_CONVERT_I32X4_U, 0xfb, "f32x4.convert_i32x4_u", "v_v", 'n', 0) \
	X(I32X4_TRUNC_SAT_F64X2_S_ZERO, 0xfc, "i32x4.trunc_sat_f64x2_s_zero", "v_v", 'n', 0) \
	X(I32X4_TRUNC_SAT_F64X2_U_ZERO, 0xfd, "i32x4.trunc_sat_f64x2_u_zero", "v_v", 'n', 0) \
	X(F64X2_CONVERT_LOW_I32X4_S, 0xfe, "f64x2.convert_low_i32x4_s", "v_v", 'n', 0) \
	X(F64X2_CONVERT_LOW_I32X4_U, 0xff, "f64x2.convert_low_i32x4_u", "v_v", 'n', 0) \


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

/* Sub-opcodes after the 0xFD prefix. */
enum wasm_simd_opcode {
#define WASM_SIMD_ENUM_(name, code, text, sig, imm, arg) WASM_SIMD_##name = code,
	WASM_SIMD_OPCODES(WASM_SIMD_ENUM_)
#undef WASM_SIMD_ENUM_
	WASM_SIMD_COUNT = 0x100 /* sub-opcodes of Wasm 2.0 are below this */
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

/* One SIMD instruction's description, or NULL for a sub-opcode Wasm 2.0 leaves unassigned. */
struct wasm_simd_info {
	const char *text;   /* "i32x4.add" */
	const char *sig;    /* "vv_v" */
	char imm;           /* see WASM_SIMD_OPCODES */
	unsigned char arg;
};

static inline const struct wasm_simd_info *wasm_simd_info(unsigned sub)
{
	static const struct wasm_simd_info table[WASM_SIMD_COUNT] = {
#define WASM_SIMD_INFO_(name, code, text, sig, imm, arg) [code] = {text, sig, imm, arg},
		WASM_SIMD_OPCODES(WASM_SIMD_INFO_)
#undef WASM_SIMD_INFO_
	};
	return sub < WASM_SIMD_COUNT && table[sub].text ? &table[sub] : NULL;
}

#endif /* KUMO_COMPILER_OPCODES_H */
