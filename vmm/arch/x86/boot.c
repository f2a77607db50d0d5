#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "arch/x86/boot.h"
#include "i18n.h"
#include "log.h"
#include "memory.h"
#include "util.h"

/* struct boot_params offsets (Linux Documentation/arch/x86/zero-page.rst, boot.rst). */
#define BP_ACPI_RSDP 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_SETUP_SECTS 0x1f1
#define BP_BOOT_FLAG 0x1fe
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_HEAP_END_PTR 0x224
#define BP_CMD_LINE_PTR 0x228
#define BP_INITRD_ADDR_MAX 0x22c
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_CMDLINE_SIZE 0x238
#define BP_XLOADFLAGS 0x236
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define HDRS_MAGIC 0x53726448 /* "HdrS" */
#define XLF_KERNEL_64 0x1
#define LOADFLAG_CAN_USE_HEAP 0x80
#define BOOT_PROTO_MIN 0x20c /* the first with the 64-bit entry and xloadflags */

/* struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h). */
#define PVH_MAGIC 0x336ec578
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_MODLIST (LAYOUT_PVH_START_INFO + 0x80)

/* GDT selectors: the boot protocol's __BOOT_CS/__BOOT_DS are 0x10 and 0x18. */
#define SEL_CODE32 0x08
#define SEL_CODE64 0x10
#define SEL_DATA 0x18
static const uint64_t boot_gdt[] = {
	0,
	0x00cf9b000000ffffULL, /* 32-bit code, flat */
	0x00af9b000000ffffULL, /* 64-bit code */
	0x00cf93000000ffffULL, /* data, flat */
};

static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int file_read_all(const char *path, uint64_t max, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file(path, max, &buf, &len);
	if (r == -EFBIG)
		return log_error_errno(r, _("The file %s is larger than %llu bytes; mvirt-vmm cannot "
			"load it."), path, (unsigned long long)max);
	if (r < 0)
		return log_error_errno(r, _("Cannot read %s: %m."), path);
	*ret = (uint8_t *)TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/* Returns the PVH 32-bit entry from a Xen note, or 0. */
static uint64_t elf_find_pvh(const uint8_t *img, size_t len, const Elf64_Phdr *ph)
{
	uint64_t off = ph->p_offset, end;

	if (off > len || ph->p_filesz > len - off)
		return 0;
	end = off + ph->p_filesz;
	while (end - off >= sizeof(Elf64_Nhdr)) {
		/* Copied out: the image gives no alignment (UBSan found a misaligned load). */
		Elf64_Nhdr nh, *n = &nh;
		uint64_t name, desc, d;

		memcpy(&nh, img + off, sizeof(nh));
		name = (n->n_namesz + 3) & ~3ULL;
		desc = (n->n_descsz + 3) & ~3ULL;
		d = off + sizeof(*n) + name;
		if (name > end - off || desc > end - off || d + desc > end)
			return 0;
		if (n->n_type == XEN_ELFNOTE_PHYS32_ENTRY && n->n_namesz == 4 &&
			memcmp(img + off + sizeof(*n), "Xen", 4) == 0 && n->n_descsz >= 4)
			return n->n_descsz >= 8 ? get64(img + d) : get32(img + d);
		off = d + desc;
	}
	return 0;
}

static int elf_load(struct guest_mem *mem, const char *path, const uint8_t *img, size_t len,
	struct boot_entry *ret)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	uint64_t pvh = 0;

	if (len < sizeof(*eh) || eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
		eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
		(uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return log_error_errno(-ENOEXEC, _("The kernel %s is not a 64-bit x86 ELF image."),
			path);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff) + i;
		uint8_t *dst;

		if (ph->p_type == PT_NOTE && !pvh)
			pvh = elf_find_pvh(img, len, ph);
		if (ph->p_type != PT_LOAD)
			continue;
		dst = guest_mem_ptr(mem, ph->p_paddr, ph->p_memsz);
		if (!dst || ph->p_filesz > ph->p_memsz || ph->p_offset > len ||
			ph->p_filesz > len - ph->p_offset)
			return log_error_errno(-ENOEXEC, _("The kernel %s has a segment at 0x%llx that "
				"does not fit in guest memory; give the VM more memory with -m."),
				path, (unsigned long long)ph->p_paddr);
		memcpy(dst, img + ph->p_offset, ph->p_filesz);
		memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	}
	if (pvh)
		*ret = (struct boot_entry){ BOOT_MODE_PVH, pvh, LAYOUT_PVH_START_INFO };
	else
		*ret = (struct boot_entry){ BOOT_MODE_LINUX64, eh->e_entry, LAYOUT_ZERO_PAGE };
	return 0;
}

