/* vmm/domxml.c - the libvirt domain XML for a VM spec: a pure function, golden-tested
 * (tests/unit/golden/domain-*.xml). Mirrors vmm_qemu_argv's machine: microvm, PVH
 * kernel, no firmware, no PCI, three ISA serial ports to files in boot-ABI order. */
#include <stdbool.h>
#include <string.h>

#include "kernel/boot_abi.h"
#include "vmm_backend.h"

/* libvirt numbers ISA serial ports by index: 0, 1, 2 are QEMU's COM1-3 bases. */
_Static_assert(KUMO_BOOT_PORT_STDOUT == 0x3f8 && KUMO_BOOT_PORT_STDERR == 0x2f8 &&
		       KUMO_BOOT_PORT_KERNEL == 0x3e8,
	       "boot abi serial ports are COM1, COM2, COM3");

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	sb_add(b, s, (size_t)n);
	free(s);
}

/* Escaped text for element content and single-quoted attributes. */
static void sb_esc(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': sb_add(b, "&amp;", 5); break;
		case '<': sb_add(b, "&lt;", 4); break;
		case '>': sb_add(b, "&gt;", 4); break;
		case '\'': sb_add(b, "&apos;", 6); break;
		case '"': sb_add(b, "&quot;", 6); break;
		default: sb_add(b, s, 1);
		}
	}
}

static void sb_elem(struct sbuf *b, const char *indent, const char *tag, const char *text)
{
	sb_printf(b, "%s<%s>", indent, tag);
	sb_esc(b, text);
	sb_printf(b, "</%s>\n", tag);
}

