/* vmm/ipam.c - pod address allocation persisted on disk: one file per address claimed
 * with link() (atomic, never two owners), a lock file serialising scans, a hint so a
 * freed address is not handed out again at once. Survives restarts and crashes. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "vmm_backend.h"

/* Parses "a.b.c.d/p" (8 <= p <= 30) into host-order network and prefix. */
int vmm_parse_cidr(const char *cidr, uint32_t *net, unsigned *prefix, kumo_error_t *err)
{
	char addr[32];
	const char *slash = strchr(cidr, '/');
	if (!slash || (size_t)(slash - cidr) >= sizeof(addr))
		return kumo_error(err, KUMO_E_INVALID, "pod cidr `%s` is not a.b.c.d/prefix", cidr);
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = 0;
	struct in_addr in;
	char *end;
	long p = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &in) != 1 || *end || end == slash + 1)
		return kumo_error(err, KUMO_E_INVALID, "pod cidr `%s` is not a.b.c.d/prefix", cidr);
	if (p < 8 || p > 30)
		return kumo_error(err, KUMO_E_INVALID, "pod cidr `%s`: prefix must be 8 to 30", cidr);
	uint32_t mask = 0xffffffffu << (32 - p);
	*net = ntohl(in.s_addr) & mask;
	*prefix = (unsigned)p;
	return 0;
}

void vmm_ip_str(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static int lock_dir(const char *dir, kumo_error_t *err)
{
	autofree char *ips = xasprintf("%s/ips", dir);
	if (kumo_mkdir_p(ips, 0700, err) < 0)
		return -1;
	autofree char *lp = xasprintf("%s/lock", dir);
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return kumo_error_errno(err, errno, "open `%s`", lp);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return kumo_error_errno(err, errno, "lock `%s`", lp);
		}
	}
	return fd;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The owner written in an address file ("" when unreadable). */
static void read_owner(const char *path, char *out, size_t cap)
{
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, cap - 1);
	close(fd);
	out[n > 0 ? n : 0] = 0;
	out[strcspn(out, "\n")] = 0;
}

/* Finds owner's address under dir/ips; true when found. */
static bool find_owner(const char *ips, const char *owner, char ip[16])
{
	DIR *d = opendir(ips);
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	char buf[256];
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) > 15)
			continue;
		autofree char *p = xasprintf("%s/%s", ips, e->d_name);
		read_owner(p, buf, sizeof(buf));
		if (strcmp(buf, owner) == 0) {
			snprintf(ip, 16, "%s", e->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

int vmm_ipam_alloc(const char *dir, const char *cidr, const char *owner, char ip[16],
		   kumo_error_t *err)
{
	uint32_t net;
	unsigned prefix;
	if (vmm_parse_cidr(cidr, &net, &prefix, err) < 0)
		return -1;
	if (!*owner || strlen(owner) > 200 || strchr(owner, '\n'))
		return kumo_error(err, KUMO_E_INVALID, "ipam owner `%s` is empty, too long or has a newline",
				  owner);
	autofree char *ips = xasprintf("%s/ips", dir);
	autofree char *hint_path = xasprintf("%s/last", dir);
	/* The owner's line goes into a temp file first; link() then claims the address
	 * atomically with its content complete, and fails if anyone holds it. */
	autofree char *tmp = xasprintf("%s/.claim-%d-%lu", ips, (int)getpid(),
				       (unsigned long)pthread_self());
	autofree char *line = xasprintf("%s\n", owner);
	int lock = lock_dir(dir, err);
	if (lock < 0)
		return -1;
	int rc = 0;
	if (find_owner(ips, owner, ip))
		goto out;
	/* Usable: network+2 .. broadcast-1 (network+1 is the bridge, the gateway). */
	uint32_t first = net + 2, last = (net | (0xffffffffu >> prefix)) - 1;
	char hint[32];
	read_owner(hint_path, hint, sizeof(hint));
	struct in_addr hin;
	uint32_t start = first;
	if (inet_pton(AF_INET, hint, &hin) == 1) {
		uint32_t h = ntohl(hin.s_addr);
		if (h >= first && h < last)
			start = h + 1;
	}
	if (kumo_write_file_atomic(tmp, line, strlen(line), 0600, err) < 0) {
		rc = -1;
		goto out;
	}
	uint64_t span = (uint64_t)last - first + 1;
	bool got = false;
	for (uint64_t i = 0; i < span && !got; i++) {
		uint32_t cand = first + (uint32_t)(((uint64_t)(start - first) + i) % span);
		char s[16];
		vmm_ip_str(cand, s);
		autofree char *p = xasprintf("%s/%s", ips, s);
		if (link(tmp, p) == 0) {
			snprintf(ip, 16, "%s", s);
			got = true;
		} else if (errno != EEXIST) {
			rc = kumo_error_errno(err, errno, "claim `%s`", p);
			break;
		}
	}
	unlink(tmp);
	if (rc == 0 && !got)
		rc = kumo_error(err, KUMO_E_UNAVAILABLE, "pod cidr `%s` has no free address left", cidr);
	if (rc == 0) {
		fsync_dir(ips);
		kumo_error_t herr = NULL;
		if (kumo_write_file_atomic(hint_path, ip, strlen(ip), 0600, &herr) < 0)
			kumo_error_free(&herr); /* only a hint */
	}
out:
	close(lock);
	return rc;
}

int vmm_ipam_release(const char *dir, const char *owner, kumo_error_t *err)
{
	int lock = lock_dir(dir, err);
	if (lock < 0)
		return -1;
	autofree char *ips = xasprintf("%s/ips", dir);
	char ip[16];
	int rc = 0;
	while (find_owner(ips, owner, ip)) {
		autofree char *p = xasprintf("%s/%s", ips, ip);
		if (unlink(p) < 0 && errno != ENOENT) {
			rc = kumo_error_errno(err, errno, "release `%s`", p);
			break;
		}
	}
	fsync_dir(ips);
	close(lock);
	return rc;
}
