/* compiler/codegen.c - the code generator in this process (codegen.h): lower every
 * function to LLVM IR, emit the descriptor, optimise and write the object. */
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>

#include "compiler/emit.h"
#include "compiler/frontend.h"

/* The compile worker of a program that generates code itself is that program. */
const char *codegen_worker_program(kumo_error_t *err)
{
	(void)err;
	return "/proc/self/exe";
}

/* ---- the module-level lowering state ---- */

static LLVMValueRef md_node(LLVMContextRef ctx, LLVMMetadataRef *ops, size_t n)
{
	return LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, ops, n));
}

static void em_init(struct emit_module *em, const struct wasm_module *m,
		    const struct kumo_compile_options *opts, LLVMTargetMachineRef tm)
{
	LLVMContextRef ctx = em->ctx = LLVMContextCreate();
	em->m = m;
	em->opts = opts;
	em->bounds_checks = opts && opts->bounds_checks;
	em->mod = LLVMModuleCreateWithNameInContext("wasm", ctx);
	char *triple = LLVMGetTargetMachineTriple(tm);
	LLVMSetTarget(em->mod, triple);
	LLVMDisposeMessage(triple);
	LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
	char *dl = LLVMCopyStringRepOfTargetData(td);
	LLVMSetDataLayout(em->mod, dl);
	LLVMDisposeMessage(dl);
	LLVMDisposeTargetData(td);
	em->b = LLVMCreateBuilderInContext(ctx);
	em->eb = LLVMCreateBuilderInContext(ctx);

	em->t_void = LLVMVoidTypeInContext(ctx);
	em->t_i1 = LLVMInt1TypeInContext(ctx);
	em->t_i8 = LLVMInt8TypeInContext(ctx);
	em->t_i16 = LLVMInt16TypeInContext(ctx);
	em->t_i32 = LLVMInt32TypeInContext(ctx);
	em->t_i64 = LLVMInt64TypeInContext(ctx);
	em->t_f32 = LLVMFloatTypeInContext(ctx);
	em->t_f64 = LLVMDoubleTypeInContext(ctx);
	em->t_ptr = LLVMPointerTypeInContext(ctx, 0);
	em->t_v128 = LLVMVectorType(em->t_i64, 2);

	em->md_invariant = LLVMGetMDKindIDInContext(ctx, "invariant.load", 14);
	em->md_tbaa = LLVMGetMDKindIDInContext(ctx, "tbaa", 4);
	em->md_prof = LLVMGetMDKindIDInContext(ctx, "prof", 4);
	em->md_empty = md_node(ctx, NULL, 0);

	/* TBAA: a root and one scalar type per class; access tags (base, access, 0). */
	LLVMMetadataRef root_name = LLVMMDStringInContext2(ctx, "kumo tbaa", 9);
	LLVMMetadataRef root = LLVMMDNodeInContext2(ctx, &root_name, 1);
	static const char *const cls[TBAA_COUNT] = {"wasm memory", "wasm global", "kumo runtime",
						    "wasm table"};
	LLVMMetadataRef zero = LLVMValueAsMetadata(LLVMConstInt(em->t_i64, 0, 0));
	for (int i = 0; i < TBAA_COUNT; i++) {
		LLVMMetadataRef ops[3] = {LLVMMDStringInContext2(ctx, cls[i], strlen(cls[i])), root,
					  zero};
		LLVMMetadataRef type = LLVMMDNodeInContext2(ctx, ops, 3);
		LLVMMetadataRef tag[3] = {type, type, zero};
		em->tbaa_tags[i] = md_node(ctx, tag, 3);
	}
	LLVMMetadataRef w[3] = {LLVMMDStringInContext2(ctx, "branch_weights", 14),
				LLVMValueAsMetadata(LLVMConstInt(em->t_i32, 1, 0)),
				LLVMValueAsMetadata(LLVMConstInt(em->t_i32, 2000, 0))};
	em->md_unlikely = md_node(ctx, w, 3);

	em->attr_noredzone = LLVMCreateEnumAttribute(
		ctx, LLVMGetEnumAttributeKindForName("noredzone", 9), 0);
	em->attr_nounwind = LLVMCreateEnumAttribute(
		ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0);

	/* The x86-64-vN names fix an ISA level, not a micro-architecture; LLVM would tune
	 * them for Sandy Bridge (e.g. rotates as SHLD, slow on current AMD and Intel cores).
	 * Tune for a current generic core instead. */
	const char *cpu = opts && opts->cpu ? opts->cpu : KUMO_DEFAULT_CPU;
	if (strncmp(cpu, "x86-64", 6) == 0)
		em->attr_tune = LLVMCreateStringAttribute(ctx, "tune-cpu", 8, "generic", 7);
	/* Every CPU name compile.c accepts has SSSE3 except the two SSE2-only baselines. */
	em->has_ssse3 = strcmp(cpu, "x86-64") != 0 && strcmp(cpu, "generic") != 0;

	em->fn_types = xmalloc((m->ntypes + 1) * sizeof(LLVMTypeRef));
	for (uint32_t i = 0; i < m->ntypes; i++)
		em->fn_types[i] = emit_fn_type(em, &m->types[i]);
	em->funcs = xzalloc((m->nfuncs + 1) * sizeof(LLVMValueRef));
}

