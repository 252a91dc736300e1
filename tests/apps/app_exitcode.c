/* tests/apps/app_exitcode.c - guest test app: exits with the code given as argv[1] (proc_exit). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: exitcode CODE [exit|return]\n");
		return 2;
	}
	int code = atoi(argv[1]);
	printf("exiting with %d\n", code);
	fflush(stdout);
	if (argc > 2 && argv[2][0] == 'r')
		return code; /* through main's return, crt1 calls proc_exit */
	exit(code);
}
