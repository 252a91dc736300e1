/* tests/fuzz/fuzz_util.h - helpers shared by fuzz targets that need a scratch directory:
 * a fresh one per input (on tmpfs when /dev/shm exists, so fsyncs cost nothing) and its
 * removal without following symlinks. Header-only: each target is one program. */
#ifndef KUMO_FUZZ_UTIL_H
#define KUMO_FUZZ_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* A new empty directory "<tmpfs or $TMPDIR>/kumo-fuzz-<what>-XXXXXX" (malloc'd). */
static inline char *fz_mkdtemp(const char *what)
{
	struct stat st;
	const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm"
			   : getenv("TMPDIR")                                 ? getenv("TMPDIR")
									      : "/tmp";
	char *t = xasprintf("%s/kumo-fuzz-%s-XXXXXX", base, what);
	if (!mkdtemp(t)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	return t;
}

static inline int fz_rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	/* Directories left without permissions by an input are made removable first. */
	if (type == FTW_DP)
		return rmdir(p) < 0 && chmod(p, 0700) == 0 ? rmdir(p) : 0;
	return unlink(p);
}

/* rm -rf that never follows a symlink out of the tree. */
static inline void fz_rm_rf(const char *dir)
{
	nftw(dir, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

#endif /* KUMO_FUZZ_UTIL_H */
