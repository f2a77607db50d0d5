#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "arch/x86/layout.h"
#include "devices/serial.h"
#include "eventloop.h"
#include "i18n.h"
#include "kvm.h"
#include "log.h"
#include "util.h"

#define UART_RX_FIFO 64
#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NONE 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_FIFO 0xc0
#define UART_LCR_DLAB 0x80
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */

struct serial {
	struct vm *vm;
	struct event_loop *loop;
	pthread_mutex_t lock;
	/* UART registers. */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thr_pending;
	uint8_t rx[UART_RX_FIFO];
	unsigned rx_head, rx_len;
	bool irq_high;
	/* Console input waits in its fd while the receive FIFO is full: the loop stops
	 * watching it (input_paused), and the guest's read that makes room queues a call that
	 * watches it again (resume_queued) on the loop thread. */
	bool input_paused, resume_queued;
	/* Console. */
	enum console_kind kind;
	int out_fd;    /* stdout, the file, or the unix client; -1 for none */
	int in_fd;     /* stdin or the unix client; -1 for none */
	int listen_fd; /* CONSOLE_UNIX */
	int log_fd;
	char *socket_path;
};

static void serial_update_irq(struct serial *s)
{
	bool high = ((s->ier & UART_IER_RDI) && s->rx_len) ||
		((s->ier & UART_IER_THRI) && s->thr_pending);

	/* Edge-triggered ISA line: raise on a new condition, lower when it clears. */
	if (high != s->irq_high)
		vm_irq_line(s->vm, LAYOUT_SERIAL_GSI, high);
	s->irq_high = high;
}

static void serial_emit(struct serial *s, uint8_t c)
{
	if (s->out_fd >= 0 && write(s->out_fd, &c, 1) < 0 && errno != EAGAIN)
		log_debug_errno(errno, "Console write failed: %m");
	if (s->log_fd >= 0)
		(void)!write(s->log_fd, &c, 1);
}

static void console_resume(void *opaque);

static uint8_t serial_read_reg(struct serial *s, uint64_t off)
{
	uint8_t v;

	switch (off) {
	case 0:
		if (s->lcr & UART_LCR_DLAB)
			return s->dll;
		if (!s->rx_len)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % UART_RX_FIFO;
		s->rx_len--;
		if (s->input_paused && !s->resume_queued &&
			event_loop_call(s->loop, console_resume, s) == 0)
			s->resume_queued = true;
		return v;
	case 1:
		return (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
	case 2:
		v = UART_IIR_FIFO;
		if ((s->ier & UART_IER_RDI) && s->rx_len)
			return v | UART_IIR_RDI;
		if ((s->ier & UART_IER_THRI) && s->thr_pending) {
			s->thr_pending = false; /* reading IIR acknowledges THR empty */
			return v | UART_IIR_THRI;
		}
		return v | UART_IIR_NONE;
	case 3:
		return s->lcr;
	case 4:
		return s->mcr;
	case 5:
		return UART_LSR_THRE | UART_LSR_TEMT | (s->rx_len ? UART_LSR_DR : 0);
	case 6:
		return UART_MSR_DEFAULT;
	default:
		return s->scr;
	}
}

static void serial_write_reg(struct serial *s, uint64_t off, uint8_t v)
{
	switch (off) {
	case 0:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = v;
			return;
		}
		serial_emit(s, v);
		s->thr_pending = true;
		break;
	case 1:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = v;
			return;
		}
		if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
			s->thr_pending = true;
		s->ier = v & 0x0f;
		break;
	case 2:
		s->fcr = v;
		break;
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v;
		break;
	case 7:
		s->scr = v;
		break;
	default:
		break;
	}
}

static void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;

	if (len != 1) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (is_write)
		serial_write_reg(s, off, data[0]);
	else
		data[0] = serial_read_reg(s, off);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void console_drop_client(struct serial *s)
{
	event_loop_remove(s->loop, s->in_fd);
	safe_close(s->in_fd);
	s->in_fd = s->out_fd = -1;
}

static void console_input(struct event_loop *loop, int fd, uint32_t events,
	void *opaque)
{
	struct serial *s = opaque;
	uint8_t buf[UART_RX_FIFO];
	ssize_t n;

	pthread_mutex_lock(&s->lock);
	if (s->rx_len == UART_RX_FIFO) {
		/* Full: the rest waits in the fd until the guest reads (console_resume). */
		if (event_loop_modify(loop, fd, 0) == 0)
			s->input_paused = true;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	n = read(fd, buf, UART_RX_FIFO - s->rx_len);
	if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
		if (s->kind == CONSOLE_UNIX)
			console_drop_client(s);
		else
			event_loop_remove(s->loop, fd);
	}
	for (ssize_t i = 0; i < n; i++) {
		s->rx[(s->rx_head + s->rx_len) % UART_RX_FIFO] = buf[i];
		s->rx_len++;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void console_resume(void *opaque)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	s->resume_queued = false;
	if (s->input_paused && s->in_fd >= 0 && event_loop_modify(s->loop, s->in_fd, EPOLLIN) == 0)
		s->input_paused = false;
	pthread_mutex_unlock(&s->lock);
}

static void console_accept(struct event_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct serial *s = opaque;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->in_fd >= 0)
		console_drop_client(s); /* one client at a time: the newest wins */
	s->in_fd = s->out_fd = c;
	s->input_paused = false;
	if (event_loop_add(loop, c, EPOLLIN, console_input, s) < 0)
		console_drop_client(s);
	pthread_mutex_unlock(&s->lock);
}

static int console_listen(struct serial *s, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0)
		return log_error_errno(-ENAMETOOLONG, _("The console socket path %s is too long."),
			path);
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0)
		return -errno;
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_error_errno(errno, _("Cannot create the console socket %s: %m."), path);
	s->socket_path = strdup(path);
	if (!s->socket_path || listen(s->listen_fd, 1) < 0)
		return -ENOMEM;
	return event_loop_add(s->loop, s->listen_fd, EPOLLIN, console_accept, s);
}

static int console_open(struct serial *s, const struct console_config *cfg)
{
	if (cfg->logfile) {
		/* Opened as root in the VMM user's folder: see pidfile_write() in main.c. */
		s->log_fd = open_owned_file(cfg->logfile, O_WRONLY | O_APPEND, 0600);
		if (s->log_fd < 0)
			return log_error_errno(s->log_fd, _("Cannot open the console log %s: %m."),
				cfg->logfile);
	}
	switch (cfg->kind) {
	case CONSOLE_STDIO:
		s->out_fd = STDOUT_FILENO;
		if (isatty(STDIN_FILENO) || fcntl(STDIN_FILENO, F_GETFL) >= 0) {
			if (event_loop_add(s->loop, STDIN_FILENO, EPOLLIN, console_input, s) >= 0)
				s->in_fd = STDIN_FILENO;
		}
		return 0;
	case CONSOLE_FILE:
		s->out_fd = open(cfg->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (s->out_fd < 0)
			return log_error_errno(errno, _("Cannot open the console file %s: %m."),
				cfg->path);
		return 0;
	case CONSOLE_UNIX:
		return console_listen(s, cfg->path);
	default:
		return 0;
	}
}

int serial_new(struct vm *vm, struct event_loop *loop, const struct console_config *cfg,
	struct serial **ret)
{
	_cleanup_(serial_freep) struct serial *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->loop = loop;
	s->kind = cfg->kind;
	s->out_fd = s->in_fd = s->listen_fd = s->log_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	r = console_open(s, cfg);
	if (r < 0)
		return r;
	r = vm_bus_add(vm, BUS_PIO, LAYOUT_SERIAL_PORT, 8, serial_io, s);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

struct serial *serial_free(struct serial *s)
{
	if (!s)
		return NULL;
	if (s->in_fd >= 0)
		event_loop_remove(s->loop, s->in_fd);
	if (s->listen_fd >= 0)
		event_loop_remove(s->loop, s->listen_fd);
	if (s->in_fd > STDERR_FILENO)
		safe_close(s->in_fd);
	if (s->out_fd > STDERR_FILENO && s->out_fd != s->in_fd)
		safe_close(s->out_fd);
	safe_close(s->listen_fd);
	safe_close(s->log_fd);
	if (s->socket_path)
		unlink(s->socket_path);
	free(s->socket_path);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return NULL;
}
