/* kernel/hosted/hostrun.c - `kumo-hostrun`: the hosted runner alone, for modules
 * compiled beforehand (.o or .so): no compiler, no LLVM to load, so it starts in about
 * the time of a native process (benchmarks compare against it). */
#include "kernel/hosted/embed.h"

int main(int argc, char **argv)
{
	return kumo_hosted_run_main("kumo-hostrun", argc, argv, NULL, NULL);
}
