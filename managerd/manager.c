/* The manager: the store and the list of domains (define, lookup, undefine). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain-conf.h"
#include "domain.h"
#include "i18n.h"
#include "image.h"
#include "job.h"
#include "log.h"
#include "loop.h"
#include "manager.h"
#include "qmp-client.h"
#include "store.h"
#include "util.h"

struct manager {
	struct manager_config cfg;
	struct loop *loop;
	struct store *store;
	struct domain *domains;
	unsigned n_domains;
	struct manager_notify notify;
	void *notify_userdata;
};

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[512];

	if (str_copy(buf, sizeof(buf), path) < 0)
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Sets fd's mode to mode unless it has it already (a read-only mount is left to the store). */
static int fd_mode_ensure(int fd, mode_t mode)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((st.st_mode & 07777) == mode)
		return 0;
	return fchmod(fd, mode) < 0 && errno != EROFS ? -errno : 0;
}

/*
 * The state folder holds the database, which describes every domain: only root (the daemon's
 * user) may enter it, whatever mode an earlier version or an administrator left. The database
 * files are made 0600 before SQLite opens them; SQLite gives -wal and -shm the database
 * file's mode when it creates them. Opened with O_NOFOLLOW relative to the checked folder.
 */
static int state_dir_prepare(const char *dir)
{
	static const char *const files[] = { "mvirt.db", "mvirt.db-wal", "mvirt.db-shm" };
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	int r;

	if (dfd < 0 || fstat(dfd, &st) < 0)
		return log_error_errno(errno, _("Cannot open the state folder %s: %m."), dir);
	if (st.st_uid != geteuid())
		return log_error_errno(-EPERM, _("The state folder %s belongs to user %u, not to "
						 "mvirtd's user %u; give it to that user."), dir,
				       (unsigned)st.st_uid, (unsigned)geteuid());
	r = fd_mode_ensure(dfd, 0700);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(files); i++) {
		_cleanup_close_ int fd = openat(dfd, files[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
						(i == 0 ? O_CREAT : 0), 0600);

		if (fd < 0 && (errno == ENOENT || errno == EROFS))
			continue;
		r = fd < 0 ? -errno : fd_mode_ensure(fd, 0600);
	}
	if (r < 0)
		return log_error_errno(r, _("Cannot make the state folder %s and its database "
					    "readable by root alone: %m."), dir);
	return 0;
}

int manager_new(const struct manager_config *cfg, struct loop *loop, struct manager **ret)
{
	_cleanup_free_ char *db = NULL, *err = NULL;
	struct manager *m;
	int r;

	r = mkdir_p(cfg->state_dir, 0700);
	if (r < 0)
		return log_error_errno(r, _("Cannot create the state folder %s: %m."), cfg->state_dir);
	r = state_dir_prepare(cfg->state_dir);
	if (r < 0)
		return r;
	r = mkdir_p(cfg->runtime_dir, 0700);
	if (r < 0)
		return log_error_errno(r, _("Cannot create the runtime folder %s: %m."),
				       cfg->runtime_dir);
	if (asprintf(&db, "%s/mvirt.db", cfg->state_dir) < 0)
		return -ENOMEM;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	m->loop = loop;
	r = store_open(db, &m->store, &err);
	if (r < 0) {
		free(m);
		return log_error_errno(r, "%s", err ? err : _("Cannot open the database."));
	}
	*ret = m;
	return 0;
}

struct manager *manager_free(struct manager *m)
{
	if (!m)
		return NULL;
	while (m->domains) {
		struct domain *d = m->domains;

		m->domains = d->next;
		loop_remove(m->loop, d);
		loop_remove(m->loop, &d->qmp);
		domain_free(d);
	}
	store_close(m->store);
	free(m);
	return NULL;
}

void manager_detach_all(struct manager *m)
{
	for (struct domain *d = m->domains; d; d = d->next) {
		loop_remove(m->loop, d);
		loop_remove(m->loop, &d->qmp);
		d->qmp = qmp_client_free(d->qmp);
	}
}

void manager_set_notify(struct manager *m, const struct manager_notify *n, void *userdata)
{
	m->notify = *n;
	m->notify_userdata = userdata;
}

struct loop *manager_loop(struct manager *m)
{
	return m->loop;
}

const struct manager_config *manager_config(struct manager *m)
{
	return &m->cfg;
}

struct store *manager_store(struct manager *m)
{
	return m->store;
}

void manager_notify_state(struct domain *d)
{
	struct manager *m = d->manager;

	if (m->notify.state_changed)
		m->notify.state_changed(d, m->notify_userdata);
}

void manager_notify_device(struct domain *d, enum device_event ev, const char *alias)
{
	struct manager *m = d->manager;

	if (m->notify.device)
		m->notify.device(d, ev, alias, m->notify_userdata);
}

int manager_domain_add(struct manager *m, struct domain_def *def, bool autostart,
		       struct domain **ret)
{
	struct domain *d;
	int r;

