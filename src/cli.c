/* flowcred-admin: the program behind the flowcred command.
 *
 * It stores IFS user IDs and passwords in the keyring, shows and deletes
 * them, checks connectors and prints access tokens for scripts. The
 * flowcred front end (src/cli-front.c) prints a token from the kernel key
 * cache itself when it can and runs this program for everything else, so
 * messages and help name the program "flowcred".
 *
 * All the work is done by the public API of libflowcred.so.1. This file
 * only parses arguments, reads passwords, prints results and maps
 * statuses to exit codes. Passwords and tokens live only in buffers this
 * file allocates: passwords are read into them with read(2), tokens are
 * written from them with write(2), and all are wiped with fc_wipe()
 * before they are freed. During a password prompt a terminating signal
 * wipes them too.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include "flowcred.h"
#include "wipe.h"

#define PROGRAM_NAME "flowcred"

/* Exit codes, documented in the help text. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_OTHER = 1,
	EXIT_USAGE = 2,
	EXIT_NOT_FOUND = 3,
	EXIT_DENIED = 4,
	EXIT_ACCOUNT = 5,
	EXIT_CLIENT_REJECTED = 6,
	EXIT_CONFIG = 7,
	EXIT_UNAVAILABLE = 8,
	EXIT_TRY_AGAIN = 9,
	EXIT_PROTOCOL = 10,
};

/* Exit code of each library status. A status missing here, or one added
 * by a later library release, exits with EXIT_OTHER. */
static const int status_exit_codes[] = {
	[FLOWCRED_OK] = EXIT_OK,
	[FLOWCRED_NOT_FOUND] = EXIT_NOT_FOUND,
	[FLOWCRED_DENIED] = EXIT_DENIED,
	[FLOWCRED_ACCOUNT] = EXIT_ACCOUNT,
	[FLOWCRED_CLIENT_REJECTED] = EXIT_CLIENT_REJECTED,
	[FLOWCRED_CONFIG] = EXIT_CONFIG,
	[FLOWCRED_UNAVAILABLE] = EXIT_UNAVAILABLE,
	[FLOWCRED_TRY_AGAIN] = EXIT_TRY_AGAIN,
	/* The CLI grows its buffers, so this status reaching the user is
	 * an internal error. */
	[FLOWCRED_BUFFER_TOO_SMALL] = EXIT_OTHER,
	[FLOWCRED_PROTOCOL] = EXIT_PROTOCOL,
	/* Every name the library checks comes from the command line. */
	[FLOWCRED_INVALID_ARGUMENT] = EXIT_USAGE,
	[FLOWCRED_NO_MEMORY] = EXIT_OTHER,
	[FLOWCRED_INTERNAL] = EXIT_OTHER,
};

/* Largest password accepted, in bytes. The bound makes a file passed on
 * standard input by mistake fail here instead of being sent as a
 * password. It is not a limit of IFS Cloud. */
#define PASSWORD_MAX 4096

/* First size of the token buffer. A larger token makes the CLI repeat
 * the call with the size the library reports. */
#define TOKEN_BUFFER_INITIAL (16 * 1024)

/* Number of calls tried when each result is larger than the size the
 * previous call reported, because the item or the token changed. */
#define BUFFER_ATTEMPTS_MAX 3

/* First size of the IFS user buffer of lookup; it grows on demand. */
#define IFS_USER_BUFFER_INITIAL 256

/* Number of times a password prompt restarts after the process was
 * stopped (Ctrl-Z) and continued. */
#define PROMPT_RESTARTS_MAX 10

/* Options a command may accept besides the global ones. */
enum command_option {
	ALLOW_IFS_USER = 1 << 0,
	ALLOW_PASSWORD_STDIN = 1 << 1,
	ALLOW_NO_PASSWORD = 1 << 2,
	ALLOW_FORMAT = 1 << 3,
};

enum output_format {
	FORMAT_TEXT,
	FORMAT_JSON,
};

struct cli_options;

struct command {
	const char *name;
	int min_args;
	int max_args;
	unsigned int allowed_options;
	/* Whether the context uses the kernel key cache, which the flowcred
	 * front end reads to print a cached token without starting this
	 * program. */
	bool kernel_cache;
	int (*run)(flowcred_ctx *ctx, const struct cli_options *opts);
	const char *synopsis;
};

struct cli_options {
	const char *config_path;	/* NULL: the library default */
	int verbosity;
	const char *ifs_user;
	bool password_stdin;
	bool no_password;
	enum output_format format;
	const struct command *command;
	char **args;			/* positional arguments after the command */
	int nargs;
};

/* A password in memory this program owns. data contains len bytes and a
 * NUL, and secret_clear() wipes and frees it. */
struct secret {
	char *data;
	size_t len;
	size_t size;
};

static int run_store(flowcred_ctx *ctx, const struct cli_options *opts);
static int run_lookup(flowcred_ctx *ctx, const struct cli_options *opts);
static int run_clear(flowcred_ctx *ctx, const struct cli_options *opts);
static int run_list(flowcred_ctx *ctx, const struct cli_options *opts);
static int run_token(flowcred_ctx *ctx, const struct cli_options *opts);
static int run_logout(flowcred_ctx *ctx, const struct cli_options *opts);
static int run_check(flowcred_ctx *ctx, const struct cli_options *opts);

static const struct command commands[] = {
	{ "store", 2, 2, ALLOW_IFS_USER | ALLOW_PASSWORD_STDIN |
	  ALLOW_NO_PASSWORD, false, run_store,
	  "store CONNECTOR FLOW_USER --ifs-user IFS_USER "
	  "[--password-stdin | --no-password]" },
	{ "lookup", 2, 2, 0, false, run_lookup, "lookup CONNECTOR FLOW_USER" },
	/* clear also drops the token cached for the Flow user. */
	{ "clear", 2, 2, 0, true, run_clear, "clear CONNECTOR FLOW_USER" },
	{ "list", 0, 1, 0, false, run_list, "list [CONNECTOR]" },
	{ "token", 2, 2, ALLOW_PASSWORD_STDIN | ALLOW_FORMAT, true, run_token,
	  "token CONNECTOR FLOW_USER [--password-stdin] [--format=text|json]" },
	{ "logout", 2, 2, 0, true, run_logout, "logout CONNECTOR FLOW_USER" },
	{ "check", 1, 1, 0, false, run_check, "check CONNECTOR" },
};

/* ---- Output helpers ---- */

/* Replaces control characters in s with '?', so that names and library
 * messages cannot move the cursor or split a line of list output. */
static void replace_control_chars(char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			*s = '?';
	}
}

/* Prints "flowcred: MESSAGE" on stderr. Callers never pass a secret. */
static void print_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void print_error(const char *fmt, ...)
{
	char message[2 * FLOWCRED_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	replace_control_chars(message);
	fprintf(stderr, "%s: %s\n", PROGRAM_NAME, message);
}

/* Prints "flowcred: WHAT: DETAIL" for a failed library call and returns
 * the exit code of status. An empty detail is replaced by the status
 * text. */
static int report_failure(flowcred_status status, const char *detail,
			  const char *what)
{
	const char *reason = detail[0] ? detail : flowcred_strerror(status);

	print_error("%s: %s", what, reason);
	if ((size_t)status < sizeof(status_exit_codes) /
			     sizeof(status_exit_codes[0]))
		return status_exit_codes[status];
	return EXIT_OTHER;
}

/* Writes all of buf to fd, retrying after signals and short writes.
 * Returns 0, or -1 with errno set. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- Secrets ---- */

/* Secrets allocated and not yet cleared, so that they can be wiped
 * before a signal ends the process during a password prompt. */
static struct secret *live_secrets[4];

static int secret_alloc(struct secret *s, size_t size)
{
	size_t i;

	for (i = 0; i < sizeof(live_secrets) / sizeof(live_secrets[0]); i++)
		if (!live_secrets[i])
			break;
	if (i == sizeof(live_secrets) / sizeof(live_secrets[0]))
		return -1;

	s->data = malloc(size);
	if (!s->data)
		return -1;
	s->size = size;
	s->len = 0;
	s->data[0] = '\0';
	live_secrets[i] = s;
	return 0;
}

static void secret_clear(struct secret *s)
{
	size_t i;

	if (s->data) {
		fc_wipe(s->data, s->size);
		free(s->data);
	}
	s->data = NULL;
	s->len = 0;
	s->size = 0;
	for (i = 0; i < sizeof(live_secrets) / sizeof(live_secrets[0]); i++)
		if (live_secrets[i] == s)
			live_secrets[i] = NULL;
}

/* Wipes the contents of every live secret without freeing it. */
static void wipe_live_secrets(void)
{
	size_t i;

	for (i = 0; i < sizeof(live_secrets) / sizeof(live_secrets[0]); i++) {
		struct secret *s = live_secrets[i];

		if (s && s->data) {
			fc_wipe(s->data, s->size);
			s->len = 0;
		}
	}
}

/* Checks a password read from standard input or the terminal: it must not
 * be empty and must not contain a NUL byte, which would cut it short.
 * Returns 0, or an exit code after printing the reason. */
static int validate_password(const struct secret *password,
			     const char *source)
{
	if (password->len == 0) {
		print_error("the password read from %s is empty", source);
		return EXIT_USAGE;
	}
	if (memchr(password->data, '\0', password->len)) {
		print_error("the password read from %s contains a NUL byte",
			    source);
		return EXIT_USAGE;
	}
	return 0;
}

/* Reads all of standard input as a password with read(2), so that no
 * stdio buffer keeps a copy, and removes one trailing newline. Returns 0
 * or an exit code after printing the reason; out is cleared on failure. */
static int read_password_stdin(struct secret *out)
{
	int rc;

	/* Room for PASSWORD_MAX bytes, one newline and the NUL. */
	if (secret_alloc(out, PASSWORD_MAX + 2) < 0) {
		print_error("out of memory");
		return EXIT_OTHER;
	}

	for (;;) {
		size_t room = out->size - 1 - out->len;
		char extra;
		ssize_t n;

		if (room == 0) {
			/* The buffer is full: any further byte means the
			 * input is too long. */
			n = read(STDIN_FILENO, &extra, 1);
			fc_wipe(&extra, sizeof(extra));
		} else {
			n = read(STDIN_FILENO, out->data + out->len, room);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			print_error("failed to read the password from standard input: %s",
				    strerror(errno));
			rc = EXIT_OTHER;
			goto fail;
		}
		if (n == 0)
			break;
		if (room == 0) {
			print_error("the password on standard input is longer than %d bytes",
				    PASSWORD_MAX);
			rc = EXIT_USAGE;
			goto fail;
		}
		out->len += (size_t)n;
	}

	if (out->len > 0 && out->data[out->len - 1] == '\n')
		out->len--;
	if (out->len > PASSWORD_MAX) {
		print_error("the password on standard input is longer than %d bytes",
			    PASSWORD_MAX);
		rc = EXIT_USAGE;
		goto fail;
	}
	out->data[out->len] = '\0';

	rc = validate_password(out, "standard input");
	if (rc)
		goto fail;
	return 0;

fail:
	secret_clear(out);
	return rc;
}

/* ---- Terminal prompt ---- */

/* Signals that interrupt a prompt. The terminal is restored before the
 * signal takes its usual effect. */
static const int prompt_signals[] = {
	SIGALRM, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU,
};

#define PROMPT_SIGNAL_COUNT \
	(sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static volatile sig_atomic_t prompt_caught[PROMPT_SIGNAL_COUNT];

static void record_prompt_signal(int signo)
{
	size_t i;

	for (i = 0; i < PROMPT_SIGNAL_COUNT; i++)
		if (prompt_signals[i] == signo)
			prompt_caught[i] = 1;
}

/* Moves the prompt signals that are pending while blocked into
 * prompt_caught, so that they are not delivered with the old handlers
 * before the secrets are wiped. */
static void collect_pending_prompt_signals(const sigset_t *prompt_set)
{
	const struct timespec no_wait = { 0, 0 };
	size_t i;
	int signo;

	/* Each call removes one pending signal, so the loop ends. */
	while ((signo = sigtimedwait(prompt_set, NULL, &no_wait)) > 0) {
		for (i = 0; i < PROMPT_SIGNAL_COUNT; i++)
			if (prompt_signals[i] == signo)
				prompt_caught[i] = 1;
	}
}

/* Reads one line from the terminal tty_fd into out with echo off.
 *
 * The prompt signals stay blocked except inside ppoll(), which unblocks
 * them atomically while it waits. So a signal that arrives at any point
 * ends the wait, and none is lost between a check and a blocking read.
 * Their handlers only record them. Once the terminal settings and the old
 * handlers are restored, the recorded signals are sent again to take
 * their usual effect.
 *
 * Returns 0 with the line in out (no newline), 1 when the process was
 * stopped and continued so the prompt must start over, or an exit code
 * after printing the reason. */
static int read_tty_line(int tty_fd, const char *prompt, struct secret *out)
{
	struct sigaction old_actions[PROMPT_SIGNAL_COUNT];
	struct sigaction action;
	sigset_t prompt_set, old_mask;
	struct termios saved, quiet;
	bool interrupted = false, stopped = false, too_long = false;
	bool newline_seen = false;
	int read_errno = 0;
	int rc;
	size_t i;

	out->len = 0;
	if (tcgetattr(tty_fd, &saved) < 0) {
		print_error("failed to read the terminal settings: %s",
			    strerror(errno));
		return EXIT_OTHER;
	}

	sigemptyset(&prompt_set);
	for (i = 0; i < PROMPT_SIGNAL_COUNT; i++)
		sigaddset(&prompt_set, prompt_signals[i]);
	sigprocmask(SIG_BLOCK, &prompt_set, &old_mask);

	memset(&action, 0, sizeof(action));
	action.sa_handler = record_prompt_signal;
	sigemptyset(&action.sa_mask);
	for (i = 0; i < PROMPT_SIGNAL_COUNT; i++) {
		prompt_caught[i] = 0;
		sigaction(prompt_signals[i], &action, &old_actions[i]);
	}

	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL;
	if (tcsetattr(tty_fd, TCSAFLUSH, &quiet) < 0 ||
	    write_all(tty_fd, prompt, strlen(prompt)) < 0) {
		read_errno = errno;
		goto restore;
	}

	for (;;) {
		struct pollfd pfd = { .fd = tty_fd, .events = POLLIN };
		ssize_t n;
		char c;

		/* In canonical mode the terminal is readable only once a
		 * whole line or end of file has been typed, so the read
		 * below does not block. */
		if (ppoll(&pfd, 1, NULL, &old_mask) < 0) {
			if (errno == EINTR) {
				interrupted = true;
				break;
			}
			read_errno = errno;
			break;
		}
		n = read(tty_fd, &c, 1);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			read_errno = errno;
			break;
		}
		if (n == 0)
			break;
		if (c == '\n') {
			newline_seen = true;
			break;
		}
		if (out->len + 1 >= out->size)
			too_long = true;
		else
			out->data[out->len++] = c;
		fc_wipe(&c, sizeof(c));
	}

restore:
	tcsetattr(tty_fd, TCSAFLUSH, &saved);
	if (!newline_seen)
		(void)write_all(tty_fd, "\n", 1);
	collect_pending_prompt_signals(&prompt_set);
	for (i = 0; i < PROMPT_SIGNAL_COUNT; i++) {
		sigaction(prompt_signals[i], &old_actions[i], NULL);
		if (prompt_caught[i])
			interrupted = true;
	}
	sigprocmask(SIG_SETMASK, &old_mask, NULL);

	out->data[out->len] = '\0';
	if (interrupted) {
		/* Every password typed so far is wiped first, because a
		 * signal sent again below may end the process. A stopped
		 * process starts the prompt over. */
		wipe_live_secrets();
		for (i = 0; i < PROMPT_SIGNAL_COUNT; i++) {
			if (!prompt_caught[i])
				continue;
			if (prompt_signals[i] == SIGTSTP ||
			    prompt_signals[i] == SIGTTIN ||
			    prompt_signals[i] == SIGTTOU)
				stopped = true;
			kill(getpid(), prompt_signals[i]);
		}
		/* A terminating signal with its default action does not
		 * come back here. An ignored or handled one ends the
		 * prompt without a password. */
		if (stopped) {
			rc = 1;
			goto fail;
		}
		print_error("password prompt interrupted");
		rc = EXIT_OTHER;
		goto fail;
	}
	if (read_errno) {
		print_error("failed to read the password from the terminal: %s",
			    strerror(read_errno));
		rc = EXIT_OTHER;
		goto fail;
	}
	if (too_long) {
		print_error("the password typed is longer than %d bytes",
			    PASSWORD_MAX);
		rc = EXIT_USAGE;
		goto fail;
	}
	return 0;

fail:
	fc_wipe(out->data, out->size);
	out->len = 0;
	return rc;
}

/* Asks for a new password twice on the controlling terminal without
 * echo. Returns 0 with the password in out, or an exit code after
 * printing the reason; out is cleared on failure. */
static int prompt_new_password(const char *ifs_user, struct secret *out)
{
	struct secret confirmation = { 0 };
	char prompt[512];
	int tty_fd = -1;
	int restarts = 0;
	int rc;

	tty_fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty_fd < 0) {
		print_error("failed to open the terminal /dev/tty: %s; use --password-stdin",
			    strerror(errno));
		return EXIT_OTHER;
	}
	if (secret_alloc(out, PASSWORD_MAX + 1) < 0 ||
	    secret_alloc(&confirmation, PASSWORD_MAX + 1) < 0) {
		print_error("out of memory");
		rc = EXIT_OTHER;
		goto out;
	}
	snprintf(prompt, sizeof(prompt), "IFS password of %s: ", ifs_user);
	replace_control_chars(prompt);

	for (;;) {
		rc = read_tty_line(tty_fd, prompt, out);
		if (rc == 0)
			rc = read_tty_line(tty_fd, "Retype the IFS password: ",
					   &confirmation);
		if (rc != 1)
			break;
		if (++restarts > PROMPT_RESTARTS_MAX) {
			print_error("password prompt interrupted too often");
			rc = EXIT_OTHER;
			break;
		}
	}
	if (rc)
		goto out;

	if (out->len != confirmation.len ||
	    memcmp(out->data, confirmation.data, out->len) != 0) {
		print_error("the passwords typed do not match; nothing was stored");
		rc = EXIT_USAGE;
		goto out;
	}
	rc = validate_password(out, "the terminal");

out:
	secret_clear(&confirmation);
	if (rc)
		secret_clear(out);
	if (tty_fd >= 0)
		close(tty_fd);
	return rc;
}

/* ---- Commands ---- */

static int run_store(flowcred_ctx *ctx, const struct cli_options *opts)
{
	const char *connector = opts->args[0];
	const char *flow_user = opts->args[1];
	struct secret password = { 0 };
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char what[FLOWCRED_DETAIL_MAX];
	flowcred_status status;
	int rc;

	if (opts->password_stdin) {
		rc = read_password_stdin(&password);
		if (rc)
			goto out;
	} else if (!opts->no_password) {
		rc = prompt_new_password(opts->ifs_user, &password);
		if (rc)
			goto out;
	}

	status = flowcred_store_credentials(ctx, connector, flow_user,
					    opts->ifs_user, password.data,
					    detail, sizeof(detail));
	if (status != FLOWCRED_OK) {
		snprintf(what, sizeof(what),
			 "failed to store the credentials of Flow user '%s' of connector '%s'",
			 flow_user, connector);
		rc = report_failure(status, detail, what);
		goto out;
	}
	rc = EXIT_OK;

out:
	secret_clear(&password);
	return rc;
}

static int run_lookup(flowcred_ctx *ctx, const struct cli_options *opts)
{
	const char *connector = opts->args[0];
	const char *flow_user = opts->args[1];
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char what[FLOWCRED_DETAIL_MAX];
	size_t size = IFS_USER_BUFFER_INITIAL;
	char *ifs_user = NULL;
	flowcred_status status;
	int has_password = 0;
	int attempt;
	int rc;

	/* The item may be replaced between two calls, so a bounded number
	 * of sizes is tried. */
	for (attempt = 0; attempt < BUFFER_ATTEMPTS_MAX; attempt++) {
		size_t len = 0;

		free(ifs_user);
		ifs_user = malloc(size);
		if (!ifs_user) {
			print_error("out of memory");
			rc = EXIT_OTHER;
			goto out;
		}
		status = flowcred_lookup_credentials(ctx, connector, flow_user,
						     ifs_user, size, &len,
						     &has_password, detail,
						     sizeof(detail));
		if (status != FLOWCRED_BUFFER_TOO_SMALL)
			break;
		if (len <= size) {
			status = FLOWCRED_INTERNAL;
			snprintf(detail, sizeof(detail),
				 "the library reported a buffer of %zu bytes as too small but asked for %zu",
				 size, len);
			break;
		}
		size = len;
	}
	if (status != FLOWCRED_OK) {
		snprintf(what, sizeof(what),
			 "failed to look up the credentials of Flow user '%s' of connector '%s'",
			 flow_user, connector);
		rc = report_failure(status, detail, what);
		goto out;
	}

	replace_control_chars(ifs_user);
	printf("IFS user: %s\n", ifs_user);
	printf("%s\n", has_password ? "password stored" : "no password");
	rc = EXIT_OK;

out:
	free(ifs_user);
	return rc;
}

static int run_clear(flowcred_ctx *ctx, const struct cli_options *opts)
{
	const char *connector = opts->args[0];
	const char *flow_user = opts->args[1];
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char what[FLOWCRED_DETAIL_MAX];
	flowcred_status status;

	status = flowcred_clear_credentials(ctx, connector, flow_user, detail,
					    sizeof(detail));
	if (status != FLOWCRED_OK) {
		snprintf(what, sizeof(what),
			 "failed to clear the credentials of Flow user '%s' of connector '%s'",
			 flow_user, connector);
		return report_failure(status, detail, what);
	}
	return EXIT_OK;
}

/* Prints one keyring item as a line of four tab-separated fields. */
static int print_list_item(const char *connector, const char *flow_user,
			   const char *ifs_user, int has_password,
			   void *userdata)
{
	const char *fields[3] = { connector, flow_user, ifs_user };
	size_t i;

	(void)userdata;
	for (i = 0; i < 3; i++) {
		const char *p;

		for (p = fields[i] ? fields[i] : ""; *p; p++) {
			unsigned char c = (unsigned char)*p;

			putchar(c < 0x20 || c == 0x7f ? '?' : c);
		}
		putchar('\t');
	}
	printf("%s\n", has_password ? "password stored" : "no password");
	return 0;
}

static int run_list(flowcred_ctx *ctx, const struct cli_options *opts)
{
	const char *connector = opts->nargs > 0 ? opts->args[0] : NULL;
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char what[FLOWCRED_DETAIL_MAX];
	flowcred_status status;

	status = flowcred_list_credentials(ctx, connector, print_list_item,
					   NULL, detail, sizeof(detail));
	if (status != FLOWCRED_OK) {
		if (connector)
			snprintf(what, sizeof(what),
				 "failed to list the credentials of connector '%s'",
				 connector);
		else
			snprintf(what, sizeof(what),
				 "failed to list the credentials");
		return report_failure(status, detail, what);
	}
	return EXIT_OK;
}

/* Appends s to out as the body of a JSON string, escaping what RFC 8259
 * requires. out must have room for 6 bytes per byte of s. Returns the
 * new length. */
static size_t append_json_string(char *out, size_t len, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[len++] = '\\';
			out[len++] = (char)c;
		} else if (c < 0x20) {
			out[len++] = '\\';
			out[len++] = 'u';
			out[len++] = '0';
			out[len++] = '0';
			out[len++] = hex[c >> 4];
			out[len++] = hex[c & 0xf];
		} else {
			out[len++] = (char)c;
		}
	}
	return len;
}

/* Writes the token to standard output as text or JSON, and wipes every
 * buffer that received a copy of it. Returns 0 or an exit code. */
static int print_token(const struct cli_options *opts, const char *token,
		       size_t token_len, const char *token_type,
		       int64_t expires_at)
{
	char number[32];
	char *json = NULL;
	size_t json_size = 0, len = 0;
	int rc = EXIT_OK;

	if (opts->format == FORMAT_TEXT) {
		if (write_all(STDOUT_FILENO, token, token_len) < 0 ||
		    write_all(STDOUT_FILENO, "\n", 1) < 0)
			goto write_failed;
		return EXIT_OK;
	}

	snprintf(number, sizeof(number), "%" PRId64, expires_at);
	json_size = 6 * (token_len + strlen(token_type)) + strlen(number) + 64;
	json = malloc(json_size);
	if (!json) {
		print_error("out of memory");
		return EXIT_OTHER;
	}
	memcpy(json + len, "{\"access_token\":\"", 17);
	len += 17;
	len = append_json_string(json, len, token);
	memcpy(json + len, "\",\"token_type\":\"", 16);
	len += 16;
	len = append_json_string(json, len, token_type);
	memcpy(json + len, "\",\"expires_at\":", 15);
	len += 15;
	memcpy(json + len, number, strlen(number));
	len += strlen(number);
	memcpy(json + len, "}\n", 2);
	len += 2;

	if (write_all(STDOUT_FILENO, json, len) < 0)
		goto write_failed;
	goto out;

write_failed:
	print_error("failed to write the token to standard output: %s",
		    strerror(errno));
	rc = EXIT_OTHER;
out:
	if (json) {
		fc_wipe(json, json_size);
		free(json);
	}
	return rc;
}

static int run_token(flowcred_ctx *ctx, const struct cli_options *opts)
{
	const char *connector = opts->args[0];
	const char *flow_user = opts->args[1];
	struct secret password = { 0 };
	char token_type[FLOWCRED_TOKEN_TYPE_MAX] = "";
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char what[FLOWCRED_DETAIL_MAX];
	size_t size = TOKEN_BUFFER_INITIAL;
	size_t token_len = 0;
	int64_t expires_at = 0;
	char *token = NULL;
	flowcred_status status = FLOWCRED_INTERNAL;
	int attempt;
	int rc;

	if (opts->password_stdin) {
		rc = read_password_stdin(&password);
		if (rc)
			goto out;
	}

	/* On FLOWCRED_BUFFER_TOO_SMALL no token is returned, so the call is
	 * repeated with the size the library reports. The library's token
	 * cache normally serves the repeat, and otherwise it makes a new
	 * grant. */
	for (attempt = 0; attempt < BUFFER_ATTEMPTS_MAX; attempt++) {
		token = malloc(size);
		if (!token) {
			print_error("out of memory");
			rc = EXIT_OTHER;
			goto out;
		}
		status = flowcred_get_token(ctx, connector, flow_user,
					    password.data, token, size,
					    &token_len, token_type,
					    &expires_at, detail,
					    sizeof(detail));
		if (status != FLOWCRED_BUFFER_TOO_SMALL)
			break;

		fc_wipe(token, size);
		free(token);
		token = NULL;
		if (token_len <= size) {
			status = FLOWCRED_INTERNAL;
			snprintf(detail, sizeof(detail),
				 "the library reported a buffer of %zu bytes as too small but asked for %zu",
				 size, token_len);
			break;
		}
		if (opts->verbosity > 0)
			print_error("the token needs a %zu byte buffer; repeating the call",
				    token_len);
		size = token_len;
	}
	if (status != FLOWCRED_OK) {
		snprintf(what, sizeof(what),
			 "failed to get a token for Flow user '%s' of connector '%s'",
			 flow_user, connector);
		rc = report_failure(status, detail, what);
		goto out;
	}

	rc = print_token(opts, token, token_len, token_type, expires_at);

out:
	if (token) {
		fc_wipe(token, size);
		free(token);
	}
	secret_clear(&password);
	return rc;
}

static int run_logout(flowcred_ctx *ctx, const struct cli_options *opts)
{
	const char *connector = opts->args[0];
	const char *flow_user = opts->args[1];
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char what[FLOWCRED_DETAIL_MAX];
	flowcred_status status;

	status = flowcred_logout(ctx, connector, flow_user, detail,
				 sizeof(detail));
	if (status != FLOWCRED_OK) {
		snprintf(what, sizeof(what),
			 "failed to log out Flow user '%s' of connector '%s'",
			 flow_user, connector);
		return report_failure(status, detail, what);
	}
	return EXIT_OK;
}

static int run_check(flowcred_ctx *ctx, const struct cli_options *opts)
{
	const char *connector = opts->args[0];
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char what[FLOWCRED_DETAIL_MAX];
	char name[FLOWCRED_DETAIL_MAX];
	flowcred_status status;

	snprintf(name, sizeof(name), "%s", connector);
	replace_control_chars(name);
	printf("Checking connector '%s': configuration group, keyring, and client\n"
	       "authentication with the password grant at the token endpoint. No IFS\n"
	       "account is used.\n", name);
	fflush(stdout);

	status = flowcred_check_connector(ctx, connector, detail,
					  sizeof(detail));
	if (status != FLOWCRED_OK) {
		printf("Result: failed (%s)\n", flowcred_strerror(status));
		fflush(stdout);
		snprintf(what, sizeof(what), "check of connector '%s' failed",
			 connector);
		return report_failure(status, detail, what);
	}

	replace_control_chars(detail);
	if (detail[0])
		printf("Result: OK (%s)\n", detail);
	else
		printf("Result: OK\n");
	return EXIT_OK;
}

/* ---- Logging ---- */

static void log_to_stderr(int priority, const char *message, void *userdata)
{
	char line[2 * FLOWCRED_DETAIL_MAX];

	(void)priority;
	(void)userdata;
	snprintf(line, sizeof(line), "%s", message);
	replace_control_chars(line);
	fprintf(stderr, "%s: %s\n", PROGRAM_NAME, line);
}

/* ---- Arguments ---- */

static void print_help(void)
{
	size_t i;

	printf("Usage: %s [OPTION...] COMMAND [ARGUMENT...]\n\n", PROGRAM_NAME);
	printf("Stores the IFS Cloud user IDs and passwords of Novacura Flow users in the\n"
	       "Secret Service keyring and obtains OAuth 2.0 access tokens for them from\n"
	       "IFS Cloud IAM with the password grant.\n\n");

	printf("Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %s %s\n", PROGRAM_NAME, commands[i].synopsis);
	printf("\n");

	printf("  store   Stores the IFS user ID of a Flow user of a connector and, for\n"
	       "          machine workflows, the IFS password, replacing any earlier item.\n"
	       "          --password-stdin reads the password from standard input: all\n"
	       "          of it, with one trailing newline removed. Without it, the\n"
	       "          password is prompted for twice on the terminal without echo;\n"
	       "          this needs standard input to be a terminal. --no-password\n"
	       "          stores an interactive user, who types the password at login.\n"
	       "  lookup  Prints the IFS user ID and \"password stored\" or \"no password\".\n"
	       "          The password is never printed.\n"
	       "  clear   Deletes the stored credentials of a Flow user of a connector\n"
	       "          and drops the cached token.\n"
	       "  list    Prints one line per stored item, of one connector or of all,\n"
	       "          with four fields separated by tabs: connector, Flow user,\n"
	       "          IFS user, and \"password stored\" or \"no password\". This format\n"
	       "          is stable for scripts. Control characters in names print as '?'.\n"
	       "  token   Obtains an access token and prints it and a newline on standard\n"
	       "          output, and nothing else:  TOKEN=$(%s token ifs-prod flowbot)\n"
	       "          The stored password is used unless --password-stdin is given.\n"
	       "          --format=json prints {\"access_token\":\"...\",\"token_type\":\"Bearer\",\n"
	       "          \"expires_at\":SECONDS_SINCE_EPOCH} instead. A token obtained with\n"
	       "          the stored password is kept in the calling user's kernel key\n"
	       "          cache until shortly before it expires, and later token commands\n"
	       "          of that user print it without contacting IFS Cloud IAM. The IAM\n"
	       "          session behind a printed token is left open. A token longer than\n"
	       "          %d KiB makes %s call the library again with a larger buffer;\n"
	       "          that call repeats the grant unless the library's cache serves it.\n"
	       "  logout  Ends the IAM sessions of a Flow user of a connector that the\n"
	       "          kernel key cache holds and drops the cached token.\n"
	       "  check   Checks a connector without using any IFS account: its\n"
	       "          configuration group, the keyring, and that the token endpoint\n"
	       "          authenticates the client and allows password grants.\n\n",
	       PROGRAM_NAME, TOKEN_BUFFER_INITIAL / 1024, PROGRAM_NAME);

	printf("Options:\n"
	       "      --config FILE     read the configuration from FILE (default: the\n"
	       "                        FLOWCRED_CONFIG environment variable if set, else\n"
	       "                        %s)\n"
	       "      --ifs-user ID     IFS user ID to store (store)\n"
	       "      --password-stdin  read the IFS password from standard input\n"
	       "                        (store, token)\n"
	       "      --no-password     store no password: an interactive user (store)\n"
	       "      --format=FORMAT   output of token: text (default) or json\n"
	       "  -v, --verbose         print library messages on standard error;\n"
	       "                        twice for debug messages too. Without it the\n"
	       "                        library logs to syslog\n"
	       "  -h, --help            print this help and exit\n"
	       "      --version         print the library version and exit\n\n",
	       FLOWCRED_DEFAULT_CONFIG);

	printf("Options may come before or after the command. Passwords are never taken\n"
	       "from arguments or environment variables, which other users can read;\n"
	       "use --password-stdin or the prompt.\n\n");

	printf("Exit status:\n"
	       "   0  success\n"
	       "   1  other failure: internal error, out of memory, output error\n"
	       "   2  usage error: invalid command, option or name, or a rejected password\n"
	       "      input (empty, NUL byte, too long, typed passwords do not match)\n"
	       "   3  not found: unknown connector, no stored credentials, no stored\n"
	       "      password, or no IAM session to log out\n"
	       "   4  denied: IFS Cloud IAM rejected the user name or password\n"
	       "   5  account problem: the IFS account is disabled or not fully set up\n"
	       "   6  client rejected: IFS Cloud IAM rejected the connector's client ID or\n"
	       "      secret, its scope, or it has Direct Access Grants disabled\n"
	       "   7  configuration invalid: syntax, a value, or the mode or owner of the\n"
	       "      configuration file or a secret file\n"
	       "   8  unavailable: the token endpoint or the keyring cannot be used now\n"
	       "   9  try again later: the token endpoint asked to slow down\n"
	       "  10  protocol error: the token endpoint returned an invalid answer\n");
}

static void print_usage_hint(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", PROGRAM_NAME);
}

/* Prints a usage error and returns EXIT_USAGE. */
static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	char message[FLOWCRED_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	print_error("%s", message);
	print_usage_hint();
	return EXIT_USAGE;
}

/* Wipes the value of a "--password=VALUE" or similar argument in argv,
 * so that it no longer shows in /proc/PID/cmdline. Other users may have
 * seen it already. */
static void wipe_option_value(char *arg)
{
	char *value = strchr(arg, '=');

	if (value)
		fc_wipe(value + 1, strlen(value + 1));
}

/* Prints the usage error of a password given on the command line. */
static int reject_password_option(void)
{
	return usage_error("passwords are not accepted as arguments, because other users can read them; use --password-stdin to read the password from standard input");
}

enum long_option_id {
	OPT_CONFIG = 0x100,
	OPT_IFS_USER,
	OPT_PASSWORD_STDIN,
	OPT_NO_PASSWORD,
	OPT_FORMAT,
	OPT_VERSION,
	OPT_PASSWORD,
};

static const struct option long_options[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "ifs-user", required_argument, NULL, OPT_IFS_USER },
	{ "password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN },
	{ "no-password", no_argument, NULL, OPT_NO_PASSWORD },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	/* Listed only to reject it with a useful message. */
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ NULL, 0, NULL, 0 },
};

/* Reports an option that getopt_long() rejected, without printing its
 * value, which may be a password. getopt_long() sets optopt to 0 for an
 * unknown long option, to the option's id for a long option given a
 * value it does not take or missing one it needs, and to the character
 * for an unknown short option. It has always moved optind past a long
 * option, so that option is argv[optind - 1]. */
static int reject_invalid_option(int argc, char **argv, bool missing_value)
{
	const struct option *opt;
	const char *arg = NULL;
	char name[64];
	size_t len;

	if (missing_value) {
		if (optopt == OPT_PASSWORD)
			return reject_password_option();
		for (opt = long_options; opt->name; opt++)
			if (opt->val == optopt)
				return usage_error("option '--%s' requires a value",
						   opt->name);
		return usage_error("an option requires a value");
	}

	/* -h and -v take no value, so an optopt of 'h' or 'v' can only
	 * come from --help=X or --verbose=X, reported below. */
	if (optopt > 0 && optopt < 0x100 && optopt != 'h' && optopt != 'v')
		return usage_error("invalid option '-%c'", optopt);

	if (optind > 0 && optind <= argc)
		arg = argv[optind - 1];
	if (!arg || strncmp(arg, "--", 2) != 0)
		return usage_error("invalid option");
	if (strncmp(arg, "--pass", 6) == 0) {
		wipe_option_value(argv[optind - 1]);
		return reject_password_option();
	}
	len = strcspn(arg, "=");
	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, arg, len);
	name[len] = '\0';
	if (optopt != 0)
		return usage_error("option '%s' does not take a value", name);
	return usage_error("unknown or ambiguous option '%s'", name);
}

/* Result of parse_arguments() that means "run the command". */
#define PARSE_CONTINUE (-1)

/* Checks the positional arguments and the options against the command.
 * Returns PARSE_CONTINUE or EXIT_USAGE. */
static int validate_command_options(struct cli_options *opts,
				    unsigned int given_options)
{
	const struct command *cmd = opts->command;
	unsigned int unexpected = given_options & ~cmd->allowed_options;

	if (opts->nargs < cmd->min_args)
		return usage_error("missing argument; usage: %s %s",
				   PROGRAM_NAME, cmd->synopsis);
	if (opts->nargs > cmd->max_args)
		return usage_error("too many arguments; usage: %s %s",
				   PROGRAM_NAME, cmd->synopsis);
	if (unexpected & ALLOW_IFS_USER)
		return usage_error("--ifs-user applies only to store");
	if (unexpected & ALLOW_PASSWORD_STDIN)
		return usage_error("--password-stdin applies only to store and token");
	if (unexpected & ALLOW_NO_PASSWORD)
		return usage_error("--no-password applies only to store");
	if (unexpected & ALLOW_FORMAT)
		return usage_error("--format applies only to token");

	if (cmd->run == run_store) {
		if (!opts->ifs_user)
			return usage_error("store requires --ifs-user IFS_USER");
		if (opts->password_stdin && opts->no_password)
			return usage_error("--password-stdin and --no-password exclude each other");
		if (!opts->password_stdin && !opts->no_password &&
		    !isatty(STDIN_FILENO))
			return usage_error("standard input is not a terminal, so the password cannot be prompted for; use --password-stdin to read it from standard input, or --no-password to store an interactive user");
	}
	return PARSE_CONTINUE;
}

