/* Fault tests of the keyring: buses without a Secret Service, bus
 * addresses that lead nowhere or never respond, 64 lookups at once, a
 * stopped, locked, killed and restarted gnome-keyring-daemon.
 *
 * Every case checks the status, a time bound on CLOCK_MONOTONIC derived
 * from keyring_timeout (2 s here, never D-Bus's 25 s default), and that
 * no secret reaches the detail or the debug log.
 *
 * The daemon cases change the harness's keyring, so they run last and in
 * the order given. Each test runs in its own process (Check's fork mode),
 * so a test may point DBUS_SESSION_BUS_ADDRESS elsewhere.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultutil.h"

#define N_THREADS 64
#define IFS_USER_BUFFER 256

/* Seconds after which a watchdog continues a stopped daemon even when
 * the test hangs, so later tests find it running. */
#define WATCHDOG_S 30

/* Maximum wait for a killed daemon to disappear, in seconds. */
#define DAEMON_EXIT_TIMEOUT_S 5

/* The session bus without any Secret Service that main() starts. */
static char empty_bus_address[1024];
static pid_t empty_bus_pid = -1;

static char *config_path;
static char *flow_user;

static void setup(void)
{
	char *url = tu_token_url("test");

	config_path = fu_write_config(url, NULL);
	flow_user = tu_unique("flow");
	free(url);
}

static void teardown(void)
{
	free(config_path);
	free(flow_user);
}

/* Bound of a call that waits at most for keyring_timeout. */
static void assert_within_keyring_timeout(double elapsed)
{
	ck_assert_msg(elapsed < FU_KEYRING_TIMEOUT_S + FU_SLACK_S,
		      "the call took %.2f s, more than keyring_timeout %d s + "
		      "%.1f s", elapsed, FU_KEYRING_TIMEOUT_S, FU_SLACK_S);
}

static void assert_fast(double elapsed)
{
	ck_assert_msg(elapsed < FU_FAST_S, "the call took %.2f s, more than "
		      "%.1f s", elapsed, FU_FAST_S);
}

struct lookup {
	flowcred_status status;
	double elapsed;
	char ifs_user[IFS_USER_BUFFER];
	int has_password;
	char detail[FLOWCRED_DETAIL_MAX];
};

static void lookup_once(flowcred_ctx *ctx, struct lookup *l)
{
	struct timespec start = fu_start();
	size_t len = 0;

	memset(l, 0, sizeof(*l));
	l->status = flowcred_lookup_credentials(ctx, FU_CONNECTOR, flow_user,
						l->ifs_user,
						sizeof(l->ifs_user), &len,
						&l->has_password, l->detail,
						sizeof(l->detail));
	l->elapsed = fu_elapsed(start);
	fprintf(stderr, "lookup: %s after %.3f s: %s\n",
		flowcred_strerror(l->status), l->elapsed, l->detail);
	fu_assert_clean(l->detail);
}

static void assert_found(const struct lookup *l)
{
	ck_assert_msg(l->status == FLOWCRED_OK, "expected OK, got %s: %s",
		      flowcred_strerror(l->status), l->detail);
	ck_assert_str_eq(l->ifs_user, TU_USER);
	ck_assert_int_eq(l->has_password, 1);
}

static void assert_unavailable(flowcred_status status, const char *detail)
{
	ck_assert_msg(status == FLOWCRED_UNAVAILABLE,
		      "expected UNAVAILABLE, got %s: %s",
		      flowcred_strerror(status), detail);
}

/* --- buses that lead nowhere ---------------------------------------------- */

/* Opens a context on another bus address and looks the user up once. */
static void lookup_on_bus(const char *address, struct lookup *l)
{
	flowcred_ctx *ctx;

	if (address != NULL)
		ck_assert_int_eq(setenv("DBUS_SESSION_BUS_ADDRESS", address, 1), 0);
	else
		ck_assert_int_eq(unsetenv("DBUS_SESSION_BUS_ADDRESS"), 0);
	ctx = fu_open(config_path);
	lookup_once(ctx, l);
	flowcred_close(ctx);
}

START_TEST(test_bus_without_provider_fast)
{
	struct lookup l;

	ck_assert_msg(empty_bus_address[0] != '\0',
		      "the bus without Secret Service did not start");
	lookup_on_bus(empty_bus_address, &l);
	assert_unavailable(l.status, l.detail);
	ck_assert_msg(tu_contains_nocase(l.detail, "Secret Service"),
		      "the detail does not name the Secret Service: %s",
		      l.detail);
	assert_fast(l.elapsed);
}
END_TEST

/* Returns the path of a new unix socket in the test directory. With
 * keep_listening it listens and never accepts; otherwise it is closed,
 * so the path exists but connecting is refused. *fd_out receives the
 * listening socket or -1. */
