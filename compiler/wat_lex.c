/* compiler/wat_lex.c - the text format's lexical layer: tokens, comments, annotations,
 * and the decoders for numeric and string literals. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/wat.h"

static bool is_idchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		return true;
	return c && strchr("!#$%&'*+-./:<=>?@\\^_`|~", c) != NULL;
}

struct lexer {
	struct wat *w;
	const char *s, *end;
	const char *line_start;
	uint32_t line;
	struct wat_lexed *out;
	uint32_t cap;
	uint32_t skip_depth;  /* > 0 inside an annotation (@...), whose tokens are dropped */
};

static uint32_t col_of(const struct lexer *l, const char *p)
{
	return (uint32_t)(p - l->line_start) + 1;
}

static void push(struct lexer *l, uint8_t kind, const char *p, size_t len)
{
	if (l->skip_depth)
		return;
	struct wat_lexed *o = l->out;
	if (o->ntoks == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 256;
		struct wat_tok *t = wat_alloc(l->w, (size_t)cap * sizeof(*t));
		if (o->ntoks)
			memcpy(t, o->toks, (size_t)o->ntoks * sizeof(*t));
		o->toks = t;
		l->cap = cap;
	}
	if (len > UINT32_MAX)
		wat_fail_at(l->w, l->line, col_of(l, p), "token too long");
	o->toks[o->ntoks++] = (struct wat_tok){ .p = p, .len = (uint32_t)len, .kind = kind,
						.line = l->line, .col = col_of(l, p) };
}

static void newline(struct lexer *l, const char *p)
{
	l->line++;
	l->line_start = p + 1;
}

/* A block comment (; ... ;), nested; l->s is at "(;". */
static void block_comment(struct lexer *l)
{
	const char *start = l->s;
	uint32_t line = l->line, col = col_of(l, start);
	int depth = 0;
	while (l->s < l->end) {
		if (l->s + 1 < l->end && l->s[0] == '(' && l->s[1] == ';') {
			depth++;
			l->s += 2;
		} else if (l->s + 1 < l->end && l->s[0] == ';' && l->s[1] == ')') {
			l->s += 2;
			if (--depth == 0)
				return;
		} else {
			if (*l->s == '\n')
				newline(l, l->s);
			l->s++;
		}
	}
	wat_fail_at(l->w, line, col, "unclosed block comment");
}

static void string_tok(struct lexer *l)
{
	const char *start = l->s++;
	while (l->s < l->end && *l->s != '"') {
		unsigned char c = (unsigned char)*l->s;
		if (c == '\n' || c < 0x20 || c == 0x7f)
			wat_fail_at(l->w, l->line, col_of(l, l->s), "control character in string");
		if (c == '\\' && l->s + 1 < l->end)
			l->s++;
		l->s++;
	}
	if (l->s >= l->end)
		wat_fail_at(l->w, l->line, col_of(l, start), "unclosed string");
	l->s++;
	if (l->s < l->end && (*l->s == '"' || is_idchar((unsigned char)*l->s)))
		wat_fail_at(l->w, l->line, col_of(l, l->s), "tokens must be separated: `%c` after a string",
			    *l->s);
	push(l, WAT_STRING, start, (size_t)(l->s - start));
}

void wat_lex(struct wat *w, const char *text, size_t len, struct wat_lexed *out)
{
	struct lexer l = { .w = w, .s = text, .end = text + len, .line_start = text, .line = 1,
			   .out = out };
	out->toks = NULL;
	out->ntoks = 0;
	while (l.s < l.end) {
		unsigned char c = (unsigned char)*l.s;
		if (c == ' ' || c == '\t' || c == '\r') {
			l.s++;
		} else if (c == '\n') {
			newline(&l, l.s);
			l.s++;
		} else if (c == ';' && l.s + 1 < l.end && l.s[1] == ';') {
			while (l.s < l.end && *l.s != '\n')
				l.s++;
		} else if (c == '(' && l.s + 1 < l.end && l.s[1] == ';') {
			block_comment(&l);
		} else if (c == '(' && l.s + 1 < l.end && l.s[1] == '@' && !l.skip_depth) {
			/* An annotation: dropped up to its matching ')'. */
			l.skip_depth = 1;
			l.s += 2;
			while (l.s < l.end && is_idchar((unsigned char)*l.s))
				l.s++;
		} else if (c == '(') {
			if (l.skip_depth)
				l.skip_depth++;
			push(&l, WAT_LPAR, l.s, 1);
			l.s++;
		} else if (c == ')') {
			if (l.skip_depth) {
				l.skip_depth--;
				l.s++;
				continue;
			}
			push(&l, WAT_RPAR, l.s, 1);
			l.s++;
		} else if (c == '"') {
			string_tok(&l);
		} else if (is_idchar(c)) {
			const char *start = l.s;
			while (l.s < l.end && is_idchar((unsigned char)*l.s))
				l.s++;
			uint8_t kind = WAT_RESERVED;
			if (c >= 'a' && c <= 'z')
				kind = WAT_KEYWORD;
			else if (c == '$' && l.s - start > 1)
				kind = WAT_ID;
			if (l.s < l.end && *l.s == '"')
				wat_fail_at(w, l.line, col_of(&l, l.s),
					    "tokens must be separated: a string right after `%.*s`",
					    (int)(l.s - start > 40 ? 40 : l.s - start), start);
			push(&l, kind, start, (size_t)(l.s - start));
		} else {
			wat_fail_at(w, l.line, col_of(&l, l.s), "unexpected character 0x%02x", c);
		}
	}
	if (l.skip_depth)
		wat_fail_at(w, l.line, col_of(&l, l.s), "unclosed annotation");
	l.skip_depth = 0;
	push(&l, WAT_EOF, l.s, 0);
	out->toks[out->ntoks - 1].len = 0;
}