	if (m->n_domains >= MANAGER_DOMAINS_MAX)
		return -ENOSPC;
	r = domain_new(m, def, autostart, &d);
	if (r < 0)
		return r;
	d->next = m->domains;
	m->domains = d;
	m->n_domains++;
	if (m->notify.domain_added)
		m->notify.domain_added(d, m->notify_userdata);
	*ret = d;
	return 0;
}

struct domain *manager_lookup_name(struct manager *m, const char *name)
{
	for (struct domain *d = m->domains; d; d = d->next)
		if (streq(d->name, name))
			return d;
	return NULL;
}

struct domain *manager_lookup_uuid(struct manager *m, const char *uuid)
{
	char norm[DOMAIN_UUID_STRING_MAX + 1];

	if (uuid_normalize(uuid, norm) < 0)
		return NULL;
	for (struct domain *d = m->domains; d; d = d->next)
		if (streq(d->uuid, norm))
			return d;
	return NULL;
}

struct domain *manager_first(struct manager *m)
{
	return m->domains;
}

static int define_store(struct manager *m, struct domain *old, const struct domain_def *def,
			const char *xml, char **ret_error)
{
	struct store_domain row = { .definition = (char *)xml };

	if (old)
		return store_domain_update(m->store, def->uuid, def->name, xml, ret_error);
	memcpy(row.uuid, def->uuid, sizeof(row.uuid));
	memcpy(row.name, def->name, sizeof(def->name));
	return store_domain_insert(m->store, &row, ret_error);
}

/* Every file a definition names lies in the image folders: refused when it is accepted, not
 * only at the next Start. The kernel and initrd are opened as root. */
static int define_paths_check(struct manager *m, const struct domain_def *def, char **ret_error)
{
	const struct image_policy *p = &m->cfg.images;
	int r = image_def_check(p, def->kernel, ret_error);

	if (r >= 0 && !isempty(def->initrd))
		r = image_def_check(p, def->initrd, ret_error);
	for (size_t i = 0; r >= 0 && i < def->n_disks; i++)
		r = image_def_check(p, def->disks[i].source, ret_error);
	return r;
}

int manager_define(struct manager *m, const char *xml, struct domain **ret, char **ret_error)
{
	_cleanup_domain_def_ struct domain_def *def = NULL;
	_cleanup_free_ char *formatted = NULL;
	struct domain *old, *same_name;
	int r;

	/* The caller's document is parsed without the big lock: nothing shared is read. */
	job_unlocked_begin();
	r = domain_def_parse(xml, &def, ret_error);
	job_unlocked_end();
	if (r < 0)
		return -EBADMSG;
	r = domain_def_validate(def, ret_error);
	if (r >= 0)
		r = define_paths_check(m, def, ret_error);
	if (r < 0)
		return r;
	domain_def_ensure_aliases(def);
	old = manager_lookup_uuid(m, def->uuid);
	same_name = manager_lookup_name(m, def->name);
	if (same_name && same_name != old)
		return error_set_first(ret_error, -EEXIST,
			_("A domain called %s already exists with UUID %s; pick another name "
			  "or undefine it first."),
			def->name, same_name->uuid);
	/* A job of that domain may be reading its definition between two waits. */
	if (old && job_queue_busy(&old->jobs))
		return error_set_first(ret_error, -EBUSY,
			_("Domain %s has calls in progress; define it again when they "
			  "finish."),
			old->name);
	if (old && domain_is_active(old) && !streq(old->name, def->name))
		return error_set_first(ret_error, -EALREADY,
			_("Domain %s is running and cannot be renamed to %s; shut it down "
			  "first."),
			old->name, def->name);
	r = domain_def_format(def, &formatted);
	if (r < 0)
		return r;
	r = define_store(m, old, def, formatted, ret_error);
	if (r < 0)
		return r;
	if (old) {
		domain_def_free(old->def);
		old->def = TAKE_PTR(def);
		memcpy(old->name, old->def->name, sizeof(old->name));
		*ret = old;
		return 0;
	}
	r = manager_domain_add(m, def, false, ret);
	if (r < 0)
		return r;
	TAKE_PTR(def);
	return 0;
}

int manager_undefine(struct manager *m, struct domain *d, char **ret_error)
{
	struct domain **p;
	int r;

	if (domain_is_active(d))
		return error_set_first(ret_error, -EALREADY,
			_("Domain %s is running; destroy or shut it down before undefining "
			  "it."),
			d->name);
	if (job_queue_busy(&d->jobs))
		return error_set_first(ret_error, -EBUSY,
			_("Domain %s has calls in progress; undefine it when they finish."),
			d->name);
	r = store_domain_delete(m->store, d->uuid, ret_error);
	if (r < 0)
		return r;
	for (p = &m->domains; *p && *p != d; p = &(*p)->next)
		;
	if (*p)
		*p = d->next;
	m->n_domains--;
	if (m->notify.domain_removed)
		m->notify.domain_removed(d, m->notify_userdata);
	loop_remove(m->loop, d);
	domain_free(d);
	return 0;
}