static char *make_socket(int keep_listening, int *fd_out)
{
	struct sockaddr_un address;
	char *name = tu_unique("bus");
	char *path;
	int fd;

	ck_assert_int_ne(asprintf(&path, "%s/%s", tu_env("FLOWCRED_TEST_DIR"),
				  name), -1);
	free(name);
	ck_assert_uint_lt(strlen(path), sizeof(address.sun_path));
	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	memcpy(address.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	if (keep_listening) {
		ck_assert_int_eq(listen(fd, 16), 0);
		*fd_out = fd;
	} else {
		close(fd);
		*fd_out = -1;
	}
	return path;
}

START_TEST(test_refusing_socket_fast)
{
	struct lookup l;
	char *address;
	char *path;
	int fd;

	path = make_socket(0, &fd);
	ck_assert_int_ne(asprintf(&address, "unix:path=%s", path), -1);
	lookup_on_bus(address, &l);
	assert_unavailable(l.status, l.detail);
	assert_fast(l.elapsed);
	free(address);
	free(path);
}
END_TEST

START_TEST(test_missing_socket_fast)
{
	struct lookup l;
	char *address;

	ck_assert_int_ne(asprintf(&address, "unix:path=%s/no-such-bus",
				  tu_env("FLOWCRED_TEST_DIR")), -1);
	lookup_on_bus(address, &l);
	assert_unavailable(l.status, l.detail);
	assert_fast(l.elapsed);
	free(address);
}
END_TEST

START_TEST(test_no_bus_address_fast)
{
	struct lookup l;

	lookup_on_bus(NULL, &l);
	assert_unavailable(l.status, l.detail);
	assert_fast(l.elapsed);
}
END_TEST

static const char *silent_address;

static void lookup_silent_bus(void *arg)
{
	struct lookup l;

	(void)arg;
	lookup_on_bus(silent_address, &l);
	fu_child_report(l.status, l.detail);
}

/* A socket that accepts connections into its backlog but never speaks:
 * the D-Bus authentication never completes. The lookup runs in a child
 * that an alarm ends, so a hang fails the test instead of stopping it. */
START_TEST(test_silent_socket_bounded)
{
	struct fu_child child;
	char *address;
	char *path;
	int fd;

	path = make_socket(1, &fd);
	ck_assert_int_ne(asprintf(&address, "unix:path=%s", path), -1);
	silent_address = address;
	fu_run_child(lookup_silent_bus, NULL, 15, &child);
	fprintf(stderr, "silent bus: status %d after %.2f s%s: %s\n",
		child.status, child.elapsed,
		child.timed_out ? " (ended by the alarm)" : "", child.detail);
	ck_assert_msg(!child.timed_out,
		      "the lookup still waited on a silent bus after %.0f s",
		      child.elapsed);
	assert_unavailable((flowcred_status)child.status, child.detail);
	assert_within_keyring_timeout(child.elapsed);
	close(fd);
	free(address);
	free(path);
}
END_TEST

/* --- threads -------------------------------------------------------------- */

struct lookup_thread {
	flowcred_ctx *ctx;
	pthread_barrier_t *barrier;
	struct lookup result;
};

static void *run_lookup_thread(void *arg)
{
	struct lookup_thread *t = arg;
	size_t len = 0;

	pthread_barrier_wait(t->barrier);
	t->result.status = flowcred_lookup_credentials(
		t->ctx, FU_CONNECTOR, flow_user, t->result.ifs_user,
		sizeof(t->result.ifs_user), &len, &t->result.has_password,
		t->result.detail, sizeof(t->result.detail));
	return NULL;
}

START_TEST(test_concurrent_lookups_succeed)
{
	static struct lookup_thread threads[N_THREADS];
	pthread_t ids[N_THREADS];
	pthread_barrier_t barrier;
	flowcred_ctx *ctx = fu_open(config_path);
	struct timespec start;
	double elapsed;
	int i;

	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, N_THREADS + 1), 0);
	for (i = 0; i < N_THREADS; i++) {
		memset(&threads[i], 0, sizeof(threads[i]));
		threads[i].ctx = ctx;
		threads[i].barrier = &barrier;
		ck_assert_int_eq(pthread_create(&ids[i], NULL, run_lookup_thread,
						&threads[i]), 0);
	}
	start = fu_start();
	pthread_barrier_wait(&barrier);
	for (i = 0; i < N_THREADS; i++)
		ck_assert_int_eq(pthread_join(ids[i], NULL), 0);
	elapsed = fu_elapsed(start);
	fprintf(stderr, "%d concurrent lookups took %.3f s\n", N_THREADS,
		elapsed);
	for (i = 0; i < N_THREADS; i++) {
		fu_assert_clean(threads[i].result.detail);
		assert_found(&threads[i].result);
	}
	ck_assert_msg(elapsed < FU_KEYRING_TIMEOUT_S + FU_SLACK_S,
		      "%d lookups took %.2f s", N_THREADS, elapsed);
	pthread_barrier_destroy(&barrier);
	flowcred_close(ctx);
}
END_TEST

