/* kernel/os/kload.c - the kernel linker: checks, lays out, resolves and relocates a compiled object, then checks its descriptor (kload.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/os/kload.h"

/* ---- ELF64 (the System V gABI and the x86-64 psABI; only what is read here) ---- */

struct elf_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf_shdr {
	uint32_t name, type;
	uint64_t flags, addr, offset, size;
	uint32_t link, info;
	uint64_t addralign, entsize;
};
struct elf_sym {
	uint32_t name;
	uint8_t info, other;
	uint16_t shndx;
	uint64_t value, size;
};
struct elf_rela {
	uint64_t offset, info;
	int64_t addend;
};
_Static_assert(sizeof(struct elf_ehdr) == 64, "elf");
_Static_assert(sizeof(struct elf_shdr) == 64, "elf");
_Static_assert(sizeof(struct elf_sym) == 24, "elf");
_Static_assert(sizeof(struct elf_rela) == 24, "elf");

#define ET_REL 1
#define EM_X86_64 62
#define SHT_NULL 0
#define SHT_PROGBITS 1
#define SHT_SYMTAB 2
#define SHT_STRTAB 3
#define SHT_RELA 4
#define SHT_NOBITS 8
#define SHT_REL 9
#define SHF_WRITE 0x1
#define SHF_ALLOC 0x2
#define SHF_EXECINSTR 0x4
#define SHF_TLS 0x400
#define SHN_UNDEF 0
#define SHN_LORESERVE 0xff00
#define SHN_ABS 0xfff1
#define SHN_COMMON 0xfff2
#define STB_LOCAL 0
#define STB_GLOBAL 1
#define STB_WEAK 2
#define STT_SECTION 3
#define STT_TLS 6

#define R_X86_64_NONE 0
#define R_X86_64_64 1
#define R_X86_64_PC32 2
#define R_X86_64_PLT32 4
#define R_X86_64_GOTPCREL 9
#define R_X86_64_32 10
#define R_X86_64_32S 11
#define R_X86_64_PC64 24
#define R_X86_64_GOTPCRELX 41
#define R_X86_64_REX_GOTPCRELX 42

#define PAGE 4096u
/* Bounds on what an object may ask for (the largest compiled module seen is a few MiB). */
#define MAX_IMAGE (256u << 20)

/* ---- errors ---- */

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (cap) {
		int n = snprintf(err, cap, "object: ");
		if (n > 0 && (size_t)n < cap)
			vsnprintf(err + n, cap - (size_t)n, fmt, ap);
	}
	va_end(ap);
	return -1;
}

/* ---- the link state ---- */

enum part { PART_NONE, PART_CODE, PART_RO };

struct sec {
	enum part part;   /* where it goes, PART_NONE: not loaded */
	uint64_t off;     /* offset in the image */
};

struct link {
	const uint8_t *obj;          /* the object (8-byte aligned) */
	size_t len;                  /* its bytes */
	const struct kload_env *env; /* the platform's part */
	const struct elf_shdr *sh;   /* section headers (inside obj) */
	uint32_t nsh;                /* how many */
	struct sec *secs;            /* nsh placements */
	const struct elf_sym *syms;  /* the symbol table (inside obj) */
	uint32_t nsyms;
	const char *strtab;          /* its string table */
	uint64_t strtab_len;
	uint64_t *symaddr;           /* nsyms resolved addresses */
	uint8_t *symok;              /* nsyms: 1 = has an address */
	uint32_t *gotslot;           /* nsyms: GOT slot + 1, 0 = none */
	uint32_t ngot;               /* GOT slots */
	uint64_t code_len;           /* bytes of code, at image offset 0 */
	uint64_t ro_off, ro_len;     /* read-only data: page-aligned offset, bytes */
	uint64_t got_off;            /* the GOT, after the read-only data */
	uint64_t image_len;          /* the whole, page-rounded */
	uint8_t *base;               /* the mapping, NULL until env->map */
	char *err;                   /* the caller's message buffer */
	size_t errcap;
};

/* obj[off, off+n) is inside the object. */
static bool in_obj(const struct link *l, uint64_t off, uint64_t n)
{
	return off <= l->len && n <= l->len - off;
}