char *vmm_domain_xml(const struct vmm_spec *s, enum vmm_accel accel, bool incoming)
{
	struct sbuf b = {0};
	/* The qemu namespace only carries what libvirt's XML cannot say (see below). */
	bool virtio = s->net || s->nshares;
	sb_printf(&b, "<domain type='%s'%s>\n", accel == VMM_ACCEL_KVM ? "kvm" : "qemu",
		  virtio || incoming ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"
				     : "");
	sb_elem(&b, "  ", "name", s->name);
	sb_printf(&b, "  <memory unit='MiB'>%u</memory>\n", s->memory_mib);
	sb_printf(&b, "  <vcpu placement='static'>%u</vcpu>\n", s->vcpus);
	const struct vmm_cputune *t = &s->cputune;
	if (t->shares || t->period_us || t->quota_us) {
		sb_add(&b, "  <cputune>\n", 12);
		if (t->shares)
			sb_printf(&b, "    <shares>%llu</shares>\n", (unsigned long long)t->shares);
		if (t->period_us)
			sb_printf(&b, "    <period>%llu</period>\n", (unsigned long long)t->period_us);
		if (t->quota_us)
			sb_printf(&b, "    <quota>%lld</quota>\n", (long long)t->quota_us);
		sb_add(&b, "  </cputune>\n", 13);
	}
	sb_printf(&b, "  <os>\n    <type arch='x86_64' machine='microvm'>hvm</type>\n");
	sb_elem(&b, "    ", "kernel", s->kernel);
	if (s->initrd)
		sb_elem(&b, "    ", "initrd", s->initrd);
	if (s->cmdline && *s->cmdline)
		sb_elem(&b, "    ", "cmdline", s->cmdline);
	sb_add(&b, "  </os>\n", 8);
	/* Without <acpi/> libvirt passes -no-acpi and the GED power-off register vanishes. */
	sb_printf(&b, "  <features>\n    <acpi/>\n  </features>\n");
	/* x86-64-v2, as vmm_qemu_argv; host-passthrough crashed QEMU here (HOST-NOTES). */
	sb_printf(&b, "  <cpu mode='custom' match='exact' check='none'>\n"
		      "    <model fallback='forbid'>Nehalem</model>\n  </cpu>\n");
	sb_printf(&b, "  <clock offset='utc'/>\n"
		      "  <on_poweroff>destroy</on_poweroff>\n"
		      "  <on_reboot>destroy</on_reboot>\n"
		      "  <on_crash>destroy</on_crash>\n"
		      "  <devices>\n");
	static const char *const raw[3] = {VMM_RAW_STDOUT, VMM_RAW_STDERR, VMM_RAW_EXIT};
	for (int i = 0; i < 3; i++) {
		/* Files, not sockets: nothing written before a reader attaches is lost, and
		 * the exit record is on disk when STOPPED arrives. */
		sb_printf(&b, "    <serial type='file'>\n      <source path='");
		sb_esc(&b, s->run_dir);
		sb_printf(&b, "/%s' append='on'/>\n"
			      "      <target type='isa-serial' port='%d'>\n"
			      "        <model name='isa-serial'/>\n"
			      "      </target>\n    </serial>\n",
			  raw[i], i);
	}
	if (s->net) {
		const uint8_t *m = s->net->mac;
		sb_printf(&b, "    <interface type='ethernet'>\n"
			      "      <mac address='%02x:%02x:%02x:%02x:%02x:%02x'/>\n"
			      "      <target dev='",
			  m[0], m[1], m[2], m[3], m[4], m[5]);
		sb_esc(&b, s->net->tap);
		sb_printf(&b, "' managed='no'/>\n"
			      "      <model type='virtio'/>\n"
			      "      <address type='virtio-mmio'/>\n"
			      "    </interface>\n");
	}
	for (size_t i = 0; i < s->nshares; i++) {
		/* virtio-9p, passthrough as vmm_qemu_argv (see there for why). */
		sb_printf(&b, "    <filesystem type='mount' accessmode='passthrough' multidevs='remap'>\n"
			      "      <driver type='path'/>\n"
			      "      <source dir='");
		sb_esc(&b, s->shares[i].host_path);
		sb_printf(&b, "'/>\n      <target dir='");
		sb_esc(&b, s->shares[i].tag);
		sb_printf(&b, "'/>\n%s      <address type='virtio-mmio'/>\n    </filesystem>\n",
			  s->shares[i].readonly ? "      <readonly/>\n" : "");
	}
	/* pvpanic (kernel/boot_abi.h): a guest panic becomes a CRASHED event and, with
	 * on_crash destroy, the end of the domain. */
	sb_printf(&b, "    <panic model='isa'>\n"
		      "      <address type='isa' iobase='0x%x'/>\n"
		      "    </panic>\n",
		  KUMO_BOOT_PORT_PVPANIC);
	/* microvm has no PCI: drop the devices libvirt adds by default. */
	sb_printf(&b, "    <controller type='usb' model='none'/>\n"
		      "    <memballoon model='none'/>\n"
		      "  </devices>\n");
	/* The kernel drives virtio 1.x only and QEMU's virtio-mmio defaults to the legacy
	 * interface; libvirt has no element for the switch (kernel/boot_abi.h). */
	if (virtio || incoming)
		sb_printf(&b, "  <qemu:commandline>\n");
	if (virtio)
		sb_printf(&b, "    <qemu:arg value='-global'/>\n"
			      "    <qemu:arg value='virtio-mmio.force-legacy=false'/>\n");
	/* A restore: QEMU waits for its state, which the backend hands over after the
	 * start (`getfd` and `migrate-incoming` through libvirt's monitor passthrough):
	 * libvirt's QEMU driver takes no fd of ours at its start, and its own incoming
	 * migration is a libvirt-to-libvirt protocol. */
	if (incoming)
		sb_printf(&b, "    <qemu:arg value='-incoming'/>\n"
			      "    <qemu:arg value='defer'/>\n");
	if (virtio || incoming)
		sb_printf(&b, "  </qemu:commandline>\n");
	sb_printf(&b, "</domain>\n");
	return b.s;
}
