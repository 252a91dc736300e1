/* kernel/os/kfile.h - the unikernel's open file (struct kumo_plat_file of
 * kernel/rt/rt_platform.h): one type for the console, in-memory files and directories
 * (ramfs.c), sockets (plat_net.c) and files of host shares (p9fs.c). ramfs.c holds the
 * platform's file calls and passes each kind to the code that owns it. */
#ifndef KUMO_KFILE_H
#define KUMO_KFILE_H

#include <stdbool.h>
#include <stdint.h>

enum { PF_CONSOLE = 1, PF_NODE = 2, PF_SOCKET = 3, PF_9P = 4 };

struct rnode;
struct ksock;
struct p9node;
struct kpipe;

struct kumo_plat_file {
	int kind;            /* PF_CONSOLE, PF_NODE, PF_SOCKET or PF_9P */
	struct ksock *sock;  /* PF_SOCKET (plat_net.c) */
	int stdio_n;         /* console: 0 stdin (empty unless pipe), 1 stdout, 2 stderr */
	struct kpipe *pipe;  /* console stdin of a pod container created with "stdin": the
			      * bytes the host sends (kernel/os/pod_stdin.c); NULL: empty */
	uint32_t cid;        /* console of a pod container: its output goes out as records
			      * (kernel/os/podrec.c) of this cid; 0: the raw ports */
	struct rnode *node;  /* PF_NODE */
	struct p9node *p9;   /* PF_9P (p9fs.c) */
	uint64_t pos;        /* file offset */
	uint32_t fdflags;    /* WASI_FDFLAG_* */
	bool read, write;    /* access mode */
};

#endif /* KUMO_KFILE_H */
