/* builder/build_ids.c - the compiler build id, as builder's callers see it. */
#include "builder/builder.h"
#include "compiler/compiler.h"

const char *builder_compiler_id(void)
{
	return kumo_compiler_id();
}
