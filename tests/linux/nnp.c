// tests/linux/nnp.c - the no-new-privileges probe of the test images: installed setuid
// root, it prints the effective uid it got, which is 0 unless the container was started
// with no_new_privs (critest's NoNewPrivs tests read this line from the log).
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("Effective uid: %d\n", (int)geteuid());
	return 0;
}
