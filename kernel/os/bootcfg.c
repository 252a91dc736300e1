/* kernel/os/bootcfg.c - reads the boot config (initrd header + JSON, boot_abi.h) with cJSON built freestanding. */
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "kernel/os/kos.h"

struct kumo_bootcfg kumo_bootcfg;

static char *xstrdup_k(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (!d)
		panic("boot config: out of memory");
	return memcpy(d, s, n);
}

/* A JSON array of strings into a NULL-terminated vector. */
static int str_array(const cJSON *a, const char *key, char ***out)
{
	int n = 0;
	if (a && !cJSON_IsArray(a))
		panic("boot config: `%s` is not an array", key);
	n = a ? cJSON_GetArraySize(a) : 0;
	char **v = calloc((size_t)n + 1, sizeof(char *));
	if (!v)
		panic("boot config: out of memory");
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e))
			panic("boot config: `%s[%d]` is not a string", key, i);
		v[i++] = xstrdup_k(e->valuestring);
	}
	*out = v;
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Dotted-quad IPv4 address; 0 or -1. */
static int parse_ip4(const char *s, uint8_t out[4], const char **rest)
{
	for (int i = 0; i < 4; i++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned v = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4)
			v = v * 10 + (unsigned)(*s++ - '0'), digits++;
		if (v > 255 || digits > 3)
			return -1;
		out[i] = (uint8_t)v;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	if (rest)
		*rest = s;
	else if (*s)
		return -1;
	return 0;
}

static const char *net_str(const cJSON *net, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(net, key);
	if (v && !cJSON_IsString(v))
		panic("boot config: `net.%s` is not a string", key);
	return v ? v->valuestring : NULL;
}

static void parse_net(const cJSON *net)
{
	struct kumo_netcfg *n = &kumo_bootcfg.net;
	if (!cJSON_IsObject(net))
		panic("boot config: `net` is not an object");
	n->present = 1;
	const char *mac = net_str(net, "mac");
	if (mac) {
		for (int i = 0; i < 6; i++) {
			int hi = hexval(mac[3 * i]), lo = hi < 0 ? -1 : hexval(mac[3 * i + 1]);
			char sep = lo < 0 ? 0 : mac[3 * i + 2];
			if (hi < 0 || lo < 0 || sep != (i == 5 ? '\0' : ':'))
				panic("boot config: `net.mac` `%s` is not a MAC address", mac);
			n->mac[i] = (uint8_t)(hi << 4 | lo);
		}
		n->has_mac = 1;
	}
	const char *addr = net_str(net, "address");
	if (!addr)
		panic("boot config: `net` has no `address` (DHCP is not supported)");
	const char *rest;
	char *end;
	if (parse_ip4(addr, n->addr, &rest) < 0 || *rest != '/' || rest[1] < '0' || rest[1] > '9')
		panic("boot config: `net.address` `%s` is not ADDRESS/PREFIX", addr);
	long long pfx = strtoll(rest + 1, &end, 10);
	if (*end || pfx < 0 || pfx > 32)
		panic("boot config: `net.address` `%s` has a bad prefix", addr);
	n->prefix = (int)pfx;
	const char *gw = net_str(net, "gateway");
	if (gw && parse_ip4(gw, n->gateway, NULL) < 0)
		panic("boot config: `net.gateway` `%s` is not an IPv4 address", gw);
	const cJSON *mtu = cJSON_GetObjectItemCaseSensitive(net, "mtu");
	if (mtu) {
		if (!cJSON_IsNumber(mtu) || mtu->valuedouble < 576 || mtu->valuedouble > 65535)
			panic("boot config: `net.mtu` is not a number in 576..65535");
		n->mtu = (int)mtu->valuedouble;
	}
	char **dns;
	int ndns = str_array(cJSON_GetObjectItemCaseSensitive(net, "dns"), "net.dns", &dns);
	for (int i = 0; i < ndns; i++) {
		uint8_t ip[4];
		if (parse_ip4(dns[i], ip, NULL) < 0)
			panic("boot config: `net.dns[%d]` `%s` is not an IPv4 address", i, dns[i]);
		if (n->ndns < 2)
			memcpy(n->dns[n->ndns++], ip, 4);
	}
	n->nsearch = str_array(cJSON_GetObjectItemCaseSensitive(net, "search"), "net.search", &n->search);
	const char *host = net_str(net, "hostname");
	n->hostname = host ? xstrdup_k(host) : NULL;
	n->nlisten = str_array(cJSON_GetObjectItemCaseSensitive(net, "listen"), "net.listen", &n->listen);
	for (int i = 0; i < n->nlisten; i++) {
		const char *l = n->listen[i];
		uint8_t ip[4];
		if ((strncmp(l, "tcp:", 4) != 0 && strncmp(l, "udp:", 4) != 0) ||
		    parse_ip4(l + 4, ip, &rest) < 0 || *rest != ':' || rest[1] < '0' || rest[1] > '9' ||
		    strtoll(rest + 1, &end, 10) > 65535 || *end)
			panic("boot config: `net.listen[%d]` `%s` is not tcp:ADDR:PORT or udp:ADDR:PORT", i, l);
	}
}

