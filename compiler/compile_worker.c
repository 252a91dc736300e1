/* compiler/compile_worker.c - kumo-compile, the compile worker of programs that do not
 * link LLVM (kumo, kumod; compiler/codegen.h). The work happens in budget.c's
 * constructor, before main(), when the caller starts it as a worker; run any other way
 * it says what it is. */
#include <stdio.h>
#include <string.h>

#include "compiler/compiler.h"

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("%s\n", kumo_compiler_id());
		return 0;
	}
	fprintf(stderr, "kumo-compile: kumo's compile worker, started by kumo and kumod for each "
			"compile (`kumo compile` compiles a module); --version prints the compiler "
			"id\n");
	return 2;
}