static int bzimage_load(struct guest_mem *mem, const char *path, const uint8_t *img, size_t len,
	uint8_t *zp, struct boot_entry *ret)
{
	unsigned setup_sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	size_t setup_len = (setup_sects + 1) * 512ULL, hdr_end = 0x202 + img[0x201];
	uint8_t *dst;

	if (get16(img + BP_VERSION) < BOOT_PROTO_MIN || !(img[BP_XLOADFLAGS] & XLF_KERNEL_64))
		return log_error_errno(-ENOEXEC, _("The kernel %s is a bzImage without the 64-bit "
			"boot protocol (2.12 or later); use a newer kernel."), path);
	if (setup_len >= len || hdr_end > setup_len)
		return log_error_errno(-ENOEXEC, _("The kernel %s is a truncated bzImage."), path);
	dst = guest_mem_ptr(mem, LAYOUT_KERNEL, len - setup_len);
	if (!dst)
		return log_error_errno(-E2BIG, _("The kernel %s does not fit in guest memory; give "
			"the VM more memory with -m."), path);
	memcpy(dst, img + setup_len, len - setup_len);
	/* The setup header travels in the zero page; the loader then fills in its fields. */
	memcpy(zp + BP_SETUP_SECTS, img + BP_SETUP_SECTS, hdr_end - BP_SETUP_SECTS);
	zp[BP_TYPE_OF_LOADER] = 0xff;
	zp[BP_LOADFLAGS] |= LOADFLAG_CAN_USE_HEAP;
	put16(zp + BP_HEAP_END_PTR, 0xfe00);
	*ret = (struct boot_entry){ BOOT_MODE_LINUX64, LAYOUT_KERNEL + 0x200, LAYOUT_ZERO_PAGE };
	return 0;
}

static int initrd_load(struct guest_mem *mem, const char *path, uint8_t *zp, uint64_t *ret_addr,
	uint64_t *ret_size)
{
	_cleanup_free_ uint8_t *img = NULL;
	uint64_t top = mem->regions[0].size, max = get32(zp + BP_INITRD_ADDR_MAX), addr;
	size_t len;
	int r;

	r = file_read_all(path, BOOT_INITRD_MAX, &img, &len);
	if (r < 0)
		return r;
	if (max && max + 1 < top)
		top = max + 1;
	addr = (top - len) & ~0xfffULL;
	if (len > top || addr < LAYOUT_KERNEL + (16ULL << 20) || !guest_mem_ptr(mem, addr, len))
		return log_error_errno(-E2BIG, _("The initrd %s does not fit in guest memory; give "
			"the VM more memory with -m."), path);
	memcpy(guest_mem_ptr(mem, addr, len), img, len);
	*ret_addr = addr;
	*ret_size = len;
	return 0;
}

static void zero_page_fill(uint8_t *zp, const struct e820_map *map, uint64_t rsdp,
	uint64_t initrd, uint64_t initrd_size)
{
	if (get32(zp + BP_HEADER) != HDRS_MAGIC) {
		/* An ELF kernel: a minimal header, as the 64-bit protocol's loaders give it. */
		put16(zp + BP_BOOT_FLAG, 0xaa55);
		put32(zp + BP_HEADER, HDRS_MAGIC);
		put16(zp + BP_VERSION, BOOT_PROTO_MIN);
		zp[BP_TYPE_OF_LOADER] = 0xff;
		put32(zp + BP_KERNEL_ALIGNMENT, 0x1000000);
	}
	put32(zp + BP_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE);
	put32(zp + BP_EXT_CMD_LINE_PTR, 0);
	put32(zp + BP_RAMDISK_IMAGE, (uint32_t)initrd);
	put32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd >> 32));
	put32(zp + BP_RAMDISK_SIZE, (uint32_t)initrd_size);
	put32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	put64(zp + BP_ACPI_RSDP, rsdp);
	zp[BP_E820_ENTRIES] = map->n;
	for (unsigned i = 0; i < map->n && i < BP_E820_MAX; i++) {
		uint8_t *e = zp + BP_E820_TABLE + i * 20;

		put64(e, map->entries[i].addr);
		put64(e + 8, map->entries[i].size);
		put32(e + 16, map->entries[i].type);
	}
}

static void pvh_fill(struct guest_mem *mem, const struct e820_map *map, uint64_t rsdp,
	uint64_t initrd, uint64_t initrd_size)
{
	uint8_t *si = guest_mem_ptr(mem, LAYOUT_PVH_START_INFO, 0x100);
	uint8_t *mm = guest_mem_ptr(mem, LAYOUT_PVH_MEMMAP, LAYOUT_E820_MAX * 24);
	uint8_t *mod = guest_mem_ptr(mem, PVH_MODLIST, 32);

	memset(si, 0, 0x100);
	put32(si, PVH_MAGIC);
	put32(si + 4, 1); /* version 1: has the memory map */
	if (initrd_size) {
		put32(si + 12, 1);
		put64(si + 16, PVH_MODLIST);
		put64(mod, initrd);
		put64(mod + 8, initrd_size);
	}
	put64(si + 24, LAYOUT_CMDLINE);
	put64(si + 32, rsdp);
	put64(si + 40, LAYOUT_PVH_MEMMAP);
	put32(si + 48, map->n);
	for (unsigned i = 0; i < map->n; i++) {
		put64(mm + i * 24, map->entries[i].addr);
		put64(mm + i * 24 + 8, map->entries[i].size);
		put32(mm + i * 24 + 16, map->entries[i].type);
		put32(mm + i * 24 + 20, 0);
	}
}