static void em_free(struct emit_module *em)
{
	if (em->b)
		LLVMDisposeBuilder(em->b);
	if (em->eb)
		LLVMDisposeBuilder(em->eb);
	if (em->mod)
		LLVMDisposeModule(em->mod);
	if (em->ctx)
		LLVMContextDispose(em->ctx);
	free(em->fn_types);
	free(em->funcs);
}

static void declare_functions(struct emit_module *em)
{
	const struct wasm_module *m = em->m;
	unsigned k_nonnull = LLVMGetEnumAttributeKindForName("nonnull", 7);
	unsigned k_deref = LLVMGetEnumAttributeKindForName("dereferenceable", 15);
	unsigned k_align = LLVMGetEnumAttributeKindForName("align", 5);
	for (uint32_t i = m->nimported_funcs; i < m->nfuncs; i++) {
		char name[32];
		snprintf(name, sizeof(name), "kumo_f%u", i);
		LLVMValueRef fn = LLVMAddFunction(em->mod, name, em->fn_types[m->funcs[i].type_idx]);
		LLVMSetLinkage(fn, LLVMInternalLinkage);
		emit_fn_attrs(em, fn);
		LLVMAddAttributeAtIndex(fn, 1, LLVMCreateEnumAttribute(em->ctx, k_nonnull, 0));
		LLVMAddAttributeAtIndex(fn, 1, LLVMCreateEnumAttribute(em->ctx, k_deref,
									 sizeof(struct kumo_vmctx)));
		LLVMAddAttributeAtIndex(fn, 1, LLVMCreateEnumAttribute(em->ctx, k_align, 8));
		em->funcs[i] = fn;
	}
}

int codegen_compile(const uint8_t *wasm, size_t len, const struct kumo_compile_options *opts,
		    const char *out_path, struct kumo_compile_info *info, kumo_error_t *err)
{
	uint64_t t0 = kumo_now_ns();
	struct wasm_module m;
	struct emit_module em;
	LLVMTargetMachineRef tm = NULL;
	uint8_t *obj = NULL;
	size_t obj_len = 0;
	int ret = -1;
	const char *cpu = opts && opts->cpu ? opts->cpu : KUMO_DEFAULT_CPU;
	int opt_level = opts ? opts->opt_level : 2;

	memset(&m, 0, sizeof(m));
	memset(&em, 0, sizeof(em));
	if (info)
		memset(info, 0, sizeof(*info));
	/* "native" means this host's CPU; the object records the resolved name. */
	struct kumo_compile_options resolved = {.opt_level = opt_level,
						.bounds_checks = opts && opts->bounds_checks};
	char *host_cpu = NULL;
	if (strcmp(cpu, "native") == 0) {
		host_cpu = LLVMGetHostCPUName();
		cpu = host_cpu;
	}
	resolved.cpu = cpu;
	opts = &resolved;
	if (opt_level < 0 || opt_level > 3) {
		kumo_error(err, KUMO_E_INVALID, "optimisation level %d is not 0..3", opt_level);
		LLVMDisposeMessage(host_cpu);
		return -1;
	}

	if (wasm_load(wasm, len, &m, err) < 0) {
		LLVMDisposeMessage(host_cpu);
		return -1; /* wasm_load freed the module */
	}
	if (target_machine_create(cpu, opt_level, &tm, err) < 0)
		goto out;
	{
		LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
		int r = descriptor_check_layout(td, err);
		LLVMDisposeTargetData(td);
		if (r < 0)
			goto out;
	}

	em_init(&em, &m, opts, tm);
	declare_functions(&em);
	for (uint32_t i = m.nimported_funcs; i < m.nfuncs; i++) {
		struct wasm_arena arena = {0};
		int r = emit_function(&em, i, &arena, err);
		arena_free(&arena);
		if (r < 0)
			goto out;
	}
	if (emit_descriptor(&em, err) < 0)
		goto out;

	char *msg = NULL;
	if (LLVMVerifyModule(em.mod, LLVMReturnStatusAction, &msg)) {
		kumo_error(err, KUMO_E_INTERNAL, "generated ir is broken (a compiler bug): %.400s",
			   msg ? msg : "");
		LLVMDisposeMessage(msg);
		goto out;
	}
	LLVMDisposeMessage(msg);
	if (getenv("KUMO_DUMP_IR"))
		LLVMPrintModuleToFile(em.mod, getenv("KUMO_DUMP_IR"), NULL);
	if (target_optimize(em.mod, tm, opt_level, err) < 0)
		goto out;
	if (getenv("KUMO_DUMP_OPT_IR"))
		LLVMPrintModuleToFile(em.mod, getenv("KUMO_DUMP_OPT_IR"), NULL);
	if (target_emit_object(em.mod, tm, &obj, &obj_len, err) < 0)
		goto out;
	if (kumo_write_file_atomic(out_path, obj, obj_len, 0644, err) < 0) {
		kumo_error_wrap(err, "write object `%s`", out_path);
		goto out;
	}
	if (info) {
		compile_info_fill_imports(&m, info);
		info->object_bytes = obj_len;
		info->compile_ns = kumo_now_ns() - t0;
	}
	ret = 0;
out:
	free(obj);
	em_free(&em);
	if (tm)
		LLVMDisposeTargetMachine(tm);
	wasm_module_free(&m);
	LLVMDisposeMessage(host_cpu);
	return ret;
}
