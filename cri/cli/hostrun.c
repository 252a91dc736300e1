/* cri/cli/hostrun.c - `kumo-hostrun`: `kumo run --host` alone, for modules compiled
 * beforehand (.o or .so): no compiler, no LLVM to load, so it starts in about the time
 * of a native process (benchmarks compare against it). */
#include "cri/cli/cli_run.h"

int main(int argc, char **argv)
{
	return kumo_run_main("kumo-hostrun", argc, argv, NULL, NULL);
}