/* --- the daemon stops, locks, dies and comes back ------------------------ */

/* Continues pid after WATCHDOG_S seconds from a process of its own, so a
 * test that hangs or fails cannot leave the daemon stopped. */
static pid_t start_watchdog(pid_t pid)
{
	pid_t watchdog = fork();

	ck_assert_int_ge(watchdog, 0);
	if (watchdog == 0) {
		sleep(WATCHDOG_S);
		kill(pid, SIGCONT);
		_exit(0);
	}
	return watchdog;
}

static void stop_watchdog(pid_t watchdog)
{
	int status;

	kill(watchdog, SIGKILL);
	waitpid(watchdog, &status, 0);
}

/* Looks up with the daemon stopped by SIGSTOP, so it never responds;
 * with connect_first, the context talked to it before. */
static void lookup_stopped_daemon(int connect_first)
{
	flowcred_ctx *ctx = fu_open(config_path);
	pid_t daemon = fu_keyring_daemon_pid();
	struct lookup l;
	pid_t watchdog;

	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	if (!connect_first) {
		flowcred_close(ctx);
		ctx = fu_open(config_path);
	} else {
		lookup_once(ctx, &l);
		assert_found(&l);
	}
	watchdog = start_watchdog(daemon);
	ck_assert_int_eq(kill(daemon, SIGSTOP), 0);
	lookup_once(ctx, &l);
	kill(daemon, SIGCONT);
	stop_watchdog(watchdog);

	assert_unavailable(l.status, l.detail);
	assert_within_keyring_timeout(l.elapsed);

	/* Running again, the daemon serves the same context. */
	lookup_once(ctx, &l);
	assert_found(&l);
	flowcred_close(ctx);
}

START_TEST(test_stopped_daemon_bounded)
{
	lookup_stopped_daemon(1);
}
END_TEST

START_TEST(test_stopped_daemon_first_use_bounded)
{
	lookup_stopped_daemon(0);
}
END_TEST

START_TEST(test_locked_collection_unavailable)
{
	flowcred_ctx *ctx = fu_open(config_path);
	char detail[FLOWCRED_DETAIL_MAX];
	struct timespec start;
	flowcred_status status;
	struct lookup l;

	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	fu_run_harness_script("lock-keyring.sh");

	lookup_once(ctx, &l);
	assert_unavailable(l.status, l.detail);
	ck_assert_msg(tu_contains_nocase(l.detail, "locked"),
		      "the detail does not say locked: %s", l.detail);
	assert_within_keyring_timeout(l.elapsed);

	start = fu_start();
	status = tu_get_token(ctx, FU_CONNECTOR, flow_user, NULL, NULL, 0,
			      NULL, NULL, detail);
	fprintf(stderr, "get_token: %s after %.3f s: %s\n",
		flowcred_strerror(status), fu_elapsed(start), detail);
	fu_assert_clean(detail);
	assert_unavailable(status, detail);
	ck_assert_msg(tu_contains_nocase(detail, "locked"),
		      "the detail does not say locked: %s", detail);
	assert_within_keyring_timeout(fu_elapsed(start));

	/* unlock-keyring.sh replaces the daemon with an unlocked one; the
	 * same context must find the item through it. */
	fu_run_harness_script("unlock-keyring.sh");
	lookup_once(ctx, &l);
	assert_found(&l);
	flowcred_close(ctx);
}
END_TEST

static void kill_daemon(void)
{
	pid_t daemon = fu_keyring_daemon_pid();
	struct timespec start = fu_start();

	ck_assert_int_eq(kill(daemon, SIGKILL), 0);
	while (kill(daemon, 0) == 0 || errno != ESRCH) {
		/* A zombie of the harness still responds to kill(0). */
		char path[64];
		FILE *f;
		char state = 0;

		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)daemon);
		f = fopen(path, "r");
		if (f == NULL)
			break;
		if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
			state = 0;
		fclose(f);
		if (state == 'Z')
			break;
		ck_assert_msg(fu_elapsed(start) < DAEMON_EXIT_TIMEOUT_S,
			      "the keyring daemon %ld did not die", (long)daemon);
		usleep(10 * 1000);
	}
}

/* The daemon is killed between two calls: a call while it is gone fails
 * fast, and after it was started again the next call succeeds, without
 * a new context or a restart of the host. */
