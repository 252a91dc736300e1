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
