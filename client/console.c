/*
 * console DOM: relays the terminal to the VMM's serial console socket,
 * <runtime-dir>/<name>/console.sock (vmm-contract.h: the daemon's convention; the
 * D-Bus API does not carry the path). Ctrl-] ends it, as in virsh; the terminal's mode
 * is restored however it ends.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "bus.h"
#include "commands.h"
#include "i18n.h"
#include "util.h"
#include "vmm-contract.h"

#define CONSOLE_ESCAPE 0x1d /* Ctrl-] */
#define CONSOLE_BUF 4096

struct console {
	int sock, sigfd;
	bool raw;
	bool stdin_open;
	struct termios saved;
};

static int console_socket(const char *runtime_dir, const char *name, int *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s/" MVIRT_RUNTIME_CONSOLE_SOCKET,
		     runtime_dir, name);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

static void console_raw(struct console *con)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &con->saved) < 0)
		return;
	t = con->saved;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		con->raw = true;
}

static void console_restore(struct console *con)
{
	if (con->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &con->saved);
	con->raw = false;
}

/* Returns 1 to go on, 0 when the user typed the escape key or stdin ended, <0 on error. */
static int relay_stdin(struct console *con)
{
	char buf[CONSOLE_BUF];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
	char *esc;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0) {
		/* Not a terminal and nothing more to send: keep showing the guest's output. */
		con->stdin_open = false;
		return 1;
	}
	esc = memchr(buf, CONSOLE_ESCAPE, n);
	if (esc)
		n = esc - buf;
	if (n > 0 && write_full(con->sock, buf, n) < 0)
		return -errno;
	return esc ? 0 : 1;
}

static int relay_socket(struct console *con)
{
	char buf[CONSOLE_BUF];
	ssize_t n = read(con->sock, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	if (write_full(STDOUT_FILENO, buf, n) < 0)
		return -errno;
	return 1;
}

static int console_loop(struct console *con)
{
	int r = 1;

	while (r > 0) {
		struct pollfd p[3] = {
			{ .fd = con->sock, .events = POLLIN },
			{ .fd = con->sigfd, .events = POLLIN },
			{ .fd = con->stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			return 0;
		if (p[0].revents)
			r = relay_socket(con);
		if (r > 0 && p[2].revents)
			r = relay_stdin(con);
	}
	return r;
}

static int domain_name(const struct ctl_args *a, char *ret)
{
	struct ctl_domain_info info = {};
	int r;

	r = ctl_fetch_domain_info(a, &info);
	if (r != CTL_EXIT_OK)
		return r;
	if (!streq(info.state, "running") && !streq(info.state, "paused"))
		return ctl_fail(a->argv[0], _("The domain is not running, so it has no console; "
					      "start it first."));
	memcpy(ret, info.name, CTL_FIELD_MAX);
	return CTL_EXIT_OK;
}

int cmd_console(const struct ctl_args *a)
{
	struct console con = { .sock = -1, .sigfd = -1, .stdin_open = true };
	char name[CTL_FIELD_MAX], msg[512];
	sigset_t mask;
	int r;

	r = domain_name(a, name);
	if (r != CTL_EXIT_OK)
		return r;
	r = console_socket(a->runtime_dir, name, &con.sock);
	if (r < 0) {
		snprintf(msg, sizeof(msg), _("Cannot connect to the console socket %s/%s/%s: %s (is "
					     "--runtime-dir the daemon's?)."),
			 a->runtime_dir, name, MVIRT_RUNTIME_CONSOLE_SOCKET, strerror(-r));
		return ctl_fail(a->argv[0], msg);
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	con.sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	fprintf(stderr, _("Connected to domain '%s'.\nEscape character is ^] (Ctrl + ]).\n"), name);
	console_raw(&con);
	r = console_loop(&con);
	console_restore(&con);
	safe_close(con.sock);
	safe_close(con.sigfd);
	if (r < 0) {
		snprintf(msg, sizeof(msg), _("The console connection failed: %s."), strerror(-r));
		return ctl_fail(a->argv[0], msg);
	}
	fputc('\n', stderr);
	return CTL_EXIT_OK;
}