static void page_tables_fill(struct guest_mem *mem)
{
	uint64_t *pml4 = guest_mem_ptr(mem, LAYOUT_PML4, 4096);
	uint64_t *pdpt = guest_mem_ptr(mem, LAYOUT_PDPT, 4096);
	uint64_t *pd = guest_mem_ptr(mem, LAYOUT_PD, 4 * 4096);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | 0x3;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096ULL) | 0x3;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83; /* present, writable, 2 MiB */
	memcpy(guest_mem_ptr(mem, LAYOUT_GDT, sizeof(boot_gdt)), boot_gdt, sizeof(boot_gdt));
}

static int cmdline_put(struct guest_mem *mem, const char *cmdline, uint8_t *zp)
{
	size_t len = strlen(cmdline ? cmdline : "");
	uint32_t max = get32(zp + BP_CMDLINE_SIZE);

	if (len >= LAYOUT_CMDLINE_MAX || (max && len > max))
		return log_error_errno(-E2BIG, _("The kernel command line (-append) is %zu bytes "
			"long; this kernel accepts at most %u."), len,
			max ? max : (unsigned)LAYOUT_CMDLINE_MAX - 1);
	return guest_mem_write(mem, LAYOUT_CMDLINE, cmdline ? cmdline : "", len + 1);
}

int boot_load(struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *ret)
{
	_cleanup_free_ uint8_t *img = NULL;
	uint8_t *zp = guest_mem_ptr(mem, LAYOUT_ZERO_PAGE, 4096);
	uint64_t initrd = 0, initrd_size = 0;
	struct e820_map map;
	struct boot_entry entry;
	size_t len;
	int r;

	r = file_read_all(cfg->kernel, BOOT_KERNEL_MAX, &img, &len);
	if (r < 0)
		return r;
	memset(zp, 0, 4096);
	if (len >= 4 && memcmp(img, ELFMAG, SELFMAG) == 0)
		r = elf_load(mem, cfg->kernel, img, len, &entry);
	else if (len > 0x1000 && get32(img + BP_HEADER) == HDRS_MAGIC)
		r = bzimage_load(mem, cfg->kernel, img, len, zp, &entry);
	else
		r = log_error_errno(-ENOEXEC, _("The kernel %s is neither an ELF image nor a bzImage."),
			cfg->kernel);
	if (r < 0)
		return r;
	if (cfg->initrd) {
		r = initrd_load(mem, cfg->initrd, zp, &initrd, &initrd_size);
		if (r < 0)
			return r;
	}
	r = cmdline_put(mem, cfg->cmdline, zp);
	if (r < 0)
		return r;
	r = e820_build(mem, &map);
	if (r < 0)
		return r;
	zero_page_fill(zp, &map, cfg->rsdp, initrd, initrd_size);
	pvh_fill(mem, &map, cfg->rsdp, initrd, initrd_size);
	page_tables_fill(mem);
	*ret = entry;
	return 0;
}

static void segment_set(struct kvm_segment *s, uint16_t sel, bool code, bool l)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = code ? 0xb : 0x3,
		.present = 1,
		.dpl = 0,
		.db = l ? 0 : 1,
		.s = 1,
		.l = l,
		.g = 1,
	};
}

int boot_setup_vcpu(int vcpu_fd, const struct boot_entry *entry)
{
	bool lm = entry->mode == BOOT_MODE_LINUX64;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 0x2, .rip = entry->rip, .rsp = LAYOUT_BOOT_STACK };

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return log_error_errno(errno, "Failed to read the boot vCPU's registers: %m");
	segment_set(&sregs.cs, lm ? SEL_CODE64 : SEL_CODE32, true, lm);
	segment_set(&sregs.ds, SEL_DATA, false, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = LAYOUT_GDT;
	sregs.gdt.limit = sizeof(boot_gdt) - 1;
	sregs.cr0 = 0x11; /* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (lm) {
		sregs.cr0 |= 0x80000000; /* PG */
		sregs.cr3 = LAYOUT_PML4;
		sregs.cr4 |= 0x20;   /* PAE */
		sregs.efer |= 0x500; /* LME | LMA */
		regs.rsi = entry->info;
	} else {
		regs.rbx = entry->info;
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return log_error_errno(errno, "Failed to set the boot vCPU's system registers: %m");
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return log_error_errno(errno, "Failed to set the boot vCPU's registers: %m");
	return 0;
}
