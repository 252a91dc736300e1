/* tests/fuzz/fuzz_snapshot.c - fuzz target for the snapshot archive reader (vmm/archive.c):
 * the bytes as an archive file opened into a work directory against fixed node builds.
 * One that opens must have its records NUL-terminated and its snapshot directory there;
 * one that is refused must say why and leave nothing unpacked. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_dir(void)
{
	kumo_rm_tree(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/kumo-fuzz-snapshot-%d", (int)getpid());
		mkdir(dir, 0700);
		atexit(remove_dir);
	}
	char path[128], work[128], state[160];
	snprintf(path, sizeof(path), "%s/in.kumo", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || kumo_write_all(fd, data, size) < 0)
		abort();
	close(fd);
	const struct vmm_archive_ids here = {"sha256:kernel", "compiler", NULL};
	struct vmm_archive *a = NULL;
	kumo_error_t err = NULL;
	if (vmm_archive_open(path, work, &here, &a, &err) == 0) {
		struct stat st;
		if (stat(a->snap_dir, &st) < 0 || !S_ISDIR(st.st_mode))
			abort();
		for (size_t i = 0; i < a->nrecords; i++)
			if (((const char *)a->records[i].data)[a->records[i].len] != 0 ||
			    strchr(a->records[i].name, '/'))
				abort();
		vmm_archive_free(a);
	} else {
		snprintf(state, sizeof(state), "%s/vm", work);
		if (!err || !kumo_error_msg(err)[0] || access(state, F_OK) == 0)
			abort(); /* refused silently, or something unpacked left behind */
	}
	kumo_error_free(&err);
	kumo_rm_tree(work);
	return 0;
}

#ifndef KUMO_LIBFUZZER
#include "tests/fuzz/fuzz_replay_main.h"
#endif