START_TEST(test_killed_daemon_recovers)
{
	flowcred_ctx *ctx = fu_open(config_path);
	char detail[FLOWCRED_DETAIL_MAX];
	flowcred_status status;
	struct lookup l;

	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	lookup_once(ctx, &l);
	assert_found(&l);

	kill_daemon();
	lookup_once(ctx, &l);
	assert_unavailable(l.status, l.detail);
	assert_fast(l.elapsed);

	fu_run_harness_script("unlock-keyring.sh");
	lookup_once(ctx, &l);
	assert_found(&l);

	status = tu_get_token(ctx, FU_CONNECTOR, flow_user, NULL, NULL, 0,
			      NULL, NULL, detail);
	fu_assert_clean(detail);
	ck_assert_msg(status == FLOWCRED_OK, "expected a token, got %s: %s",
		      flowcred_strerror(status), detail);
	flowcred_close(ctx);
}
END_TEST

/* Killed and started again with no call in between: the first call after
 * the restart already succeeds. */
START_TEST(test_restart_between_calls_recovers)
{
	flowcred_ctx *ctx = fu_open(config_path);
	struct lookup l;

	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	lookup_once(ctx, &l);
	assert_found(&l);

	kill_daemon();
	fu_run_harness_script("unlock-keyring.sh");

	lookup_once(ctx, &l);
	assert_found(&l);
	flowcred_close(ctx);
}
END_TEST

/* --- the bus without Secret Service ---------------------------------------- */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

/* Starts a session bus with no service directories, so nothing can be
 * activated on it and nothing owns org.freedesktop.secrets. */
static void start_empty_bus(void)
{
	const char *dir = getenv("FLOWCRED_TEST_DIR");
	char config[512];
	char socket_dir[512];
	char text[2048];
	char output[1024] = "";
	size_t used = 0;
	FILE *pipe;
	char *newline;
	long pid;

	if (dir == NULL)
		return;
	snprintf(socket_dir, sizeof(socket_dir), "%s/empty-bus", dir);
	if (mkdir(socket_dir, 0700) != 0 && errno != EEXIST)
		return;
	snprintf(config, sizeof(config), "%s/empty-bus.conf", dir);
	snprintf(text, sizeof(text),
		 "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus "
		 "Configuration 1.0//EN\"\n"
		 " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		 "<busconfig>\n"
		 "  <type>session</type>\n"
		 "  <listen>unix:dir=%s</listen>\n"
		 "  <auth>EXTERNAL</auth>\n"
		 "  <policy context=\"default\">\n"
		 "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
		 "    <allow eavesdrop=\"true\"/>\n"
		 "    <allow own=\"*\"/>\n"
		 "  </policy>\n"
		 "</busconfig>\n", socket_dir);
	write_text(config, text);
	snprintf(text, sizeof(text),
		 "dbus-daemon --config-file='%s' --fork --print-address=1 "
		 "--print-pid=1", config);
	pipe = popen(text, "r");
	if (pipe == NULL)
		return;
	while (used < sizeof(output) - 1 &&
	       fgets(output + used, (int)(sizeof(output) - used), pipe) != NULL)
		used = strlen(output);
	pclose(pipe);
	/* The first line is the address, the second the process id. */
	newline = strchr(output, '\n');
	if (newline == NULL)
		return;
	*newline = '\0';
	pid = strtol(newline + 1, NULL, 10);
	if (pid <= 1)
		return;
	snprintf(empty_bus_address, sizeof(empty_bus_address), "%s", output);
	empty_bus_pid = (pid_t)pid;
}

static void stop_empty_bus(void)
{
	if (empty_bus_pid > 1)
		kill(empty_bus_pid, SIGTERM);
}

static Suite *keyring_suite(void)
{
	Suite *suite = suite_create("fault_keyring");
	TCase *tc;

	tc = tcase_create("buses");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bus_without_provider_fast);
	tcase_add_test(tc, test_refusing_socket_fast);
	tcase_add_test(tc, test_missing_socket_fast);
	tcase_add_test(tc, test_no_bus_address_fast);
	tcase_add_test(tc, test_silent_socket_bounded);
	suite_add_tcase(suite, tc);

	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_concurrent_lookups_succeed);
	suite_add_tcase(suite, tc);

	/* Last, in this order: they stop, lock and replace the daemon. */
	tc = tcase_create("daemon");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stopped_daemon_bounded);
	tcase_add_test(tc, test_stopped_daemon_first_use_bounded);
	tcase_add_test(tc, test_locked_collection_unavailable);
	tcase_add_test(tc, test_killed_daemon_recovers);
	tcase_add_test(tc, test_restart_between_calls_recovers);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	int status;

	start_empty_bus();
	status = tu_run_suite(keyring_suite());
	stop_empty_bus();
	return status;
}
