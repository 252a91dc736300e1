// tests/linux/pause.c - the sandbox (`pause`) process of the test images: holds a pod's
// namespaces open, reaps children it inherits as PID 1, exits 0 on SIGTERM or SIGINT.
// Built static with gcc (tests/linux/linux.mk) so the image needs nothing else.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		puts("kumo test pause 1");
		return 0;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	// Blocked signals stay pending for sigwaitinfo: no handler runs, none is lost.
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		fprintf(stderr, "pause: block signals: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "pause: wait for a signal: %s\n", strerror(errno));
			return 1;
		}
		if (sig == SIGCHLD) {
			// One SIGCHLD may stand for several exits: reap all that are ready.
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		fprintf(stderr, "pause: got signal %d, exiting\n", sig);
		return 0;
	}
}
