/* tests/apps/app_args.c - guest test app: argc/argv as the runner passed them (args_sizes_get, args_get). */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("argc=%d\n", argc);
	/* argv[0] is runner-specific (a path or the module name), so it is not printed. */
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=<%s>\n", i, argv[i]);
	return 0;
}
