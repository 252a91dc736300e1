/* compiler/target.c - the x86-64 target machine, the optimisation pipeline (new pass
 * manager) and ELF object emission. */
#include <pthread.h>
#include <string.h>

#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "compiler/emit.h"

#define KUMO_TRIPLE "x86_64-unknown-linux-gnu"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_llvm(void)
{
	LLVMInitializeX86TargetInfo();
	LLVMInitializeX86Target();
	LLVMInitializeX86TargetMC();
	LLVMInitializeX86AsmPrinter();
}

int target_machine_create(const char *cpu, int opt_level, LLVMTargetMachineRef *out,
			  kumo_error_t *err)
{
	pthread_once(&init_once, init_llvm);
	LLVMTargetRef target;
	char *msg = NULL;
	if (LLVMGetTargetFromTriple(KUMO_TRIPLE, &target, &msg)) {
		kumo_error(err, KUMO_E_INTERNAL, "llvm target `%s`: %s", KUMO_TRIPLE, msg ? msg : "");
		LLVMDisposeMessage(msg);
		return -1;
	}
	LLVMCodeGenOptLevel lvl = opt_level <= 0   ? LLVMCodeGenLevelNone
				  : opt_level == 1 ? LLVMCodeGenLevelLess
				  : opt_level == 2 ? LLVMCodeGenLevelDefault
						   : LLVMCodeGenLevelAggressive;
	LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, KUMO_TRIPLE, cpu, "", lvl,
							  LLVMRelocPIC, LLVMCodeModelSmall);
	if (!tm)
		return kumo_error(err, KUMO_E_INTERNAL, "llvm target machine for cpu `%s`", cpu);
	*out = tm;
	return 0;
}

int target_optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, kumo_error_t *err)
{
	char passes[32];
	snprintf(passes, sizeof(passes), "default<O%d>", opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level);
	LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
	LLVMPassBuilderOptionsSetLoopVectorization(po, opt_level >= 2);
	LLVMPassBuilderOptionsSetSLPVectorization(po, opt_level >= 2);
	LLVMPassBuilderOptionsSetLoopUnrolling(po, opt_level >= 2);
	LLVMPassBuilderOptionsSetLoopInterleaving(po, opt_level >= 2);
	LLVMErrorRef e = LLVMRunPasses(mod, opt_level <= 0 ? "mem2reg" : passes, tm, po);
	LLVMDisposePassBuilderOptions(po);
	if (e) {
		char *msg = LLVMGetErrorMessage(e);
		kumo_error(err, KUMO_E_INTERNAL, "llvm passes: %s", msg);
		LLVMDisposeErrorMessage(msg);
		return -1;
	}
	return 0;
}

int target_emit_object(LLVMModuleRef mod, LLVMTargetMachineRef tm, uint8_t **out, size_t *len,
		       kumo_error_t *err)
{
	LLVMMemoryBufferRef buf = NULL;
	char *msg = NULL;
	if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &buf)) {
		kumo_error(err, KUMO_E_INTERNAL, "llvm object emission: %s", msg ? msg : "");
		LLVMDisposeMessage(msg);
		return -1;
	}
	*len = LLVMGetBufferSize(buf);
	*out = xmalloc(*len ? *len : 1);
	memcpy(*out, LLVMGetBufferStart(buf), *len);
	LLVMDisposeMemoryBuffer(buf);
	return 0;
}