/* --- numeric literals --- */

static int digit_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Digits of `base` with single underscores between them; returns the end, or NULL when
 * not at least one digit. Accumulates into *v with overflow noted in *ovf. */
static const char *scan_digits(const char *s, const char *e, int base, uint64_t *v, bool *ovf)
{
	const char *start = s;
	while (s < e) {
		if (*s == '_') {
			if (s == start || s + 1 >= e || digit_val(s[1]) >= base)
				return NULL;
			s++;
			continue;
		}
		int d = digit_val(*s);
		if (d >= base)
			break;
		if (v) {
			if (*v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
				*ovf = true;
			*v = *v * (uint64_t)base + (uint64_t)d;
		}
		s++;
	}
	return s == start ? NULL : s;
}

bool wat_is_u32(const struct wat_tok *t)
{
	if (t->kind != WAT_RESERVED || t->len == 0)
		return false;
	const char *s = t->p, *e = t->p + t->len;
	uint64_t v = 0;
	bool ovf = false;
	int base = 10;
	if (e - s > 2 && s[0] == '0' && s[1] == 'x') {
		s += 2;
		base = 16;
	}
	const char *end = scan_digits(s, e, base, &v, &ovf);
	return end == e;
}

uint64_t wat_int(struct wat *w, const struct wat_tok *t, int bits)
{
	if (t->kind != WAT_RESERVED && t->kind != WAT_KEYWORD)
		wat_fail(w, t, "expected an integer, found `%.*s`", (int)t->len, t->p);
	const char *s = t->p, *e = t->p + t->len;
	bool neg = false;
	if (s < e && (*s == '+' || *s == '-')) {
		neg = *s == '-';
		s++;
	}
	int base = 10;
	if (e - s > 2 && s[0] == '0' && s[1] == 'x') {
		s += 2;
		base = 16;
	}
	uint64_t v = 0;
	bool ovf = false;
	const char *end = scan_digits(s, e, base, &v, &ovf);
	if (!end || end != e)
		wat_fail(w, t, "malformed integer `%.*s`", (int)t->len, t->p);
	uint64_t umax = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
	uint64_t max = neg ? 1ull << (bits - 1) : umax;
	if (ovf || v > max)
		wat_fail(w, t, "constant out of range `%.*s`", (int)t->len, t->p);
	if (neg)
		v = (uint64_t)0 - v;
	return v & umax;
}

uint32_t wat_u32(struct wat *w, const struct wat_tok *t)
{
	if (t->kind != WAT_RESERVED || !t->len || t->p[0] == '+' || t->p[0] == '-')
		wat_fail(w, t, "expected an unsigned integer, found `%.*s`", (int)t->len, t->p);
	return (uint32_t)wat_int(w, t, 32);
}

uint64_t wat_float(struct wat *w, const struct wat_tok *t, int bits)
{
	if (t->kind != WAT_RESERVED && t->kind != WAT_KEYWORD)
		wat_fail(w, t, "expected a float, found `%.*s`", (int)t->len, t->p);
	const char *s = t->p, *e = t->p + t->len;
	bool neg = false;
	if (s < e && (*s == '+' || *s == '-')) {
		neg = *s == '-';
		s++;
	}
	uint64_t sign = neg ? (bits == 32 ? 0x80000000ull : 0x8000000000000000ull) : 0;
	uint64_t expmask = bits == 32 ? 0x7f800000ull : 0x7ff0000000000000ull;
	uint64_t fracmask = bits == 32 ? 0x7fffffull : 0xfffffffffffffull;
	size_t n = (size_t)(e - s);
	if (n == 3 && !memcmp(s, "inf", 3))
		return sign | expmask;
	if (n == 3 && !memcmp(s, "nan", 3))
		return sign | expmask | (fracmask + 1) >> 1;
	if (n > 6 && !memcmp(s, "nan:0x", 6)) {
		uint64_t v = 0;
		bool ovf = false;
		const char *end = scan_digits(s + 6, e, 16, &v, &ovf);
		if (!end || end != e)
			wat_fail(w, t, "malformed nan payload `%.*s`", (int)t->len, t->p);
		if (ovf || v == 0 || v > fracmask)
			wat_fail(w, t, "constant out of range `%.*s`", (int)t->len, t->p);
		return sign | expmask | v;
	}
	/* Check the syntax ourselves (strtod is laxer), then let the C library round. */
	bool hex = n > 2 && s[0] == '0' && s[1] == 'x';
	int base = hex ? 16 : 10;
	const char *p = scan_digits(hex ? s + 2 : s, e, base, NULL, NULL);
	if (!p)
		wat_fail(w, t, "malformed float `%.*s`", (int)t->len, t->p);
	if (p < e && *p == '.') {
		p++;
		if (p < e && digit_val(*p) < base) {
			p = scan_digits(p, e, base, NULL, NULL);
			if (!p)
				wat_fail(w, t, "malformed float `%.*s`", (int)t->len, t->p);
		}
	}
	if (p < e && (hex ? (*p == 'p' || *p == 'P') : (*p == 'e' || *p == 'E'))) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		p = scan_digits(p, e, 10, NULL, NULL);
		if (!p)
			wat_fail(w, t, "malformed float `%.*s`", (int)t->len, t->p);
	}
	if (p != e)
		wat_fail(w, t, "malformed float `%.*s`", (int)t->len, t->p);
	char *buf = wat_alloc(w, t->len + 1);
	size_t k = 0;
	for (const char *q = t->p; q < e; q++)
		if (*q != '_')
			buf[k++] = *q;
	buf[k] = 0;
	errno = 0;
	if (bits == 32) {
		float f = strtof(buf, NULL);
		if (isinf(f))
			wat_fail(w, t, "constant out of range `%.*s`", (int)t->len, t->p);
		uint32_t u;
		memcpy(&u, &f, 4);
		return u;
	}
	double d = strtod(buf, NULL);
	if (isinf(d))
		wat_fail(w, t, "constant out of range `%.*s`", (int)t->len, t->p);
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

/* --- strings --- */

static size_t put_utf8(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

size_t wat_string(struct wat *w, const struct wat_tok *t, uint8_t **out)
{
	if (t->kind != WAT_STRING)
		wat_fail(w, t, "expected a string, found `%.*s`", (int)t->len, t->p);
	const char *s = t->p + 1, *e = t->p + t->len - 1;
	uint8_t *o = wat_alloc(w, t->len + 1);
	size_t k = 0;
	while (s < e) {
		if (*s != '\\') {
			o[k++] = (uint8_t)*s++;
			continue;
		}
		s++;
		char c = s < e ? *s : 0;
		switch (c) {
		case 't': o[k++] = '\t'; s++; break;
		case 'n': o[k++] = '\n'; s++; break;
		case 'r': o[k++] = '\r'; s++; break;
		case '"': o[k++] = '"'; s++; break;
		case '\'': o[k++] = '\''; s++; break;
		case '\\': o[k++] = '\\'; s++; break;
		case 'u': {
			if (s + 1 >= e || s[1] != '{')
				wat_fail(w, t, "malformed unicode escape in string");
			uint64_t cp = 0;
			bool ovf = false;
			const char *q = scan_digits(s + 2, e, 16, &cp, &ovf);
			if (!q || q >= e || *q != '}' || ovf || cp > 0x10ffff ||
			    (cp >= 0xd800 && cp < 0xe000))
				wat_fail(w, t, "malformed unicode escape in string");
			k += put_utf8(o + k, (uint32_t)cp);
			s = q + 1;
			break;
		}
		default:
			if (s + 1 < e && digit_val(s[0]) < 16 && digit_val(s[1]) < 16) {
				o[k++] = (uint8_t)(digit_val(s[0]) * 16 + digit_val(s[1]));
				s += 2;
				break;
			}
			wat_fail(w, t, "unknown escape in string");
		}
	}
	*out = o;
	return k;
}