/* Parses argv into opts, with the positional arguments in positional.
 * Options may come before or after the command, because the leading '-'
 * of the option string makes getopt_long() return every positional
 * argument in order as option 1, even when POSIXLY_CORRECT is set.
 * Returns PARSE_CONTINUE, or an exit code when the program is done
 * (help, version, usage error). */
static int parse_arguments(int argc, char **argv, struct cli_options *opts,
			   char **positional)
{
	unsigned int given_options = 0;
	int npositional = 0;
	const char *command_name;
	size_t i;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "-:hv", long_options, NULL)) != -1) {
		switch (c) {
		case 1:
			positional[npositional++] = optarg;
			break;
		case OPT_CONFIG:
			opts->config_path = optarg;
			break;
		case OPT_IFS_USER:
			opts->ifs_user = optarg;
			given_options |= ALLOW_IFS_USER;
			break;
		case OPT_PASSWORD_STDIN:
			opts->password_stdin = true;
			given_options |= ALLOW_PASSWORD_STDIN;
			break;
		case OPT_NO_PASSWORD:
			opts->no_password = true;
			given_options |= ALLOW_NO_PASSWORD;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				opts->format = FORMAT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				opts->format = FORMAT_JSON;
			else
				return usage_error("invalid --format '%s'; use text or json",
						   optarg);
			given_options |= ALLOW_FORMAT;
			break;
		case 'v':
			opts->verbosity++;
			break;
		case 'h':
			print_help();
			return EXIT_OK;
		case OPT_VERSION:
			printf("%s %s\n", PROGRAM_NAME, flowcred_version());
			return EXIT_OK;
		case OPT_PASSWORD:
			fc_wipe(optarg, strlen(optarg));
			return reject_password_option();
		case ':':
			return reject_invalid_option(argc, argv, true);
		default:
			return reject_invalid_option(argc, argv, false);
		}
	}
	/* Arguments after "--" are positional too. */
	while (optind < argc)
		positional[npositional++] = argv[optind++];

	if (npositional == 0)
		return usage_error("missing command");
	command_name = positional[0];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, command_name) == 0)
			opts->command = &commands[i];
	if (!opts->command)
		return usage_error("unknown command '%s'", command_name);
	opts->args = positional + 1;
	opts->nargs = npositional - 1;

	return validate_command_options(opts, given_options);
}

/* Opens the library context for opts and installs the log function.
 * Returns EXIT_OK or an exit code after printing the reason. */
static int open_context(const struct cli_options *opts, flowcred_ctx **ctx)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char what[FLOWCRED_DETAIL_MAX];
	const char *path = opts->config_path;
	flowcred_status status;

	if (!path) {
		path = getenv("FLOWCRED_CONFIG");
		if (path && !path[0])
			path = NULL;
	}

	status = flowcred_open(path, ctx, detail, sizeof(detail));
	if (status != FLOWCRED_OK) {
		snprintf(what, sizeof(what),
			 "failed to open the configuration file %s",
			 path ? path : FLOWCRED_DEFAULT_CONFIG);
		return report_failure(status, detail, what);
	}

	if (opts->verbosity > 0)
		flowcred_set_log_func(*ctx, log_to_stderr, NULL,
				      opts->verbosity > 1 ? LOG_DEBUG : LOG_INFO);

	/* The token command hands its token to the caller, so closing the
	 * context must not end the IAM session behind it. */
	status = flowcred_set_option(*ctx, FLOWCRED_OPT_LOGOUT_ON_CLOSE, 0);
	if (status == FLOWCRED_OK && opts->command->kernel_cache)
		status = flowcred_set_option(*ctx, FLOWCRED_OPT_KERNEL_CACHE, 1);
	if (status != FLOWCRED_OK) {
		snprintf(detail, sizeof(detail), "%s",
			 flowcred_strerror(status));
		return report_failure(status, detail,
				      "failed to set an option of the library context");
	}
	return EXIT_OK;
}

/* Keeps secrets out of core files. Failure only loses that protection. */
static void disable_core_dumps(void)
{
	struct rlimit limit = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &limit);
}

int main(int argc, char **argv)
{
	struct cli_options opts = { 0 };
	flowcred_ctx *ctx = NULL;
	char **positional;
	int rc;

	disable_core_dumps();
	/* A closed standard output must become an error message and exit
	 * code, not a silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);

	positional = calloc((size_t)argc + 1, sizeof(*positional));
	if (!positional) {
		print_error("out of memory");
		return EXIT_OTHER;
	}

	rc = parse_arguments(argc, argv, &opts, positional);
	if (rc != PARSE_CONTINUE)
		goto out;

	rc = open_context(&opts, &ctx);
	if (rc != EXIT_OK)
		goto out;

	rc = opts.command->run(ctx, &opts);

out:
	flowcred_close(ctx);
	free(positional);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		print_error("failed to write to standard output: %s",
			    strerror(errno));
		if (rc == EXIT_OK)
			rc = EXIT_OTHER;
	}
	return rc;
}
