/* compiler/compile.c - the compile driver (options, then the compile budget's worker or
 * the code generator, codegen.h), the compiler's id and symbol naming; no LLVM. */
#include <string.h>

#include "compiler/abi.h"
#include "compiler/budget.h"
#include "compiler/codegen.h"

/* A hash of compiler/'s sources (compiler.mk), so build caches keyed on the id are
 * invalidated exactly when the compiler changes. */
#ifndef KUMO_COMPILER_SRC_ID
#define KUMO_COMPILER_SRC_ID "dev"
#endif

const char *kumo_compiler_id(void)
{
#define KUMO_STR2(x) #x
#define KUMO_STR(x) KUMO_STR2(x)
	return "kumo-compiler/0.1 abi" KUMO_STR(KUMO_ABI_VERSION) " llvm19 src-" KUMO_COMPILER_SRC_ID;
#undef KUMO_STR
#undef KUMO_STR2
}

/* ---- symbol naming (abi.h) ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sbuf *s, const char *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->p = xrealloc(s->p, s->cap);
	}
	memcpy(s->p + s->len, p, n);
	s->len += n;
	s->p[s->len] = '\0';
}

static void sb_puts(struct sbuf *s, const char *p)
{
	sb_put(s, p, strlen(p));
}

static void sb_enc(struct sbuf *s, const char *p, size_t n)
{
	bool plain = n > 0;
	for (size_t i = 0; i < n && plain; i++) {
		char c = p[i];
		plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_';
	}
	char num[24];
	snprintf(num, sizeof(num), plain ? "%zu" : "X%zu", n);
	sb_puts(s, num);
	if (plain) {
		sb_put(s, p, n);
		return;
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		char h[2] = {hex[(uint8_t)p[i] >> 4], hex[(uint8_t)p[i] & 15]};
		sb_put(s, h, 2);
	}
}

char *kumo_import_symbol(const char *module, size_t module_len, const char *field,
			 size_t field_len, const char *sig)
{
	struct sbuf s = {0};
	sb_puts(&s, KUMO_SYM_IMPORT_PREFIX);
	sb_enc(&s, module, module_len);
	sb_enc(&s, field, field_len);
	sb_puts(&s, "_");
	sb_puts(&s, sig);
	return s.p;
}

static char sig_letter(wasm_valtype t)
{
	switch (t) {
	case KUMO_T_I32: return KUMO_SIG_I32;
	case KUMO_T_I64: return KUMO_SIG_I64;
	case KUMO_T_F32: return KUMO_SIG_F32;
	case KUMO_T_F64: return KUMO_SIG_F64;
	case KUMO_T_FUNCREF: return KUMO_SIG_FUNCREF;
	case KUMO_T_V128: return KUMO_SIG_V128;
	default: return KUMO_SIG_EXTERNREF;
	}
}

char *emit_sig(const struct wasm_functype *ft)
{
	char *s = xmalloc((size_t)ft->nparams + ft->nresults + 2);
	size_t k = 0;
	for (uint32_t i = 0; i < ft->nparams; i++)
		s[k++] = sig_letter(ft->params[i]);
	s[k++] = '_';
	for (uint32_t i = 0; i < ft->nresults; i++)
		s[k++] = sig_letter(ft->results[i]);
	s[k] = '\0';
	return s;
}

char *emit_export_symbol(const char *name, size_t len)
{
	struct sbuf s = {0};
	sb_puts(&s, KUMO_SYM_EXPORT_PREFIX);
	sb_enc(&s, name, len);
	return s.p;
}

void kumo_compile_info_free(struct kumo_compile_info *info)
{
	if (!info)
		return;
	for (size_t i = 0; i < info->nimports; i++) {
		free(info->imports[i].module);
		free(info->imports[i].field);
		free(info->imports[i].symbol);
	}
	free(info->imports);
	memset(info, 0, sizeof(*info));
}

/* ---- the driver ---- */

int compile_cpu_known(const char *cpu)
{
	/* x86-64 micro-architecture levels and the common names ("native": this host's,
	 * resolved by the code generator). */
	static const char *const known[] = {
		"x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "generic", "native",
		"nehalem", "westmere", "sandybridge", "ivybridge", "haswell", "broadwell",
		"skylake", "skylake-avx512", "cascadelake", "icelake-server", "icelake-client",
		"sapphirerapids", "alderlake", "znver1", "znver2", "znver3", "znver4",
		"btver2", "goldmont", "tremont", "cooperlake", "tigerlake", "rocketlake",
		"emeraldrapids", "graniterapids", "meteorlake", "raptorlake", "znver5",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(cpu, known[i]) == 0)
			return 1;
	return 0;
}

int kumo_compile_file(const uint8_t *wasm, size_t len, const struct kumo_compile_options *opts,
		      const char *out_path, struct kumo_compile_info *info, kumo_error_t *err)
{
	const char *cpu = opts && opts->cpu ? opts->cpu : KUMO_DEFAULT_CPU;
	int opt_level = opts ? opts->opt_level : 2;
	if (info)
		memset(info, 0, sizeof(*info));
	if (!compile_cpu_known(cpu))
		return kumo_error(err, KUMO_E_INVALID, "unknown cpu `%s`", cpu);
	if (opt_level < 0 || opt_level > 3)
		return kumo_error(err, KUMO_E_INVALID, "optimisation level %d is not 0..3", opt_level);
	const struct kumo_compile_limits *lim = kumo_compile_limits();
	if (!budget_in_worker && (lim->compile_cpu_seconds || lim->compile_cpu_seconds_per_mib ||
				  lim->compile_memory_mb || lim->compile_memory_mb_per_mib))
		return budget_compile(wasm, len, opts, out_path, info, err);
	return codegen_compile(wasm, len, opts, out_path, info, err);
}