/* The "share" of a preopen or mount: a mount tag, or NULL when absent. */
static const char *share_tag(const cJSON *e, const char *key, int i)
{
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "share");
	if (!sh)
		return NULL;
	if (!cJSON_IsString(sh) || !sh->valuestring[0] || strlen(sh->valuestring) > 63)
		panic("boot config: `%s[%d].share` is not a mount tag (1 to 63 bytes)", key, i);
	return xstrdup_k(sh->valuestring);
}

static void parse(const char *json, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		panic("boot config: malformed JSON near byte %lld",
		      at ? (long long)(at - json) : -1ll);
	}
	if (!cJSON_IsObject(root))
		panic("boot config: not a JSON object");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (ver && (!cJSON_IsNumber(ver) || ver->valuedouble > KUMO_BOOT_ABI_VERSION))
		panic("boot config: version `%g` is newer than this kernel's %d",
		      cJSON_IsNumber(ver) ? ver->valuedouble : -1.0, KUMO_BOOT_ABI_VERSION);
	struct kumo_bootcfg *c = &kumo_bootcfg;
	c->argc = str_array(cJSON_GetObjectItemCaseSensitive(root, "args"), "args", &c->argv);
	c->envc = str_array(cJSON_GetObjectItemCaseSensitive(root, "env"), "env", &c->envp);
	const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "preopens");
	if (pre) {
		if (!cJSON_IsArray(pre))
			panic("boot config: `preopens` is not an array");
		c->npreopens = cJSON_GetArraySize(pre);
		c->preopens = calloc((size_t)c->npreopens + 1, sizeof(*c->preopens));
		if (!c->preopens)
			panic("boot config: out of memory");
		int i = 0;
		const cJSON *e;
		cJSON_ArrayForEach(e, pre) {
			const cJSON *g = cJSON_GetObjectItemCaseSensitive(e, "guest");
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
			if (!cJSON_IsString(g))
				panic("boot config: `preopens[%d].guest` is not a string", i);
			c->preopens[i].guest = xstrdup_k(g->valuestring);
			c->preopens[i].path = xstrdup_k(cJSON_IsString(p) ? p->valuestring : g->valuestring);
			c->preopens[i].readonly = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "readonly"));
			c->preopens[i].share = share_tag(e, "preopens", i);
			i++;
		}
	}
	const cJSON *mnt = cJSON_GetObjectItemCaseSensitive(root, "mounts");
	if (mnt) {
		if (!cJSON_IsArray(mnt))
			panic("boot config: `mounts` is not an array");
		c->nmounts = cJSON_GetArraySize(mnt);
		c->mounts = calloc((size_t)c->nmounts + 1, sizeof(*c->mounts));
		if (!c->mounts)
			panic("boot config: out of memory");
		int i = 0;
		const cJSON *e;
		cJSON_ArrayForEach(e, mnt) {
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
			const cJSON *en = cJSON_GetObjectItemCaseSensitive(e, "entry");
			if (!cJSON_IsString(p) || p->valuestring[0] != '/')
				panic("boot config: `mounts[%d].path` is not an absolute path", i);
			if (en && !cJSON_IsString(en))
				panic("boot config: `mounts[%d].entry` is not a string", i);
			c->mounts[i].path = xstrdup_k(p->valuestring);
			c->mounts[i].share = share_tag(e, "mounts", i);
			if (!c->mounts[i].share)
				panic("boot config: `mounts[%d]` has no `share`", i);
			c->mounts[i].entry = en ? xstrdup_k(en->valuestring) : NULL;
			c->mounts[i].readonly = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "readonly"));
			i++;
		}
	}
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
	if (files) {
		if (!cJSON_IsArray(files))
			panic("boot config: `files` is not an array");
		c->nfiles = cJSON_GetArraySize(files);
		c->files = calloc((size_t)c->nfiles + 1, sizeof(*c->files));
		if (!c->files)
			panic("boot config: out of memory");
		int i = 0;
		const cJSON *e;
		cJSON_ArrayForEach(e, files) {
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(e, "path");
			if (!cJSON_IsString(p) || p->valuestring[0] != '/')
				panic("boot config: `files[%d].path` is not an absolute path", i);
			c->files[i].path = xstrdup_k(p->valuestring);
			c->files[i].readonly = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "readonly"));
			c->files[i].copy_back = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "copy_back"));
			i++;
		}
	}
	const cJSON *ss = cJSON_GetObjectItemCaseSensitive(root, "stack_size");
	if (ss) {
		if (!cJSON_IsNumber(ss) || ss->valuedouble < 0)
			panic("boot config: `stack_size` is not a size");
		double v = ss->valuedouble;
		c->stack_size = v < 65536 ? 65536 : v > (256.0 * 1048576) ? 256ull << 20 : (uint64_t)v;
	}
	const cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
	if (cJSON_IsString(seed)) {
		uint8_t bytes[64];
		size_t n = 0;
		for (const char *s = seed->valuestring; s[0] && s[1] && n < sizeof(bytes); s += 2) {
			int hi = hexval(s[0]), lo = hexval(s[1]);
			if (hi < 0 || lo < 0)
				panic("boot config: `seed` is not hex");
			bytes[n++] = (uint8_t)(hi << 4 | lo);
		}
		random_init(bytes, n);
	}
	const cJSON *net = cJSON_GetObjectItemCaseSensitive(root, "net");
	if (net)
		parse_net(net);
	const cJSON *pod = cJSON_GetObjectItemCaseSensitive(root, "pod");
	if (pod) {
		if (!cJSON_IsObject(pod))
			panic("boot config: `pod` is not an object");
		c->pod = 1;
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(pod, "name");
		if (name && !cJSON_IsString(name))
			panic("boot config: `pod.name` is not a string");
		c->pod_name = name ? xstrdup_k(name->valuestring) : NULL;
	}
	cJSON_Delete(root);
}

