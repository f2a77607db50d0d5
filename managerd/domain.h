/*
 * A domain: its definitions, its VMM process and QMP connection, its queue of calls.
 * domain.c runs its life (Start, Shutdown, Destroy, the VMM's exit, its XML); the other
 * files that work on a domain have headers of their own (domain-device.h, domain-hotplug.h,
 * vmm-process.h, restore.h). Errors follow the contract written in manager.h.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "domain-conf.h"
#include "job.h"

/* How long Start waits for the VMM's QMP socket. */
#define DOMAIN_START_TIMEOUT_MS 10000
/* Bytes of a domain's StateReason sentence (it names the runtime folder). */
#define DOMAIN_REASON_MAX 640

enum domain_state {
	DOMAIN_SHUTOFF,
	DOMAIN_RUNNING,
	DOMAIN_PAUSED,
	DOMAIN_CRASHED,
	_DOMAIN_STATE_MAX,
	_DOMAIN_STATE_INVALID = -1,
};

/* Flags of AttachDevice/DetachDevice/GetXML, as libvirt's virDomainModificationImpact. */
enum {
	DOMAIN_AFFECT_CURRENT = 0,
	DOMAIN_AFFECT_LIVE = 1 << 0,
	DOMAIN_AFFECT_CONFIG = 1 << 1,
};

struct manager;
struct qmp_client;

struct domain {
	struct manager *manager;
	struct domain *next;
	char uuid[DOMAIN_UUID_STRING_MAX + 1];
	char name[DOMAIN_NAME_MAX + 1];
	struct domain_def *def;   /* the persistent definition */
	struct domain_def *live;  /* what the VMM runs, while it runs */
	bool autostart;
	enum domain_state state;
	bool stopping;            /* Shutdown/Destroy asked: the exit is not a crash */
	bool restoring;           /* its restore job (restore.c) has not ended yet */
	int exit_status;          /* of the last VMM (128 + signal if killed), -1 if unknown */
	int exit_signal;          /* the signal that ended the last VMM, 0 if none or unknown */
	char state_reason[DOMAIN_REASON_MAX]; /* why it crashed, translated; "" otherwise */

	pid_t pid;
	uint64_t start_time;
	int pidfd;
	struct qmp_client *qmp;
	char rundir[256];
	uint8_t nic_macs[CONF_NIC_SLOTS][MAC_LEN]; /* fixed when the VMM starts */

	struct job_queue jobs;     /* calls waiting for this domain's worker (job.c) */
};

/* A domain of m, shut off, with def (taken over); the manager keeps the list. */
int domain_new(struct manager *m, struct domain_def *def, bool autostart, struct domain **ret);
/* Cancels its jobs that never ran, closes its QMP connection and pidfd, frees it. */
struct domain *domain_free(struct domain *d);
const char *domain_state_to_string(enum domain_state s);
int domain_start(struct domain *d, char **ret_error);
int domain_shutdown(struct domain *d, char **ret_error);
int domain_destroy(struct domain *d, char **ret_error);
/* QMP stop / cont: State paused / running. */
int domain_suspend(struct domain *d, char **ret_error);
int domain_resume(struct domain *d, char **ret_error);
int domain_set_autostart(struct domain *d, bool autostart, char **ret_error);
int domain_get_xml(struct domain *d, unsigned flags, char **ret_xml, char **ret_error);
bool domain_is_active(const struct domain *d);
/* Watches the VMM (pidfd, QMP) from the loop: internal to domain.c and restore.c. */
int domain_watch(struct domain *d);
/* A new QMP connection to the running VMM (drops what the VMM kept for the old one). */
int domain_qmp_reconnect(struct domain *d);
/* The VMM is gone (or was destroyed): clean up and record the new state. */
void domain_stopped(struct domain *d, enum domain_state state);
