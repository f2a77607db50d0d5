/* mvirt-probe entry points.
 *
 * Two ways in, as Linux has them:
 *  - PVH: the Xen ELF note below names pvh_entry32; the loader enters it in 32-bit protected
 *    mode without paging, EBX = physical address of struct hvm_start_info.
 *  - 64-bit boot protocol: the ELF e_entry is linux64_entry; the loader enters it in long
 *    mode with some identity mapping, RSI = physical address of struct boot_params.
 * Both switch to the probe's own GDT and page tables (built here by the assembler, so that no
 * CPL0 loop fills them: CPL0 code is emulated under this machine's KVM) and call
 * probe_main(info, entry) on the probe's own stack. */

#define PTE_PRESENT_RW	0x003
#define PDE_2M		0x083	/* present, writable, 2 MiB page */
#define PDE_2M_UC	0x09b	/* the same, cache disabled: the 3-4 GiB hole holds MMIO */

	.section .note.Xen, "a", @note
	.p2align 2
	.long 4			/* name size: "Xen\0" */
	.long 8			/* descriptor size: QEMU and Linux read a 64-bit address */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.p2align 2
	.quad pvh_entry32

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry32
pvh_entry32:
	cli
	cld
	mov	%ebx, %edi		/* first argument: hvm_start_info */
	mov	$1, %esi		/* second argument: BOOT_PVH */
	lgdt	gdt_desc
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER */
	rdmsr
	or	$0x100, %eax		/* LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax	/* PG | PE */
	mov	%eax, %cr0
	ljmp	$0x08, $common64

	.code64
	.globl linux64_entry
linux64_entry:
	cli
	cld
	mov	%rsi, %rdi		/* first argument: boot_params */
	mov	$2, %esi		/* second argument: BOOT_LINUX64 */
	/* The boot protocol promises no stack: take ours before the far return below. */
	mov	$stack_top, %rsp
	lgdt	gdt_desc
	/* The loader's identity map covers this code; ours also maps the MMIO hole. */
	mov	$pml4, %rax
	mov	%rax, %cr3
	pushq	$0x08
	pushq	$common64
	lretq

common64:
	mov	%edi, %edi		/* upper halves are undefined after a mode switch */
	mov	%esi, %esi
	xor	%eax, %eax
	mov	$0x10, %ax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$stack_top, %rsp
	call	probe_main
1:	cli
	hlt
	jmp	1b

/* Exceptions: a stub per vector pushes (error code, vector) and reports through C. */
	.macro EXC_NOERR n
exc_\n:
	pushq	$0
	pushq	$\n
	jmp	exc_common
	.endm
	.macro EXC_ERR n
exc_\n:
	pushq	$\n
	jmp	exc_common
	.endm

	EXC_NOERR 0
	EXC_NOERR 1
	EXC_NOERR 2
	EXC_NOERR 3
	EXC_NOERR 4
	EXC_NOERR 5
	EXC_NOERR 6
	EXC_NOERR 7
	EXC_ERR 8
	EXC_NOERR 9
	EXC_ERR 10
	EXC_ERR 11
	EXC_ERR 12
	EXC_ERR 13
	EXC_ERR 14
	EXC_NOERR 15
	EXC_NOERR 16
	EXC_ERR 17
	EXC_NOERR 18
	EXC_NOERR 19
	EXC_NOERR 20
	EXC_ERR 21
	EXC_NOERR 22
	EXC_NOERR 23
	EXC_NOERR 24
	EXC_NOERR 25
	EXC_NOERR 26
	EXC_NOERR 27
	EXC_NOERR 28
	EXC_ERR 29
	EXC_ERR 30
	EXC_NOERR 31

exc_common:
	mov	%rsp, %rdi		/* struct exc_frame * */
	and	$-16, %rsp
	call	exception_report	/* does not return */
2:	cli
	hlt
	jmp	2b

/* Device interrupts: save what the C calling convention lets a callee clobber. The CPU
 * aligned RSP to 16 before its 40-byte frame, so 9 pushes leave it aligned for the call. */
	.macro IRQ_STUB name, handler
	.globl \name
\name:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	cld
	call	\handler
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq
	.endm

	/* One stub per virtio interrupt line: the line number goes to irq_virtio in %edi. */
	.macro VIRTIO_STUB n
virtio_stub_\n:
	push	%rdi
	mov	$\n, %edi
	jmp	virtio_stub_common
	.endm
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	VIRTIO_STUB \n
	.endr

/* %rdi is pushed already: 8 more pushes leave RSP aligned for the call, as in IRQ_STUB. */
virtio_stub_common:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	cld
	call	irq_virtio
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	pop	%rdi
	iretq

	IRQ_STUB irq_timer_stub, irq_timer
	IRQ_STUB irq_power_stub, irq_power

	/* The LAPIC's spurious vector needs no EOI. */
	.globl irq_spurious_stub
irq_spurious_stub:
	iretq

	.section .rodata
	.p2align 3
	.globl exc_stubs
exc_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exc_\n
	.endr

	.p2align 3
	.globl virtio_stubs
virtio_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	.quad virtio_stub_\n
	.endr

	.p2align 3
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

/* Identity map of the first 4 GiB with 2 MiB pages: 16 KiB of data, no code. */
	.section .data.pagetables, "aw"
	.p2align 12
pml4:
	.quad pdpt + PTE_PRESENT_RW
	.fill 511, 8, 0
pdpt:
	.quad pd0 + PTE_PRESENT_RW
	.quad pd1 + PTE_PRESENT_RW
	.quad pd2 + PTE_PRESENT_RW
	.quad pd3 + PTE_PRESENT_RW
	.fill 508, 8, 0
	.set addr, 0
pd0:
	.rept 512 * 3
	.quad addr + PDE_2M
	.set addr, addr + 0x200000
	.endr
pd1 = pd0 + 4096
pd2 = pd0 + 8192
pd3:
	.rept 512
	.quad addr + PDE_2M_UC
	.set addr, addr + 0x200000
	.endr

	.section .bss
	.p2align 12
stack_bottom:
	.skip 32768
stack_top:
