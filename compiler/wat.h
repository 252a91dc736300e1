/* compiler/wat.h - the WebAssembly text format front end: WAT source in, a Wasm binary
 * out, which then goes through the ordinary decoder and validator. Private to compiler/
 * (callers reach it through wasm_load(), which detects text by content).
 */
#ifndef KUMO_COMPILER_WAT_H
#define KUMO_COMPILER_WAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler/module.h"

/* A text-format error: where (1-based line and column, in bytes) and what, e.g.
 *   3:14: expected `)`, found `i32.add`
 *   7:5: unknown operator `i32.addd` */
struct wat_error {
	char msg[256];      /* lowercase, quotes the offending token */
	uint32_t line;      /* 1-based */
	uint32_t col;       /* 1-based, in bytes */
};

/* Assembles one module written in the text format (a `(module ...)` form, a
 * `(module binary ...)` form, or bare module fields) into a Wasm binary allocated in
 * *arena (the caller frees the arena; on error it may hold partial work). Returns 0
 * with *out and *out_len set, or -1 with *e set. Never reads past text[len]. */
int wat_assemble(const char *text, size_t len, struct wasm_arena *arena, const uint8_t **out,
		 size_t *out_len, struct wat_error *e);

/* True when `bytes` looks like text rather than a binary: the first byte that is not
 * whitespace opens a form `(` or a comment `;;`. */
bool wat_is_text(const uint8_t *bytes, size_t len);

/* Appends the blocks of *src to *dst (so the module can own the assembled binary);
 * *src is left empty. Defined in arena.c. */
void arena_adopt(struct wasm_arena *dst, struct wasm_arena *src);

/* Between wat_lex.c and wat_parse.c: the tokens and the literal decoders. */
enum wat_tok_kind {
	WAT_LPAR,           /* ( */
	WAT_RPAR,           /* ) */
	WAT_KEYWORD,        /* starts with a lowercase letter: module, i32.add, offset=4 */
	WAT_ID,             /* $name */
	WAT_STRING,         /* "..." with the quotes, escapes not yet decoded */
	WAT_RESERVED,       /* any other idchars: numbers, nan:0x1, and garbage */
	WAT_EOF,            /* end of input */
};

struct wat_tok {
	const char *p;      /* into the source text */
	uint32_t len;       /* bytes */
	uint8_t kind;       /* enum wat_tok_kind */
	uint32_t line, col; /* 1-based position of p */
};

/* The state of one assembly: tokens, error and the arena everything lives in. An error
 * unwinds to wat_assemble() with longjmp, so every allocation is arena-owned. */
struct wat_lexed {
	struct wat_tok *toks; /* ntoks entries, the last one WAT_EOF */
	uint32_t ntoks;
};

struct wat;
/* Splits the source into tokens, skipping whitespace, comments and annotations. */
void wat_lex(struct wat *w, const char *text, size_t len, struct wat_lexed *out);
/* Reports an error at tok (or at line:col when tok is NULL) and unwinds. */
_Noreturn void wat_fail(struct wat *w, const struct wat_tok *tok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
_Noreturn void wat_fail_at(struct wat *w, uint32_t line, uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void *wat_alloc(struct wat *w, size_t n);

/* Literal decoders; each fails (unwinds) on a malformed or out-of-range literal.
 * bits = 32 or 64 (8, 16, 32 or 64 for wat_int: v128.const lanes). Integers accept
 * both signed and unsigned ranges, as the spec does for iN.const. */
uint64_t wat_int(struct wat *w, const struct wat_tok *t, int bits);
uint32_t wat_u32(struct wat *w, const struct wat_tok *t);
uint64_t wat_float(struct wat *w, const struct wat_tok *t, int bits);
/* Decodes a string token's escapes into arena bytes; returns the length. */
size_t wat_string(struct wat *w, const struct wat_tok *t, uint8_t **out);
bool wat_is_u32(const struct wat_tok *t);

#endif /* KUMO_COMPILER_WAT_H */
