#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <json-c/json.h>

#include "faultutil.h"

#define MAX_SECRETS 64
#define SERVER_START_TIMEOUT_S 10

static char *secrets[MAX_SECRETS];
static size_t n_secrets;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_text;
static size_t log_len;
static char *log_snapshot;

static pid_t server_pid = -1;
static char server_port_file[512];
static struct json_object *server_ports;

/* Pipe end a child of fu_run_child() reports through. */
static int child_report_fd = -1;

static void register_fixture_secrets(void)
{
	static const char *const fixture[] = {
		TU_PASSWORD, TU_SPECIAL_PASSWORD, TU_CLIENT_SECRET,
		TU_SPECIAL_CLIENT_SECRET, "nodirect-secret-1",
	};
	size_t i;

	if (n_secrets != 0)
		return;
	for (i = 0; i < sizeof(fixture) / sizeof(fixture[0]); i++)
		secrets[n_secrets++] = strdup(fixture[i]);
}

void fu_add_secret(const char *secret)
{
	register_fixture_secrets();
	ck_assert_uint_lt(n_secrets, MAX_SECRETS);
	secrets[n_secrets] = strdup(secret);
	ck_assert_ptr_nonnull(secrets[n_secrets]);
	n_secrets++;
}

/* Returns the first run of secret found in text, or -1. A secret of at
 * most FU_SECRET_RUN bytes is looked for whole. */
static long find_secret(const char *text, const char *secret)
{
	size_t len = strlen(secret);
	size_t run = len < FU_SECRET_RUN ? len : FU_SECRET_RUN;
	size_t i;

	for (i = 0; i + run <= len; i++) {
		if (memmem(text, strlen(text), secret + i, run) != NULL)
			return (long)i;
	}
	return -1;
}

void fu_assert_no_secret(const char *text, const char *what)
{
	size_t i;

	register_fixture_secrets();
	for (i = 0; i < n_secrets; i++) {
		long at = find_secret(text, secrets[i]);

		ck_assert_msg(at < 0,
			      "%s contains bytes %ld.. of secret #%zu: %s", what,
			      at, i, text);
	}
}

int fu_printable(const char *text)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	}
	return 1;
}

void fu_assert_clean(const char *detail)
{
	fu_assert_no_secret(detail, "the detail");
	ck_assert_msg(fu_printable(detail),
		      "the detail contains a control character: %s", detail);
	fu_assert_no_secret(fu_log_text(), "the log");
}

char *fu_write_config(const char *token_url, const char *extra)
{
	return tu_write_filef("fault.conf", 0600,
			      "[" FU_CONNECTOR "]\n"
			      "token_url = %s\n"
			      "client_id = " TU_CLIENT_ID "\n"
			      "client_secret = " TU_CLIENT_SECRET "\n"
			      "ca_file = %s\n"
			      "connect_timeout = %d\n"
			      "timeout = %d\n"
			      "retry_backoff = 0\n"
			      "denied_backoff = 0\n"
			      "logout = false\n"
			      "%s"
			      "\n[flowcred]\n"
			      "keyring_timeout = %d\n",
			      token_url, tu_env("FLOWCRED_TEST_CA"),
			      FU_TIMEOUT_S, FU_TIMEOUT_S,
			      extra != NULL ? extra : "",
			      FU_KEYRING_TIMEOUT_S);
}

void fu_capture_log(int priority, const char *message, void *userdata)
{
	size_t len = strlen(message);
	char *grown;

	(void)userdata;
	fprintf(stderr, "flowcred log [%d]: %s\n", priority, message);
	pthread_mutex_lock(&log_lock);
	grown = realloc(log_text, log_len + len + 2);
	if (grown != NULL) {
		log_text = grown;
		memcpy(log_text + log_len, message, len);
		log_len += len;
		log_text[log_len++] = '\n';
		log_text[log_len] = '\0';
	}
	pthread_mutex_unlock(&log_lock);
}

const char *fu_log_text(void)
{
	/* A copy, because another thread may grow log_text meanwhile. */
	pthread_mutex_lock(&log_lock);
	free(log_snapshot);
	log_snapshot = strdup(log_text != NULL ? log_text : "");
	pthread_mutex_unlock(&log_lock);
	return log_snapshot != NULL ? log_snapshot : "";
}

