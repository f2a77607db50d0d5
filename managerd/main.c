/* mvirtd: options, signals, the bus connection and the main loop. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "dbus-util.h"
#include "i18n.h"
#include "image.h"
#include "job.h"
#include "log.h"
#include "loop.h"
#include "manager-dbus.h"
#include "manager.h"
#include "qmp-client.h"
#include "restore.h"
#include "util.h"

#ifndef BINDIR
#define BINDIR "/usr/local/bin"
#endif

enum bus_kind { BUS_SYSTEM, BUS_SESSION, BUS_ADDRESS };

struct options {
	enum bus_kind bus;
	const char *address;
	bool image_dir_given;  /* the first --image-dir replaces the default */
	struct manager_config cfg;
};

/* The VMM's user when --vmm-user is not given and it exists (managerd/data/mvirt.sysusers). */
#define VMM_DEFAULT_USER "mvirt-vmm"
#define IMAGE_DIR_DEFAULT "/var/lib/mvirt/images"

static void usage(void)
{
	printf(_("Usage: mvirtd [--system|--session|--bus-address ADDR] [--state-dir DIR]\n"
		 "              [--runtime-dir DIR] [--vmm PATH] [--no-create-bridges]\n"
		 "              [--shutdown-timeout SECONDS] [--image-dir DIR]... [--allow-devices]\n"
		 "              [--vmm-user USER] [--no-sandbox] [--debug] [--version] [--help]\n"
		 "Serves org.mvirt.Manager1 on D-Bus and runs one mvirt-vmm per running domain.\n"
		 "Defaults: the system bus, /var/lib/mvirt and /run/mvirt; the VMM from --vmm,\n"
		 "else $MVIRT_VMM, else %s/mvirt-vmm. --no-create-bridges refuses NICs whose\n"
		 "bridge does not exist; Shutdown destroys a guest that has not powered off after\n"
		 "--shutdown-timeout seconds (default %d).\n"
		 "Disk images must lie in an --image-dir (repeatable, default %s); devices\n"
		 "only with --allow-devices. mvirtd opens images and TAPs itself and runs the VMM\n"
		 "as --vmm-user (default %s if that user exists) in a sandbox that sees only its\n"
		 "runtime folder; --no-sandbox leaves the VMM the whole file system (debugging).\n"),
	       BINDIR, DOMAIN_SHUTDOWN_TIMEOUT_MS / 1000, IMAGE_DIR_DEFAULT, VMM_DEFAULT_USER);
}

static int shutdown_timeout_parse(const char *s, int *ret_ms)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	/* A day is far beyond any guest's power-off; the bound keeps the milliseconds in an int. */
	if (errno || end == s || *end || v < 1 || v > 86400) {
		fprintf(stderr, _("--shutdown-timeout takes whole seconds from 1 to 86400, not %s.\n"),
			s);
		return -EINVAL;
	}
	*ret_ms = (int)v * 1000;
	return 0;
}

static int image_dir_add(struct options *o, const char *dir)
{
	struct image_policy *p = &o->cfg.images;

	if (!o->image_dir_given)
		p->n_dirs = 0;
	o->image_dir_given = true;
	if (dir[0] != '/') {
		fprintf(stderr, _("--image-dir takes an absolute folder, not %s.\n"), dir);
		return -EINVAL;
	}
	if (p->n_dirs >= IMAGE_DIRS_MAX) {
		fprintf(stderr, _("--image-dir may be given at most %d times; %s is one too many.\n"),
			IMAGE_DIRS_MAX, dir);
		return -EINVAL;
	}
	p->dirs[p->n_dirs++] = dir;
	return 0;
}

/*
 * Who the VMM runs as: --vmm-user, else mvirt-vmm if it exists, else mvirtd's own user with
 * a warning. Dropping to a user and the sandbox need root; without it the VMM simply runs as
 * mvirtd's user, as it must.
 */
static int vmm_user_resolve(struct manager_config *cfg)
{
	const char *name = cfg->vmm_user ? cfg->vmm_user : VMM_DEFAULT_USER;
	struct passwd *pw;

	if (geteuid() != 0) {
		if (cfg->vmm_user) {
			log_error(_("--vmm-user %s needs mvirtd to run as root."), cfg->vmm_user);
			return -EPERM;
		}
		log_info("mvirtd does not run as root: the VMMs run as its user, without sandbox.");
		cfg->sandbox = false;
		return 0;
	}
	errno = 0;
	pw = getpwnam(name);
	if (!pw && cfg->vmm_user) {
		log_error(_("--vmm-user names %s, but there is no such user."), name);
		return -ENOENT;
	}
	if (!pw || pw->pw_uid == 0) {
		if (!cfg->vmm_user)
			log_warning(_("There is no user %s: the VMMs run as root (create it, or "
				      "give --vmm-user)."), name);
		cfg->vmm_user = NULL;
		return 0;
	}
	cfg->vmm_user = name;
	cfg->vmm_uid = pw->pw_uid;
	cfg->vmm_gid = pw->pw_gid;
	return 0;
}