void bootcfg_init(const struct kumo_hvm_start_info *si)
{
	static cJSON_Hooks hooks = { malloc, free };
	cJSON_InitHooks(&hooks);
	struct kumo_bootcfg *c = &kumo_bootcfg;
	c->stack_size = KUMO_BOOT_DEFAULT_STACK;
	c->cmdline = si->cmdline_paddr ? (const char *)(uintptr_t)si->cmdline_paddr : "";
	if (si->nr_modules > 0) {
		const struct kumo_hvm_modlist_entry *m = (const void *)(uintptr_t)si->modlist_paddr;
		const uint8_t *img = (const uint8_t *)(uintptr_t)m[0].paddr;
		uint64_t size = m[0].size;
		const struct kumo_initrd_header *h = (const void *)img;
		if (size < sizeof(*h) || memcmp(h->magic, KUMO_INITRD_MAGIC, 8) != 0)
			panic("boot config: initrd (%llu bytes) does not start with `" KUMO_INITRD_MAGIC "`",
			      (unsigned long long)size);
		if (h->version > KUMO_BOOT_ABI_VERSION)
			panic("boot config: initrd version %u is newer than this kernel's %d", h->version,
			      KUMO_BOOT_ABI_VERSION);
		if (h->config_size > KUMO_BOOT_CONFIG_MAX || h->config_offset > size ||
		    h->config_size > size - h->config_offset)
			panic("boot config: config (offset %llu, %llu bytes) outside the %llu-byte initrd",
			      (unsigned long long)h->config_offset, (unsigned long long)h->config_size,
			      (unsigned long long)size);
		if (h->rootfs_offset > size || h->rootfs_size > size - h->rootfs_offset)
			panic("boot config: rootfs (offset %llu, %llu bytes) outside the %llu-byte initrd",
			      (unsigned long long)h->rootfs_offset, (unsigned long long)h->rootfs_size,
			      (unsigned long long)size);
		if (h->config_size)
			parse((const char *)img + h->config_offset, h->config_size);
		if (h->rootfs_size) {
			c->rootfs = img + h->rootfs_offset;
			c->rootfs_size = h->rootfs_size;
		}
		/* v3: zero (reserved) in older initrds, so no object. */
		if (h->object_size) {
			if (h->object_offset > size || h->object_size > size - h->object_offset ||
			    ((uintptr_t)img + h->object_offset) % 8)
				panic("boot config: object (offset %llu, %llu bytes) outside the %llu-byte "
				      "initrd or not 8-byte aligned", (unsigned long long)h->object_offset,
				      (unsigned long long)h->object_size, (unsigned long long)size);
			c->object = img + h->object_offset;
			c->object_size = h->object_size;
		}
	}
	if (!c->argv) {
		c->argv = calloc(2, sizeof(char *));
		if (!c->argv)
			panic("boot config: out of memory");
		c->argv[0] = xstrdup_k("app");
		c->argc = 1;
	}
	if (!c->envp) {
		c->envp = calloc(1, sizeof(char *));
		if (!c->envp)
			panic("boot config: out of memory");
	}
}
