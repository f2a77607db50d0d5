#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <seccomp.h> /* libseccomp; ours is seccomp-rules.h */
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include "cleanup.h"
#include "log.h"
#include "seccomp-rules.h"

/* TUN ioctls, spelled out so this file does not need <linux/if_tun.h>'s struct types. */
#define TUNSETIFF_NR _IOW('T', 202, int)
#define TUNSETVNETHDRSZ_NR _IOW('T', 216, int)
#define TUNGETIFF_NR _IOR('T', 210, unsigned int)

#define CALL(name) { SCMP_SYS(name), 0, SECCOMP_ANY_ARG }
#define IOCTL(req) { SCMP_SYS(ioctl), 1, (unsigned long)(req) }
#define FCNTL(cmd) { SCMP_SYS(fcntl), 1, (unsigned long)(cmd) }
#define SOCKET(domain) { SCMP_SYS(socket), 0, (unsigned long)(domain) }

/* Calls every thread makes, mostly through libc: memory, locks, signals, time, logging, exit. */
#define COMMON_RULES                                                                              \
	CALL(brk),            /* malloc growing the heap */                                       \
	CALL(mmap),           /* malloc's large blocks and thread arenas */                       \
	CALL(munmap),         /* free() of those */                                               \
	CALL(madvise),        /* glibc returning arena memory */                                  \
	CALL(mprotect),       /* glibc arenas */                                                  \
	CALL(futex),          /* pthread mutexes and condition variables */                       \
	CALL(rt_sigreturn),   /* returning from the vCPU kick signal handler */                   \
	CALL(rt_sigprocmask), /* pthread and signal masking */                                    \
	CALL(clock_gettime),  /* event timestamps when the vDSO falls back */                     \
	CALL(getpid),         /* pthread_kill(), with tgkill */                                   \
	CALL(tgkill),         /* kicking a vCPU thread out of KVM_RUN; abort() on any thread */   \
	CALL(write),          /* log lines, console output, eventfds (irqfd, loop wake-ups) */    \
	CALL(exit),           /* a thread ending */                                               \
	CALL(exit_group),     /* the VMM ending */                                                \
	CALL(restart_syscall) /* an interrupted sleep resuming */ SANITIZER_RULES

/* ./configure --enable-sanitizers: what the ASan runtime itself calls on every
 * thread, so that the sanitizer build runs under the same filters. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_RULES , \
	CALL(sigaltstack),    /* ASan's handler stack, set up and torn down per thread */ \
	CALL(gettid)          /* ASan's runtime finding the current thread, at exit too */
#else
#define SANITIZER_RULES
#endif

static const struct seccomp_rule vcpu_rules[] = {
	COMMON_RULES,
	IOCTL(KVM_RUN),        /* running the guest */
	IOCTL(KVM_IRQ_LINE),   /* raising a device interrupt without irqfd */
	IOCTL(KVM_GET_REGS),   /* register dumps on an emulation failure */
	IOCTL(KVM_GET_SREGS),  /* the same */
	IOCTL(KVM_TRANSLATE),  /* the same: where rip is, for the code bytes it shows */
	/* virtio-blk serves its queue on the QueueNotify exit (serve_on_exit). */
	CALL(preadv),          /* virtio-blk reads */
	CALL(pwritev),         /* virtio-blk writes */
	CALL(fdatasync),       /* VIRTIO_BLK_T_FLUSH */
	/* No epoll_ctl: a vCPU hands watch changes to the loop thread (eventloop.h). */
};