/* A NUL-terminated name at off in a string table of tlen bytes, or NULL. */
static const char *str_at(const char *tab, uint64_t tlen, uint64_t off)
{
	if (off >= tlen)
		return NULL;
	if (!memchr(tab + off, 0, tlen - off))
		return NULL;
	return tab + off;
}

static const char *sec_name(const struct link *l, uint32_t i)
{
	const struct elf_shdr *ss = &l->sh[((const struct elf_ehdr *)l->obj)->shstrndx];
	const char *n = str_at((const char *)l->obj + ss->offset, ss->size, l->sh[i].name);
	return n ? n : "?";
}

static bool starts(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* ---- headers and sections ---- */

static int read_headers(struct link *l)
{
	if (l->len < sizeof(struct elf_ehdr))
		return fail(l->err, l->errcap, "truncated elf header (%zu bytes)", l->len);
	struct elf_ehdr eh;
	memcpy(&eh, l->obj, sizeof(eh));
	if (memcmp(eh.ident, "\177ELF", 4) != 0)
		return fail(l->err, l->errcap, "not an elf file");
	if (eh.ident[4] != 2 || eh.ident[5] != 1 || eh.ident[6] != 1)
		return fail(l->err, l->errcap, "not a little-endian elf64 file");
	if (eh.type != ET_REL)
		return fail(l->err, l->errcap, "not a relocatable object (elf type %u)", eh.type);
	if (eh.machine != EM_X86_64)
		return fail(l->err, l->errcap, "built for machine %u, not x86-64", eh.machine);
	if (eh.shentsize != sizeof(struct elf_shdr) || eh.shnum == 0)
		return fail(l->err, l->errcap, "bad section header table (%u entries of %u bytes)",
			    eh.shnum, eh.shentsize);
	if ((eh.shoff & 7) || !in_obj(l, eh.shoff, (uint64_t)eh.shnum * sizeof(struct elf_shdr)))
		return fail(l->err, l->errcap, "truncated section header table");
	if (eh.shstrndx >= eh.shnum)
		return fail(l->err, l->errcap, "section name table index %u out of range", eh.shstrndx);
	l->sh = (const struct elf_shdr *)(l->obj + eh.shoff);
	l->nsh = eh.shnum;
	for (uint32_t i = 0; i < l->nsh; i++) {
		const struct elf_shdr *s = &l->sh[i];
		if (s->type != SHT_NOBITS && s->type != SHT_NULL && !in_obj(l, s->offset, s->size))
			return fail(l->err, l->errcap, "section %u is outside the file (offset %llu, "
				    "%llu bytes)", i, (unsigned long long)s->offset,
				    (unsigned long long)s->size);
		if (s->addralign > PAGE || (s->addralign & (s->addralign - 1)))
			return fail(l->err, l->errcap, "section %u has alignment %llu", i,
				    (unsigned long long)s->addralign);
	}
	const struct elf_shdr *ss = &l->sh[eh.shstrndx];
	if (ss->type != SHT_STRTAB || ss->size == 0 ||
	    ((const char *)l->obj)[ss->offset + ss->size - 1] != 0)
		return fail(l->err, l->errcap, "bad section name table");
	return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return a > 1 ? (v + a - 1) & ~(a - 1) : v;
}

/* Places every allocated section: code first, then read-only data, then the GOT. */
static int layout(struct link *l)
{
	l->secs = calloc(l->nsh, sizeof(*l->secs));
	if (!l->secs)
		return fail(l->err, l->errcap, "out of memory");
	uint64_t code = 0, ro = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 1; i < l->nsh; i++) {
			const struct elf_shdr *s = &l->sh[i];
			if (!(s->flags & SHF_ALLOC))
				continue;
			const char *name = sec_name(l, i);
			if (s->flags & SHF_TLS)
				return fail(l->err, l->errcap, "thread-local section `%s`", name);
			if (s->type != SHT_PROGBITS)
				return fail(l->err, l->errcap, "section `%s` of type %u (only code and "
					    "read-only data can be loaded)", name, s->type);
			bool exec = (s->flags & SHF_EXECINSTR) != 0;
			if ((s->flags & SHF_WRITE) && (exec || !starts(name, ".data.rel.ro")))
				return fail(l->err, l->errcap, "writable section `%s` (generated code "
					    "keeps no state of its own)", name);
			if (exec != (pass == 0))
				continue;
			uint64_t *at = exec ? &code : &ro;
			uint64_t a = s->addralign ? s->addralign : 1;
			*at = align_up(*at, a);
			l->secs[i].part = exec ? PART_CODE : PART_RO;
			l->secs[i].off = *at;
			if (s->size > MAX_IMAGE - *at)
				return fail(l->err, l->errcap, "sections larger than %u bytes", MAX_IMAGE);
			*at += s->size;
		}
	}
	l->code_len = code;
	l->ro_off = align_up(code, PAGE);
	l->ro_len = ro;
	/* The read-only offsets were relative to the part: make them image offsets. */
	for (uint32_t i = 1; i < l->nsh; i++)
		if (l->secs[i].part == PART_RO)
			l->secs[i].off += l->ro_off;
	return 0;
}

/* ---- symbols ---- */

const struct kload_export *kload_find_export(const struct kload_env *env, const char *name,
					     size_t len)
{
	size_t lo = 0, hi = env->nexports;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *e = env->exports[mid].name;
		int c = strncmp(e, name, len);
		if (c == 0 && e[len] != 0)
			c = 1; /* e is longer: it sorts after */
		if (c == 0)
			return &env->exports[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int read_symtab(struct link *l)
{
	uint32_t idx = 0;
	for (uint32_t i = 1; i < l->nsh; i++) {
		if (l->sh[i].type != SHT_SYMTAB)
			continue;
		if (idx)
			return fail(l->err, l->errcap, "more than one symbol table");
		idx = i;
	}
	if (!idx)
		return fail(l->err, l->errcap, "no symbol table");
	const struct elf_shdr *s = &l->sh[idx];
	if (s->entsize != sizeof(struct elf_sym) || s->size % sizeof(struct elf_sym) || (s->offset & 7))
		return fail(l->err, l->errcap, "bad symbol table entries");
	if (s->link == 0 || s->link >= l->nsh || l->sh[s->link].type != SHT_STRTAB)
		return fail(l->err, l->errcap, "bad symbol string table index %u", s->link);
	const struct elf_shdr *st = &l->sh[s->link];
	if (st->size == 0 || ((const char *)l->obj)[st->offset + st->size - 1] != 0)
		return fail(l->err, l->errcap, "symbol string table is not terminated");
	l->syms = (const struct elf_sym *)(l->obj + s->offset);
	l->nsyms = (uint32_t)(s->size / sizeof(struct elf_sym));
	l->strtab = (const char *)l->obj + st->offset;
	l->strtab_len = st->size;
	return 0;
}

/* Gives every usable symbol its address (image offsets while l->base is NULL). */
static int resolve_symbols(struct link *l)
{
	if (!l->symaddr) {
		l->symaddr = calloc(l->nsyms ? l->nsyms : 1, sizeof(uint64_t));
		l->symok = calloc(l->nsyms ? l->nsyms : 1, 1);
		l->gotslot = calloc(l->nsyms ? l->nsyms : 1, sizeof(uint32_t));
		if (!l->symaddr || !l->symok || !l->gotslot)
			return fail(l->err, l->errcap, "out of memory");
	}
	for (uint32_t i = 1; i < l->nsyms; i++) {
		const struct elf_sym *y = &l->syms[i];
		const char *name = str_at(l->strtab, l->strtab_len, y->name);
		if (!name)
			return fail(l->err, l->errcap, "symbol %u has a bad name offset", i);
		uint8_t bind = y->info >> 4, type = y->info & 15;
		if (type == STT_TLS)
			return fail(l->err, l->errcap, "thread-local symbol `%s`", name);
		if (y->shndx == SHN_UNDEF) {
			if (bind == STB_LOCAL)
				continue; /* only the null symbol, or junk nobody may use */
			const struct kload_export *e = kload_find_export(l->env, name, strlen(name));
			if (e) {
				l->symaddr[i] = (uint64_t)(uintptr_t)e->addr;
			} else if (bind == STB_WEAK) {
				l->symaddr[i] = 0; /* an import the kernel lacks: see check_imports */
			} else {
				return fail(l->err, l->errcap, "undefined symbol `%s` (the kernel "
					    "exports no such function)", name);
			}
			l->symok[i] = 1;
		} else if (y->shndx == SHN_ABS) {
			l->symaddr[i] = y->value;
			l->symok[i] = 1;
		} else if (y->shndx == SHN_COMMON || y->shndx >= SHN_LORESERVE) {
			return fail(l->err, l->errcap, "symbol `%s` in special section %#x", name, y->shndx);
		} else if (y->shndx >= l->nsh) {
			return fail(l->err, l->errcap, "symbol `%s` in section %u of %u", name, y->shndx,
				    l->nsh);
		} else if (l->secs[y->shndx].part != PART_NONE) {
			if (y->value > l->sh[y->shndx].size)
				return fail(l->err, l->errcap, "symbol `%s` is past its section's end",
					    name);
			l->symaddr[i] = (uint64_t)(uintptr_t)l->base + l->secs[y->shndx].off + y->value;
			l->symok[i] = 1;
		}
		(void)type;
	}
	return 0;
}

/* ---- relocations ---- */

static bool is_got_type(uint32_t t)
{
	return t == R_X86_64_GOTPCREL || t == R_X86_64_GOTPCRELX || t == R_X86_64_REX_GOTPCRELX;
}

/* Checks every relocation section and counts the GOT slots; no write yet. */
static int scan_relocs(struct link *l)
{
	for (uint32_t i = 1; i < l->nsh; i++) {
		const struct elf_shdr *s = &l->sh[i];
		if (s->type == SHT_REL)
			return fail(l->err, l->errcap, "rel section `%s` (x86-64 objects use rela)",
				    sec_name(l, i));
		if (s->type != SHT_RELA)
			continue;
		if (s->info >= l->nsh)
			return fail(l->err, l->errcap, "relocation section `%s` targets section %u",
				    sec_name(l, i), s->info);
		if (l->secs[s->info].part == PART_NONE)
			continue; /* relocations of something not loaded (debug info) */
		if (s->link >= l->nsh || l->sh[s->link].type != SHT_SYMTAB)
			return fail(l->err, l->errcap, "relocation section `%s` names no symbol table",
				    sec_name(l, i));
		if (s->entsize != sizeof(struct elf_rela) || s->size % sizeof(struct elf_rela) ||
		    (s->offset & 7))
			return fail(l->err, l->errcap, "bad entries in `%s`", sec_name(l, i));
		const struct elf_rela *r = (const struct elf_rela *)(l->obj + s->offset);
		uint64_t n = s->size / sizeof(*r);
		for (uint64_t k = 0; k < n; k++) {
			uint32_t sym = (uint32_t)(r[k].info >> 32), type = (uint32_t)r[k].info;
			if (sym >= l->nsyms || (type != R_X86_64_NONE && !l->symok[sym]))
				return fail(l->err, l->errcap, "relocation %llu of `%s` uses symbol %u, "
					    "which has no address", (unsigned long long)k,
					    sec_name(l, i), sym);
			if (is_got_type(type) && !l->gotslot[sym])
				l->gotslot[sym] = ++l->ngot;
		}
	}
	return 0;
}

static int put32(struct link *l, uint8_t *p, int64_t v, bool sign, const char *what)
{
	if (sign ? (v < INT32_MIN || v > INT32_MAX) : (v < 0 || v > (int64_t)UINT32_MAX))
		return fail(l->err, l->errcap, "%s relocation out of range (%lld): the image is "
			    "too far from the kernel", what, (long long)v);
	uint32_t u = (uint32_t)v;
	memcpy(p, &u, 4);
	return 0;
}

static int apply_relocs(struct link *l)
{
	uint64_t got = (uint64_t)(uintptr_t)l->base + l->got_off;
	for (uint32_t i = 1; i < l->nsyms; i++)
		if (l->gotslot[i]) {
			uint64_t v = l->symaddr[i];
			memcpy(l->base + l->got_off + (uint64_t)(l->gotslot[i] - 1) * 8, &v, 8);
		}
	for (uint32_t i = 1; i < l->nsh; i++) {
		const struct elf_shdr *s = &l->sh[i];
		if (s->type != SHT_RELA || l->secs[s->info].part == PART_NONE)
			continue;
		const struct elf_shdr *t = &l->sh[s->info];
		const struct elf_rela *r = (const struct elf_rela *)(l->obj + s->offset);
		uint64_t n = s->size / sizeof(*r);
		for (uint64_t k = 0; k < n; k++) {
			uint32_t sym = (uint32_t)(r[k].info >> 32), type = (uint32_t)r[k].info;
			uint64_t width = type == R_X86_64_64 || type == R_X86_64_PC64 ? 8 : 4;
			if (type == R_X86_64_NONE)
				continue;
			if (r[k].offset > t->size || width > t->size - r[k].offset)
				return fail(l->err, l->errcap, "relocation %llu of `%s` at offset %llu is "
					    "outside its section", (unsigned long long)k,
					    sec_name(l, i), (unsigned long long)r[k].offset);
			uint8_t *p = l->base + l->secs[s->info].off + r[k].offset;
			uint64_t P = (uint64_t)(uintptr_t)p, S = l->symaddr[sym];
			int64_t A = r[k].addend;
			uint64_t v;
			int rc = 0;
			switch (type) {
			case R_X86_64_64:
				v = S + (uint64_t)A;
				memcpy(p, &v, 8);
				break;
			case R_X86_64_PC64:
				v = S + (uint64_t)A - P;
				memcpy(p, &v, 8);
				break;
			case R_X86_64_PC32:
			case R_X86_64_PLT32:
				if (S == 0)
					return fail(l->err, l->errcap, "call or reference to a missing "
						    "symbol (relocation %llu of `%s`)",
						    (unsigned long long)k, sec_name(l, i));
				rc = put32(l, p, (int64_t)(S + (uint64_t)A - P), true, "pc32");
				break;
			case R_X86_64_32:
				rc = put32(l, p, (int64_t)(S + (uint64_t)A), false, "32");
				break;
			case R_X86_64_32S:
				rc = put32(l, p, (int64_t)(S + (uint64_t)A), true, "32s");
				break;
			case R_X86_64_GOTPCREL:
			case R_X86_64_GOTPCRELX:
			case R_X86_64_REX_GOTPCRELX:
				rc = put32(l, p, (int64_t)(got + (uint64_t)(l->gotslot[sym] - 1) * 8 +
							   (uint64_t)A - P), true, "gotpcrel");
				break;
			default:
				return fail(l->err, l->errcap, "relocation type %u (in `%s`) is not "
					    "supported", type, sec_name(l, i));
			}
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}

/* ---- the descriptor ---- */

struct dcheck {
	struct link *l;
	uint64_t lo, hi;           /* the image */
	uint64_t code_lo, code_hi; /* its code */
};

/* [p, p + count * size) lies inside the image, aligned for its type (count may be 0:
 * then p may be anything, it is never read). */
static bool d_range(const struct dcheck *d, const void *p, uint64_t count, uint64_t size,
		    uint64_t align)
{
	if (count == 0)
		return true;
	uint64_t a = (uint64_t)(uintptr_t)p, n;
	if ((a & (align - 1)) || __builtin_mul_overflow(count, size, &n))
		return false;
	return a >= d->lo && a <= d->hi && n <= d->hi - a;
}

/* The alignment d_range wants for an array pointer's elements. */
#define ALIGN_OF(p) __alignof__(*(p))

static bool d_code(const struct dcheck *d, const void *p)
{
	uint64_t a = (uint64_t)(uintptr_t)p;
	return a >= d->code_lo && a < d->code_hi;
}

/* A NUL-terminated string inside the image. */
static bool d_str(const struct dcheck *d, const char *s)
{
	uint64_t a = (uint64_t)(uintptr_t)s;
	if (a < d->lo || a >= d->hi)
		return false;
	return memchr(s, 0, d->hi - a) != NULL;
}

/* compiler/abi.h's enc(): "8fd_write", or "X" + length + hex for other bytes. */
static size_t enc(char *out, size_t cap, const char *p, uint32_t n)
{
	bool plain = n > 0;
	for (uint32_t i = 0; i < n && plain; i++) {
		char c = p[i];
		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_';
	}
	int k = snprintf(out, cap, plain ? "%u" : "X%u", n);
	size_t at = k > 0 ? (size_t)k : 0;
	static const char hex[] = "0123456789abcdef";
	for (uint32_t i = 0; i < n && at + 2 < cap; i++) {
		if (plain) {
			out[at++] = p[i];
		} else {
			out[at++] = hex[(uint8_t)p[i] >> 4];
			out[at++] = hex[(uint8_t)p[i] & 15];
		}
	}
	if (at < cap)
		out[at] = 0;
	return at;
}

/* default_code of a function import must be the export its (module, field, type)
 * names: KUMO_SYM_IMPORT_PREFIX enc(module) enc(field) "_" sig. */
static bool d_import_code(const struct dcheck *d, const struct kumo_desc_import *im,
			  const struct kumo_desc_type *t)
{
	char want[512];
	size_t n = (size_t)snprintf(want, sizeof(want), "%s", KUMO_SYM_IMPORT_PREFIX);
	n += enc(want + n, sizeof(want) - n, im->module, im->module_len);
	if (n + 1 >= sizeof(want))
		return false;
	n += enc(want + n, sizeof(want) - n, im->field, im->field_len);
	if (n + 2 + strlen(t->sig) >= sizeof(want))
		return false;
	snprintf(want + n, sizeof(want) - n, "_%s", t->sig);
	const struct kload_export *e = kload_find_export(d->l->env, want, strlen(want));
	return e && e->addr == im->default_code;
}

static int bad_desc(struct link *l, const char *what)
{
	return fail(l->err, l->errcap, "malformed module descriptor: %s", what);
}

static int check_const(const struct dcheck *d, const struct kumo_const_expr *e)
{
	(void)d;
	return e->kind >= KUMO_CONST_I32 && e->kind <= KUMO_CONST_V128 ? 0 : -1;
}

static int check_descriptor(struct link *l, const struct kumo_module *m)
{
	struct dcheck d = {l, (uint64_t)(uintptr_t)l->base,
			   (uint64_t)(uintptr_t)l->base + l->got_off + (uint64_t)l->ngot * 8,
			   (uint64_t)(uintptr_t)l->base, (uint64_t)(uintptr_t)l->base + l->code_len};
	if (m->abi_version != KUMO_ABI_VERSION)
		return fail(l->err, l->errcap, "compiled for runtime abi version %u, this kernel "
			    "runs version %u (recompile it)", m->abi_version, KUMO_ABI_VERSION);
	if (!d_str(&d, m->cpu) || !d_str(&d, m->compiler_id))
		return bad_desc(l, "cpu or compiler id");
	if (l->env->cpu_missing) {
		const char *missing = l->env->cpu_missing(l->env->ctx, m->cpu);
		if (missing)
			return fail(l->err, l->errcap, "compiled for cpu `%s` but this cpu has no "
				    "`%s`", m->cpu, missing);
	}
	if (m->nimported_funcs > m->nfuncs || m->nimported_tables > m->ntables ||
	    m->nimported_memories > m->nmemories || m->nimported_globals > m->nglobals ||
	    m->nmemories > 1)
		return bad_desc(l, "counts");
	/* Each array of the descriptor, aligned for its type. */
	if (!d_range(&d, m->types, m->ntypes, sizeof(*m->types), ALIGN_OF(m->types)) ||
	    !d_range(&d, m->imports, m->nimports, sizeof(*m->imports), ALIGN_OF(m->imports)) ||
	    !d_range(&d, m->funcs, m->nfuncs - m->nimported_funcs, sizeof(*m->funcs),
		     ALIGN_OF(m->funcs)) ||
	    !d_range(&d, m->tables, m->ntables - m->nimported_tables, sizeof(*m->tables),
		     ALIGN_OF(m->tables)) ||
	    !d_range(&d, m->memories, m->nmemories - m->nimported_memories, sizeof(*m->memories),
		     ALIGN_OF(m->memories)) ||
	    !d_range(&d, m->globals, m->nglobals - m->nimported_globals, sizeof(*m->globals),
		     ALIGN_OF(m->globals)) ||
	    !d_range(&d, m->exports, m->nexports, sizeof(*m->exports), ALIGN_OF(m->exports)) ||
	    !d_range(&d, m->elems, m->nelems, sizeof(*m->elems), ALIGN_OF(m->elems)) ||
	    !d_range(&d, m->datas, m->ndatas, sizeof(*m->datas), ALIGN_OF(m->datas)))
		return bad_desc(l, "an array lies outside the image");
	for (uint32_t i = 0; i < m->ntypes; i++) {
		const struct kumo_desc_type *t = &m->types[i];
		if (!d_range(&d, t->types, (uint64_t)t->nparams + t->nresults, 1, 1) ||
		    !d_code(&d, (const void *)t->array_call) || !d_str(&d, t->sig))
			return bad_desc(l, "type");
	}
	uint32_t nf = 0, nt = 0, nm = 0, ng = 0;
	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct kumo_desc_import *im = &m->imports[i];
		if (!d_range(&d, im->module, im->module_len, 1, 1) ||
		    !d_range(&d, im->field, im->field_len, 1, 1))
			return bad_desc(l, "import name");
		switch (im->kind) {
		case KUMO_EXTERN_FUNC:
			nf++;
			if (im->type >= m->ntypes)
				return bad_desc(l, "import type");
			if (im->default_code && !d_import_code(&d, im, &m->types[im->type]))
				return bad_desc(l, "import code is not the kernel function it names");
			break;
		case KUMO_EXTERN_TABLE: nt++; break;
		case KUMO_EXTERN_MEMORY: nm++; break;
		case KUMO_EXTERN_GLOBAL: ng++; break;
		default:
			return bad_desc(l, "import kind");
		}
	}
	if (nf != m->nimported_funcs || nt != m->nimported_tables || nm != m->nimported_memories ||
	    ng != m->nimported_globals)
		return bad_desc(l, "import counts");
	for (uint32_t i = 0; i < m->nfuncs - m->nimported_funcs; i++)
		if (!d_code(&d, m->funcs[i].code) || m->funcs[i].type >= m->ntypes)
			return bad_desc(l, "function");
	if (m->start_func != KUMO_NO_START && m->start_func >= m->nfuncs)
		return bad_desc(l, "start function");
	for (uint32_t i = 0; i < m->nglobals - m->nimported_globals; i++)
		if (check_const(&d, &m->globals[i].init) < 0)
			return bad_desc(l, "global initialiser");
	for (uint32_t i = 0; i < m->nexports; i++)
		if (!d_range(&d, m->exports[i].name, m->exports[i].name_len, 1, 1))
			return bad_desc(l, "export name");
	for (uint32_t i = 0; i < m->nelems; i++) {
		const struct kumo_desc_elem *e = &m->elems[i];
		if (!d_range(&d, e->items, e->count, sizeof(*e->items), ALIGN_OF(e->items)))
			return bad_desc(l, "element segment");
		for (uint32_t k = 0; k < e->count; k++)
			if (check_const(&d, &e->items[k]) < 0)
				return bad_desc(l, "element item");
		if (e->mode == KUMO_SEG_ACTIVE && check_const(&d, &e->offset) < 0)
			return bad_desc(l, "element offset");
	}
	for (uint32_t i = 0; i < m->ndatas; i++) {
		const struct kumo_desc_data *s = &m->datas[i];
		if (!d_range(&d, s->bytes, s->len, 1, 1))
			return bad_desc(l, "data segment");
		if (s->mode == KUMO_SEG_ACTIVE && check_const(&d, &s->offset) < 0)
			return bad_desc(l, "data offset");
	}
	return 0;
}

/* Every import must be a function the kernel has (builder/image.c words it the same). */
static int check_imports(struct link *l, const struct kumo_module *m)
{
	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct kumo_desc_import *im = &m->imports[i];
		if (im->kind == KUMO_EXTERN_FUNC && im->default_code)
			continue;
		if (l->errcap) {
			/* Names come from the object: printable bytes only. */
			char name[160];
			size_t n = 0;
			for (uint32_t k = 0; k < im->module_len + 1 + im->field_len && n + 1 < sizeof(name); k++) {
				char c = k < im->module_len ? im->module[k]
					 : k == im->module_len ? '.' : im->field[k - im->module_len - 1];
				name[n++] = c >= 0x20 && c < 0x7f && c != '`' ? c : '?';
			}
			name[n] = 0;
			snprintf(l->err, l->errcap, "unsupported import `%s`%s", name,
				 im->kind == KUMO_EXTERN_FUNC ? "" : " (only WASI functions can be imported)");
		}
		return -1;
	}
	return 0;
}

static const struct kumo_module *find_module(struct link *l)
{
	for (uint32_t i = 1; i < l->nsyms; i++) {
		const struct elf_sym *y = &l->syms[i];
		const char *name = str_at(l->strtab, l->strtab_len, y->name);
		if (!name || strcmp(name, KUMO_SYM_MODULE) != 0 || (y->info >> 4) != STB_GLOBAL)
			continue;
		if (y->shndx == SHN_UNDEF || y->shndx >= l->nsh || l->secs[y->shndx].part != PART_RO) {
			fail(l->err, l->errcap, "`%s` is not read-only data", KUMO_SYM_MODULE);
			return NULL;
		}
		if (y->value > l->sh[y->shndx].size ||
		    sizeof(struct kumo_module) > l->sh[y->shndx].size - y->value ||
		    ((l->secs[y->shndx].off + y->value) & 7)) {
			fail(l->err, l->errcap, "`%s` does not fit its section", KUMO_SYM_MODULE);
			return NULL;
		}
		return (const struct kumo_module *)(l->base + l->secs[y->shndx].off + y->value);
	}
	fail(l->err, l->errcap, "no `%s` descriptor: not an object from kumo's compiler",
	     KUMO_SYM_MODULE);
	return NULL;
}

/* ---- the whole ---- */

int kload_link(const uint8_t *obj, size_t len, const struct kload_env *env,
	       struct kload_image **out, char *err, size_t errcap)
{
	struct link l = {.obj = obj, .len = len, .env = env, .err = err, .errcap = errcap};
	struct kload_image *img = NULL;
	int rc = -1;
	if (errcap)
		err[0] = 0;
	if ((uintptr_t)obj & 7)
		return fail(err, errcap, "buffer is not 8-byte aligned");
	if (read_headers(&l) < 0 || layout(&l) < 0 || read_symtab(&l) < 0)
		goto out;
	/* Symbols need the base; the GOT size needs the symbols' relocations: lay out with
	 * a provisional base of 0, then resolve again once mapped. */
	if (resolve_symbols(&l) < 0 || scan_relocs(&l) < 0)
		goto out;
	l.got_off = align_up(l.ro_off + l.ro_len, 8);
	l.image_len = align_up(l.got_off + (uint64_t)l.ngot * 8, PAGE);
	if (l.image_len == 0 || l.image_len > MAX_IMAGE || l.code_len == 0) {
		fail(err, errcap, "%s", l.code_len ? "image too large" : "no code");
		goto out;
	}
	l.base = env->map(env->ctx, l.image_len);
	if (!l.base) {
		fail(err, errcap, "no memory for a %llu-byte image", (unsigned long long)l.image_len);
		goto out;
	}
	for (uint32_t i = 1; i < l.nsh; i++)
		if (l.secs[i].part != PART_NONE)
			memcpy(l.base + l.secs[i].off, obj + l.sh[i].offset, l.sh[i].size);
	if (resolve_symbols(&l) < 0 || apply_relocs(&l) < 0)
		goto out_unmap;
	const struct kumo_module *m = find_module(&l);
	if (!m || check_descriptor(&l, m) < 0 || check_imports(&l, m) < 0)
		goto out_unmap;
	if (env->protect(env->ctx, l.base, l.ro_off, 1) < 0 ||
	    (l.image_len > l.ro_off &&
	     env->protect(env->ctx, l.base + l.ro_off, l.image_len - l.ro_off, 0) < 0)) {
		fail(err, errcap, "cannot protect the image");
		goto out_unmap;
	}
	img = calloc(1, sizeof(*img));
	if (!img) {
		fail(err, errcap, "out of memory");
		goto out_unmap;
	}
	*img = (struct kload_image){.base = l.base, .len = l.image_len, .code = l.base,
				    .code_len = l.code_len, .module = m, .object_bytes = len};
	*out = img;
	rc = 0;
	goto out;
out_unmap:
	env->unmap(env->ctx, l.base, l.image_len);
out:
	free(l.secs);
	free(l.symaddr);
	free(l.symok);
	free(l.gotslot);
	return rc;
}

void kload_free(const struct kload_env *env, struct kload_image *img)
{
	if (!img)
		return;
	env->unmap(env->ctx, img->base, img->len);
	free(img);
}