flowcred_ctx *fu_open(const char *config_path)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_ctx *ctx = NULL;
	flowcred_status status;

	register_fixture_secrets();
	status = flowcred_open(config_path, &ctx, detail, sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK, "flowcred_open(%s): %s: %s",
		      config_path, flowcred_strerror(status), detail);
	fu_assert_clean(detail);
	flowcred_set_log_func(ctx, fu_capture_log, NULL, LOG_DEBUG);
	return ctx;
}

struct timespec fu_start(void)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	return start;
}

double fu_elapsed(struct timespec start)
{
	return tu_elapsed(&start);
}

static char *read_small_file(const char *path)
{
	char buffer[1024];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	n = read(fd, buffer, sizeof(buffer) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buffer[n] = '\0';
	return strdup(buffer);
}

int fu_fault_server_start(void)
{
	const char *srcdir = getenv("FLOWCRED_TEST_SRCDIR");
	const char *certs = getenv("FLOWCRED_TEST_CERTS");
	const char *dir = getenv("FLOWCRED_TEST_DIR");
	const char *node = getenv("NODE");
	char script[512];
	struct timespec start;
	char *text;

	if (server_pid > 0)
		return 0;
	if (srcdir == NULL || certs == NULL || dir == NULL) {
		fprintf(stderr, "fault server: FLOWCRED_TEST_SRCDIR, "
			"FLOWCRED_TEST_CERTS or FLOWCRED_TEST_DIR is not set; "
			"run through tests/harness/with-services.sh\n");
		return -1;
	}
	if (node == NULL || node[0] == '\0')
		node = "node";
	snprintf(script, sizeof(script), "%s/tests/fault/fault-server.js",
		 srcdir);
	snprintf(server_port_file, sizeof(server_port_file),
		 "%s/fault-server-%ld.ports", dir, (long)getpid());
	unlink(server_port_file);

	fflush(NULL);
	server_pid = fork();
	if (server_pid < 0) {
		perror("fault server: fork");
		return -1;
	}
	if (server_pid == 0) {
		execlp(node, node, script, "--certs", certs, "--port-file",
		       server_port_file, "--body-dir", dir, (char *)NULL);
		fprintf(stderr, "fault server: cannot run %s: %s\n", node,
			strerror(errno));
		_exit(127);
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((text = read_small_file(server_port_file)) == NULL) {
		int status;

		if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
			fprintf(stderr, "fault server: exited during startup\n");
			server_pid = -1;
			return -1;
		}
		if (tu_elapsed(&start) > SERVER_START_TIMEOUT_S) {
			fprintf(stderr, "fault server: no port file within %d s\n",
				SERVER_START_TIMEOUT_S);
			fu_fault_server_stop();
			return -1;
		}
		usleep(20 * 1000);
	}
	server_ports = json_tokener_parse(text);
	free(text);
	if (server_ports == NULL) {
		fprintf(stderr, "fault server: invalid port file\n");
		fu_fault_server_stop();
		return -1;
	}
	return 0;
}

void fu_fault_server_stop(void)
{
	int status;

	if (server_pid <= 0)
		return;
	kill(server_pid, SIGTERM);
	waitpid(server_pid, &status, 0);
	server_pid = -1;
	json_object_put(server_ports);
	server_ports = NULL;
	unlink(server_port_file);
}

int fu_fault_port(const char *listener)
{
	struct json_object *port;

	ck_assert_msg(server_ports != NULL,
		      "the fault server is not running");
	ck_assert_msg(json_object_object_get_ex(server_ports, listener, &port),
		      "the fault server has no listener %s", listener);
	return json_object_get_int(port);
}

char *fu_fault_url(const char *mode, int status, const char *type,
		   const char *body, const char *extra)
{
	char *type_escaped = NULL;
	char *body_path = NULL;
	const char *body_name = NULL;
	char *url;
	size_t i;

	/* The body goes into a file the server reads, so the URL, which
	 * details quote, stays short. */
	if (body != NULL) {
		body_path = tu_write_file("fault-body", 0600, body);
		body_name = strrchr(body_path, '/') + 1;
	}
	if (type != NULL) {
		/* Content-Type values here contain ' ', ';' and '='. */
		size_t n = strlen(type);

		type_escaped = malloc(3 * n + 1);
		ck_assert_ptr_nonnull(type_escaped);
		for (i = 0; i < n; i++)
			snprintf(type_escaped + 3 * i, 4, "%%%02X",
				 (unsigned char)type[i]);
		type_escaped[3 * n] = '\0';
	}
	ck_assert_int_ne(asprintf(&url,
				  "https://127.0.0.1:%d/realms/fault/protocol/"
				  "openid-connect/token?mode=%s&status=%d%s%s"
				  "%s%s%s%s",
				  fu_fault_port("main"), mode, status,
				  type != NULL ? "&type=" : "",
				  type != NULL ? type_escaped : "",
				  body != NULL ? "&body=" : "",
				  body != NULL ? body_name : "",
				  extra != NULL ? "&" : "",
				  extra != NULL ? extra : ""), -1);
	free(body_path);
	free(type_escaped);
	return url;
}

void fu_child_report(int status, const char *detail)
{
	struct fu_child report;
	const char *p = (const char *)&report;
	size_t done = 0;

	if (child_report_fd < 0)
		return;
	memset(&report, 0, sizeof(report));
	report.status = status;
	snprintf(report.detail, sizeof(report.detail), "%s",
		 detail != NULL ? detail : "");
	snprintf(report.log, sizeof(report.log), "%s", fu_log_text());
	while (done < sizeof(report)) {
		ssize_t n = write(child_report_fd, p + done,
				  sizeof(report) - done);

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(child_report_fd);
	child_report_fd = -1;
}

void fu_run_child(void (*func)(void *arg), void *arg,
		  unsigned int alarm_seconds, struct fu_child *result)
{
	struct fu_child report;
	struct timespec start;
	size_t done = 0;
	int fds[2];
	pid_t pid;

	memset(result, 0, sizeof(*result));
	result->status = -1;
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	fflush(NULL);
	start = fu_start();
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		child_report_fd = fds[1];
		signal(SIGALRM, SIG_DFL);
		alarm(alarm_seconds);
		func(arg);
		_exit(0);
	}
	close(fds[1]);
	while (done < sizeof(report)) {
		ssize_t n = read(fds[0], (char *)&report + done,
				 sizeof(report) - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	close(fds[0]);
	while (waitpid(pid, &result->wait_status, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
	result->elapsed = fu_elapsed(start);
	result->timed_out = WIFSIGNALED(result->wait_status) &&
			    WTERMSIG(result->wait_status) == SIGALRM;
	if (done == sizeof(report)) {
		result->status = report.status;
		memcpy(result->detail, report.detail, sizeof(result->detail));
		memcpy(result->log, report.log, sizeof(result->log));
	}
}

pid_t fu_keyring_daemon_pid(void)
{
	char *const argv[] = {
		"/usr/bin/gdbus", "call", "--session", "--dest",
		"org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
		"--method", "org.freedesktop.DBus.GetConnectionUnixProcessID",
		"org.freedesktop.secrets", NULL
	};
	char *out = NULL;
	char *err = NULL;
	unsigned int pid = 0;
	int rc;

	rc = tu_run_program(argv, NULL, &out, &err, 10);
	ck_assert_msg(rc == 0, "gdbus GetConnectionUnixProcessID failed: %s",
		      err);
	ck_assert_msg(sscanf(out, "(uint32 %u,)", &pid) == 1,
		      "unexpected gdbus output: %s", out);
	free(out);
	free(err);
	ck_assert_uint_gt(pid, 1);
	return (pid_t)pid;
}

void fu_run_harness_script(const char *name)
{
	char *path;
	char *out = NULL;
	char *err = NULL;
	char *argv[4];
	int rc;

	ck_assert_int_ne(asprintf(&path, "%s/%s",
				  tu_env("FLOWCRED_TEST_HARNESS_DIR"), name), -1);
	/* Check kills the process group of a test when the test ends, so
	 * a keyring daemon the script started would die with it. setsid
	 * keeps the daemon out of that group. */
	argv[0] = "/usr/bin/setsid";
	argv[1] = "--wait";
	argv[2] = path;
	argv[3] = NULL;
	rc = tu_run_program(argv, NULL, &out, &err, 30);
	ck_assert_msg(rc == 0, "%s exited with %d: %s%s", name, rc, out, err);
	free(out);
	free(err);
	free(path);
}