static const struct seccomp_rule main_rules[] = {
	COMMON_RULES,
	CALL(epoll_wait),      /* the event loop */
	CALL(epoll_pwait),     /* the same, where glibc has no epoll_wait(2) (arm64) */
	CALL(epoll_ctl),       /* adding and removing QMP clients, console clients, TAPs */
	CALL(read),            /* eventfds, the signalfd, the QMP timerfd, console input */
	CALL(readv),           /* TAP receive */
	CALL(writev),          /* TAP transmit */
	CALL(close),           /* backends closed on device_del, clients that leave */
	CALL(accept4),         /* QMP and console clients */
	{ SCMP_SYS(getsockopt), 2, SO_PEERCRED }, /* who a QMP client is: the last slot */
	CALL(recvmsg),         /* QMP requests, with SCM_RIGHTS for getfd */
	CALL(sendto),          /* QMP replies and events: send() */
	CALL(openat),          /* blockdev-add opening an image, netdev_add opening /dev/net/tun */
	CALL(newfstatat),      /* an image's size: fstat() */
	CALL(fstat),           /* the same, through older glibc */
	CALL(statx),           /* the same, through glibc on architectures without newfstatat */
	CALL(unlink),          /* removing the QMP socket and pidfile on exit */
	CALL(unlinkat),        /* the same, where glibc has no unlink(2) (arm64) */
	CALL(getrandom),       /* glibc's malloc setting up a new arena */
	FCNTL(F_GETFL),        /* making accepted sockets and TAPs non-blocking */
	FCNTL(F_SETFL),        /* the same */
	FCNTL(F_DUPFD_CLOEXEC), /* keeping a getfd fd */
	IOCTL(KVM_IRQ_LINE),   /* interrupts where irqfd is not used */
	SOCKET(AF_UNIX),       /* if_nametoindex(): netdev_add checks that the TAP exists */
	IOCTL(SIOCGIFINDEX),   /* the same */
	IOCTL(TUNSETIFF_NR),   /* netdev_add ifname=: attaching to a TAP */
	IOCTL(TUNGETIFF_NR),   /* checking a TAP passed with getfd */
	IOCTL(TUNSETVNETHDRSZ_NR), /* virtio-net's 12-byte header */
	IOCTL(BLKGETSIZE64),   /* the size of a block-device backend */
};

static const struct {
	const struct seccomp_rule *rules;
	unsigned count;
} rule_tables[_SECCOMP_THREAD_MAX] = {
	[SECCOMP_THREAD_MAIN] = { main_rules, ELEMENTSOF(main_rules) },
	[SECCOMP_THREAD_VCPU] = { vcpu_rules, ELEMENTSOF(vcpu_rules) },
};

unsigned seccomp_rule_count(enum seccomp_thread kind)
{
	return kind < _SECCOMP_THREAD_MAX ? rule_tables[kind].count : 0;
}

const struct seccomp_rule *seccomp_rules(enum seccomp_thread kind, unsigned *ret_count)
{
	if (kind >= _SECCOMP_THREAD_MAX)
		return NULL;
	*ret_count = rule_tables[kind].count;
	return rule_tables[kind].rules;
}

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *rule)
{
	if (rule->value == SECCOMP_ANY_ARG)
		return seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, rule->nr, 0);
	return seccomp_rule_add_exact(ctx, SCMP_ACT_ALLOW, rule->nr, 1,
		SCMP_CMP64(rule->arg, SCMP_CMP_EQ, rule->value));
}

static _Thread_local bool installed;

int seccomp_install(enum seccomp_thread kind)
{
	_cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
	int r;

	if (kind >= _SECCOMP_THREAD_MAX)
		return -EINVAL;
	/* Kill the process, not the thread: a half-dead VMM would hang its guest. */
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return log_error_errno(ENOMEM, "Failed to create a seccomp filter: %m");
	for (unsigned i = 0; i < rule_tables[kind].count; i++) {
		r = add_rule(ctx, &rule_tables[kind].rules[i]);
		/* A call the running kernel's architecture lacks (-EDOM) is simply left out. */
		if (r < 0 && r != -EDOM)
			return log_error_errno(r, "Failed to add seccomp rule %u: %m", i);
	}
	r = seccomp_load(ctx);
	if (r < 0)
		return log_error_errno(r, "Failed to install the seccomp filter: %m");
	installed = true;
	return 0;
}

bool seccomp_installed(void)
{
	return installed;
}
