/* One mvirt-vmm process per running domain: launching it, waiting for its QMP socket, and
 * what its exit or its absence means. Errors as manager.h says. */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

struct domain;
struct manager_config;

/* Starts d's VMM as cfg says (its path, user, sandbox, image folders). */
int vmm_spawn(struct domain *d, const struct manager_config *cfg, char **ret_error);
int vmm_wait_qmp(struct domain *d, int timeout_ms, char **ret_error);
/* Connects d->qmp to path and checks that d's VMM (d->pid) serves it: -EPERM otherwise. */
int vmm_qmp_connect(struct domain *d, const char *path, int timeout_ms);
/* Keeps the exit status and signal of the VMM the waitid() result si describes. */
void vmm_exit_record(struct domain *d, const siginfo_t *si);
/* Sets d->state_reason to a sentence saying why the last VMM ended (its status or signal). */
void vmm_exit_reason(struct domain *d);
/* -ESRCH unless pid is alive and started at start_time. */
int vmm_check_alive(pid_t pid, uint64_t start_time);
