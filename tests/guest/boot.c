/* What the loader handed over: the command line, the memory map and the RSDP address, from
 * struct hvm_start_info (PVH) or struct boot_params (64-bit boot protocol). Offsets are those
 * of Xen's arch-x86/hvm/start_info.h and Linux's Documentation/arch/x86/zero-page.rst. */
#include "probe.h"

#define PVH_MAGIC 0x336ec578
#define PVH_CMDLINE 24
#define PVH_RSDP 32
#define PVH_MEMMAP 40
#define PVH_MEMMAP_ENTRIES 48
#define PVH_MEMMAP_ENTRY_SIZE 24

#define BP_ACPI_RSDP 0x070
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_CMD_LINE_PTR 0x228
#define BP_E820_TABLE 0x2d0
#define BP_E820_ENTRY_SIZE 20

/* Both formats start with addr, size, type; empty entries (QEMU's PVH map ends with one)
 * are dropped. */
static void e820_add(struct boot_info *bi, const uint8_t *e)
{
	struct e820_entry *out = &bi->e820[bi->e820_count];

	if (bi->e820_count >= PROBE_MAX_E820 || load_le64(e + 8) == 0)
		return;
	out->addr = load_le64(e);
	out->size = load_le64(e + 8);
	out->type = load_le32(e + 16);
	bi->e820_count++;
}

static void read_pvh(const uint8_t *si, struct boot_info *bi)
{
	uint32_t version = load_le32(si + 4);
	uint64_t memmap;
	uint32_t n;

	if (load_le32(si) != PVH_MAGIC) {
		out_begin("error");
		out_str("what", "pvh-magic");
		out_hex("magic", load_le32(si));
		out_end();
		return;
	}
	bi->cmdline = (const char *)load_le64(si + PVH_CMDLINE);
	bi->rsdp = load_le64(si + PVH_RSDP);
	if (version < 1)
		return; /* version 0 has no memory map */
	memmap = load_le64(si + PVH_MEMMAP);
	n = load_le32(si + PVH_MEMMAP_ENTRIES);
	for (uint32_t i = 0; i < n && memmap; i++)
		e820_add(bi, (const uint8_t *)memmap + i * PVH_MEMMAP_ENTRY_SIZE);
}

static void read_boot_params(const uint8_t *bp, struct boot_info *bi)
{
	uint64_t cmd = load_le32(bp + BP_CMD_LINE_PTR) |
		(uint64_t)load_le32(bp + BP_EXT_CMD_LINE_PTR) << 32;
	uint32_t n = bp[BP_E820_ENTRIES];

	bi->cmdline = (const char *)cmd;
	bi->rsdp = load_le64(bp + BP_ACPI_RSDP);
	for (uint32_t i = 0; i < n; i++)
		e820_add(bi, bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE);
}

void boot_info_read(enum boot_entry entry, uint64_t info, struct boot_info *ret)
{
	ret->entry = entry;
	if (!info) {
		out_error("no-boot-info");
		return;
	}
	if (entry == BOOT_PVH)
		read_pvh((const uint8_t *)info, ret);
	else
		read_boot_params((const uint8_t *)info, ret);
}
