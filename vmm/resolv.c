/* vmm/resolv.c - the host's resolvers a guest can reach (loopback ones skipped). */
#include <arpa/inet.h>
#include <string.h>

#include "vmm/vmm.h"

/* Reads `nameserver A.B.C.D` lines of path; counts loopback ones in *loopback. */
static size_t read_resolvers(const char *path, char out[][16], size_t max, size_t *loopback)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = 0;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		char addr[64];
		if (sscanf(line, " nameserver %63s", addr) != 1)
			continue;
		struct in_addr a;
		if (inet_pton(AF_INET, addr, &a) != 1)
			continue; /* IPv6 or garbage */
		if ((ntohl(a.s_addr) >> 24) == 127) {
			(*loopback)++;
			continue;
		}
		char canon[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &a, canon, sizeof(canon));
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= strcmp(out[i], canon) == 0;
		if (!dup && n < max)
			memcpy(out[n++], canon, sizeof(canon));
	}
	fclose(f);
	return n;
}

size_t vmm_net_host_dns(const char *resolv_path, char out[][16], size_t max)
{
	size_t loopback = 0;
	size_t n = read_resolvers(resolv_path ? resolv_path : "/etc/resolv.conf", out, max,
				  &loopback);
	if (n == 0 && loopback && !resolv_path)
		n = read_resolvers("/run/systemd/resolve/resolv.conf", out, max, &loopback);
	return n;
}