/* 1 to run, 0 to exit with success (--help, --version), -EINVAL on bad options. */
static int options_parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "system", no_argument, NULL, 'S' },	{ "session", no_argument, NULL, 's' },
		{ "bus-address", required_argument, NULL, 'a' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "vmm", required_argument, NULL, 'v' },	{ "debug", no_argument, NULL, 'D' },
		{ "no-create-bridges", no_argument, NULL, 'B' },
		{ "shutdown-timeout", required_argument, NULL, 'T' },
		{ "image-dir", required_argument, NULL, 'I' },
		{ "allow-devices", no_argument, NULL, 'A' },
		{ "vmm-user", required_argument, NULL, 'U' },
		{ "no-sandbox", no_argument, NULL, 'N' },
		{ "version", no_argument, NULL, 'V' },	{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
		switch (c) {
		case 'S': o->bus = BUS_SYSTEM; break;
		case 's': o->bus = BUS_SESSION; break;
		case 'a': o->bus = BUS_ADDRESS; o->address = optarg; break;
		case 'd': o->cfg.state_dir = optarg; break;
		case 'r': o->cfg.runtime_dir = optarg; break;
		case 'v': o->cfg.vmm_path = optarg; break;
		case 'D': log_set_level(LOG_LEVEL_DEBUG); break;
		case 'B': o->cfg.allow_bridge_create = false; break;
		case 'T':
			if (shutdown_timeout_parse(optarg, &o->cfg.shutdown_timeout_ms) < 0)
				return -EINVAL;
			break;
		case 'I':
			if (image_dir_add(o, optarg) < 0)
				return -EINVAL;
			break;
		case 'A': o->cfg.images.allow_devices = true; break;
		case 'U': o->cfg.vmm_user = optarg; break;
		case 'N': o->cfg.sandbox = false; break;
		case 'V': printf("mvirtd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(); return 0;
		default:
			fprintf(stderr, _("Run 'mvirtd --help' for the options.\n"));
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, _("mvirtd takes no arguments, but got %s.\n"), argv[optind]);
		return -EINVAL;
	}
	return 1;
}

static DBusConnection *bus_connect(const struct options *o)
{
	DBusConnection *conn;
	DBusError e;

	dbus_error_init(&e);
	if (o->bus == BUS_ADDRESS) {
		conn = dbus_connection_open_private(o->address, &e);
		if (conn && !dbus_bus_register(conn, &e)) {
			dbus_connection_close(conn);
			dbus_connection_unref(conn);
			conn = NULL;
		}
	} else
		conn = dbus_bus_get_private(o->bus == BUS_SYSTEM ? DBUS_BUS_SYSTEM : DBUS_BUS_SESSION,
					    &e);
	if (!conn) {
		log_error(_("Cannot connect to the D-Bus bus: %s."), e.message);
		dbus_error_free(&e);
		return NULL;
	}
	dbus_connection_set_exit_on_disconnect(conn, FALSE);
	return conn;
}

static int bus_claim_name(DBusConnection *conn)
{
	DBusError e;
	int r;

	dbus_error_init(&e);
	r = dbus_bus_request_name(conn, MVIRT_BUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, &e);
	if (r == DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER)
		return 0;
	if (dbus_error_is_set(&e))
		log_error(_("Cannot own the bus name %s (%s): is another mvirtd running?"),
			  MVIRT_BUS_NAME, e.message);
	else
		log_error(_("Cannot own the bus name %s: another program holds it; is another "
			    "mvirtd running?"), MVIRT_BUS_NAME);
	dbus_error_free(&e);
	return -EEXIST;
}

static void on_signal(int fd, short revents, void *userdata)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("Received signal %u; exiting and leaving the VMs running.", si.ssi_signo);
	loop_quit(userdata, 0);
}

static int signals_setup(struct loop *l)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return loop_add_io(l, &signals_setup, fd, POLLIN, on_signal, l);
}

static int run(struct options *o)
{
	struct loop *l = NULL;
	struct manager *m = NULL;
	DBusConnection *conn = NULL;
	int r;

	r = loop_new(&l);
	if (r >= 0)
		r = jobs_init(l);
	/* A worker waiting for its VMM's QMP reply lets the others run meanwhile. */
	qmp_client_set_wait_hooks(job_blocking_begin, job_blocking_end);
	if (r >= 0)
		r = signals_setup(l);
	if (r >= 0)
		r = manager_new(&o->cfg, l, &m);
	if (r >= 0 && !(conn = bus_connect(o)))
		r = -ECONNREFUSED;
	if (r >= 0)
		r = dbus_loop_attach(conn, l) ?: manager_dbus_register(conn, m);
	if (r >= 0)
		r = manager_restore(m);
	if (r >= 0)
		r = bus_claim_name(conn);
	if (r >= 0) {
		log_info("mvirtd is ready on %s.", MVIRT_BUS_NAME);
		r = loop_run(l);
	}
	/* Jobs may still be waiting for VMMs; they end within their QMP timeouts. */
	jobs_drain();
	if (m)
		manager_detach_all(m);
	if (conn) {
		dbus_connection_close(conn);
		dbus_connection_unref(conn);
	}
	manager_free(m);
	loop_free(l);
	return r;
}

int main(int argc, char **argv)
{
	struct options o = { .bus = BUS_SYSTEM,
			     .cfg = { .state_dir = "/var/lib/mvirt", .runtime_dir = "/run/mvirt",
				      .allow_bridge_create = true,
				      .shutdown_timeout_ms = DOMAIN_SHUTDOWN_TIMEOUT_MS,
				      .images = { .dirs = { IMAGE_DIR_DEFAULT }, .n_dirs = 1 },
				      .sandbox = true } };
	int r;

	i18n_init();
	/* Job workers send replies and signals while the loop waits for the bus. */
	if (!dbus_threads_init_default())
		return 1;
	log_set_ident("mvirtd");
	r = options_parse(argc, argv, &o);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	if (!o.cfg.vmm_path)
		o.cfg.vmm_path = getenv("MVIRT_VMM");
	if (isempty(o.cfg.vmm_path))
		o.cfg.vmm_path = BINDIR "/mvirt-vmm";
	if (vmm_user_resolve(&o.cfg) < 0)
		return 1;
	r = run(&o);
	return r < 0 ? 1 : 0;
}
