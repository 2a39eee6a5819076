/* Host safety tests: the library runs inside the Flow server and inside
 * sshd or login through PAM, so it must not kill, hang or bloat its host.
 *
 * - SIGPIPE: a token server that resets the connection while the request
 *   is still being sent must not end a host that left SIGPIPE at SIG_DFL,
 *   nor replace a host's own handler.
 * - fork(): a child of a host that used a context calls get_token on it
 *   and gets a token or a clear error within a bound, never a deadlock,
 *   also when another thread of the parent was inside the library.
 * - First use from 8 threads at once, on one context and on 8 contexts.
 * - Many grants in one process with flat resident memory.
 * - Configuration and secret files that are FIFOs must not block
 *   flowcred_open().
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "faultutil.h"

#define N_THREADS 8
#define TOKEN_BUFFER_SIZE 8192

/* A typed password of 1 MiB makes a request body that is still being
 * written when the server resets the connection. */
#define HUGE_PASSWORD_SIZE (1024 * 1024)

/* Bound of a get_token call: keyring, then HTTP, plus scheduling. */
#define CALL_BOUND_S (FU_KEYRING_TIMEOUT_S + FU_TIMEOUT_S + FU_SLACK_S)

/* Grants of the memory test, and its time cap in seconds: the loop stops
 * early at the cap and reports the count it reached. */
#define GRANTS_DEFAULT 10000
#define GRANTS_TIME_CAP_S 170
#define GRANTS_FIRST_MEASURE 1000

/* Growth of VmRSS allowed between the first measure and the end, in KiB:
 * an allowance for the allocator's own growth, chosen, not measured. */
#define RSS_TOLERANCE_KB 1024

/* AddressSanitizer keeps freed blocks in quarantine, so VmRSS grows
 * whatever the library does: such builds run fewer grants and leave
 * leaks to LeakSanitizer. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANINGFUL 0
#define GRANTS_SANITIZED 1500
#else
#define RSS_MEANINGFUL 1
#define GRANTS_SANITIZED GRANTS_DEFAULT
#endif

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

static flowcred_status get_token(flowcred_ctx *ctx, const char *user,
				 const char *password, char *token,
				 size_t token_size, char *detail)
{
	size_t token_len = 0;

	return flowcred_get_token(ctx, FU_CONNECTOR, user, password, token,
				  token_size, &token_len, NULL, NULL, detail,
				  FLOWCRED_DETAIL_MAX);
}

static void assert_token(flowcred_status status, const char *detail)
{
	ck_assert_msg(status == FLOWCRED_OK, "expected a token, got %s: %s",
		      flowcred_strerror(status), detail);
}

/* --- SIGPIPE ---------------------------------------------------------------- */

static volatile sig_atomic_t sigpipe_count;

static void count_sigpipe(int signal_number)
{
	(void)signal_number;
	sigpipe_count++;
}

/* Sends a 1 MiB typed password to a server that resets the connection
 * as soon as the request headers arrive, then to one that cuts its
 * response short. The test process itself is the host. */
static void get_token_from_resetting_server(void)
{
	char *password = malloc(HUGE_PASSWORD_SIZE + 1);
	char detail[FLOWCRED_DETAIL_MAX];
	char token[TOKEN_BUFFER_SIZE];
	static const char *const modes[] = { "close-early", "truncate" };
	flowcred_status status;
	struct timespec start;
	size_t i;

	ck_assert_ptr_nonnull(password);
	memset(password, 'p', HUGE_PASSWORD_SIZE);
	password[HUGE_PASSWORD_SIZE] = '\0';
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char *url = fu_fault_url(modes[i], 200, "application/json",
					 "{\"access_token\":\"abc\"", NULL);
		char *config = fu_write_config(url, NULL);
		flowcred_ctx *ctx = fu_open(config);

		tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, NULL);
		start = fu_start();
		status = get_token(ctx, flow_user, password, token,
				   sizeof(token), detail);
		fprintf(stderr, "%s: %s after %.3f s: %s\n", modes[i],
			flowcred_strerror(status), fu_elapsed(start), detail);
		fu_assert_clean(detail);
		ck_assert_msg(status == FLOWCRED_UNAVAILABLE,
			      "%s: expected UNAVAILABLE, got %s: %s", modes[i],
			      flowcred_strerror(status), detail);
		ck_assert_msg(fu_elapsed(start) < CALL_BOUND_S,
			      "%s: the call took %.2f s", modes[i],
			      fu_elapsed(start));
		flowcred_close(ctx);
		free(config);
		free(url);
	}
	explicit_bzero(password, HUGE_PASSWORD_SIZE);
	free(password);
}

START_TEST(test_sigpipe_default_survives)
{
	struct sigaction action;

	ck_assert_ptr_ne(signal(SIGPIPE, SIG_DFL), SIG_ERR);
	get_token_from_resetting_server();
	/* Reaching this line means SIGPIPE did not end the process. */
	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &action), 0);
	ck_assert_ptr_eq(action.sa_handler, SIG_DFL);
}
END_TEST

START_TEST(test_sigpipe_handler_kept)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_handler = count_sigpipe;
	sigemptyset(&action.sa_mask);
	ck_assert_int_eq(sigaction(SIGPIPE, &action, NULL), 0);
	sigpipe_count = 0;
	get_token_from_resetting_server();
	fprintf(stderr, "SIGPIPE reached the host's handler %d times\n",
		(int)sigpipe_count);
	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &action), 0);
	ck_assert_ptr_eq(action.sa_handler, count_sigpipe);
	ck_assert_int_eq(sigpipe_count, 0);
}
END_TEST

/* --- fork() ----------------------------------------------------------------- */

static flowcred_ctx *shared_ctx;
static const char *child_user;

static void child_get_token(void *arg)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char token[TOKEN_BUFFER_SIZE];
	flowcred_status status;

	(void)arg;
	status = get_token(shared_ctx, child_user, NULL, token, sizeof(token),
			   detail);
	fu_child_report(status, detail);
}

/* Runs get_token for user in a child of this process, on shared_ctx. */
static void check_child_call(const char *user, int may_fail)
{
	struct fu_child child;

	child_user = user;
	fu_run_child(child_get_token, NULL, 20, &child);
	fprintf(stderr, "child (%s): status %d after %.3f s%s: %s\n", user,
		child.status, child.elapsed,
		child.timed_out ? " (ended by the alarm)" : "", child.detail);
	ck_assert_msg(!child.timed_out,
		      "the child's get_token did not return within %.0f s",
		      child.elapsed);
	ck_assert_msg(WIFEXITED(child.wait_status) &&
		      WEXITSTATUS(child.wait_status) == 0,
		      "the child ended with wait status 0x%x",
		      child.wait_status);
	fu_assert_clean(child.detail);
	fu_assert_no_secret(child.log, "the child's log");
	if (may_fail) {
		ck_assert_msg(child.status == FLOWCRED_OK ||
			      child.status == FLOWCRED_UNAVAILABLE,
			      "expected a token or UNAVAILABLE, got %d: %s",
			      child.status, child.detail);
		if (child.status != FLOWCRED_OK)
			ck_assert_str_ne(child.detail, "");
	} else {
		ck_assert_msg(child.status == FLOWCRED_OK,
			      "expected a token, got %d: %s", child.status,
			      child.detail);
	}
	ck_assert_msg(child.elapsed < CALL_BOUND_S,
		      "the child's call took %.2f s", child.elapsed);
}

START_TEST(test_fork_after_first_use)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token[TOKEN_BUFFER_SIZE];
	char *other_user = tu_unique("other");

	shared_ctx = fu_open(config_path);
	tu_store(shared_ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	tu_store(shared_ctx, FU_CONNECTOR, other_user, TU_USER, TU_PASSWORD);
	assert_token(get_token(shared_ctx, flow_user, NULL, token,
			       sizeof(token), detail), detail);
	fu_add_secret(token);

	/* The token the parent cached, then a user whose item the child
	 * must read from the keyring through the parent's connection. */
	check_child_call(flow_user, 1);
	check_child_call(other_user, 1);

	/* The parent's context is unharmed. */
	assert_token(get_token(shared_ctx, other_user, NULL, token,
			       sizeof(token), detail), detail);
	flowcred_close(shared_ctx);
	free(other_user);
}
END_TEST

struct busy_thread {
	flowcred_ctx *ctx;
	const char *user;
	volatile int stop;
	unsigned int calls;
	unsigned int failures;
};

/* Keeps the library busy: grants, logouts and keyring reads in a loop. */
static void *run_busy_thread(void *arg)
{
	struct busy_thread *busy = arg;
	char detail[FLOWCRED_DETAIL_MAX];
	char token[TOKEN_BUFFER_SIZE];
	flowcred_status status;

	while (!busy->stop) {
		status = get_token(busy->ctx, busy->user, NULL, token,
				   sizeof(token), detail);
		if (status != FLOWCRED_OK)
			busy->failures++;
		status = flowcred_logout(busy->ctx, FU_CONNECTOR, busy->user,
					 detail, sizeof(detail));
		if (status != FLOWCRED_OK && status != FLOWCRED_NOT_FOUND)
			busy->failures++;
		busy->calls++;
	}
	explicit_bzero(token, sizeof(token));
	return NULL;
}

/* fork() while another thread is inside the library, holding whatever
 * locks it holds at that moment: the child must still get a response. */
START_TEST(test_fork_while_busy)
{
	struct busy_thread busy = { 0 };
	pthread_t thread;
	int i;

	shared_ctx = fu_open(config_path);
	tu_store(shared_ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	busy.ctx = shared_ctx;
	busy.user = flow_user;
	ck_assert_int_eq(pthread_create(&thread, NULL, run_busy_thread, &busy), 0);
	for (i = 0; i < 5; i++) {
		usleep(50 * 1000 + i * 37 * 1000);
		check_child_call(flow_user, 1);
	}
	busy.stop = 1;
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	fprintf(stderr, "busy thread: %u rounds, %u failures\n", busy.calls,
		busy.failures);
	ck_assert_uint_gt(busy.calls, 0);
	ck_assert_uint_eq(busy.failures, 0);
	flowcred_close(shared_ctx);
}
END_TEST

/* --- first use from 8 threads ---------------------------------------------- */

struct first_use {
	flowcred_ctx *ctx;	/* NULL: the thread opens its own */
	const char *user;
	pthread_barrier_t *barrier;
	flowcred_status status;
	char detail[FLOWCRED_DETAIL_MAX];
	char token[TOKEN_BUFFER_SIZE];
};

static void *run_first_use(void *arg)
{
	struct first_use *t = arg;
	flowcred_ctx *ctx = t->ctx;

	pthread_barrier_wait(t->barrier);
	if (ctx == NULL) {
		t->status = flowcred_open(config_path, &ctx, t->detail,
					  sizeof(t->detail));
		if (t->status != FLOWCRED_OK)
			return NULL;
		flowcred_set_log_func(ctx, fu_capture_log, NULL, LOG_DEBUG);
	}
	t->status = get_token(ctx, t->user, NULL, t->token, sizeof(t->token),
			      t->detail);
	if (t->ctx == NULL)
		flowcred_close(ctx);
	return NULL;
}

static void run_eight(struct first_use *threads, flowcred_ctx *ctx,
		      char **users)
{
	pthread_t ids[N_THREADS];
	pthread_barrier_t barrier;
	struct timespec start;
	int i;

	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, N_THREADS), 0);
	for (i = 0; i < N_THREADS; i++) {
		memset(&threads[i], 0, sizeof(threads[i]));
		threads[i].ctx = ctx;
		threads[i].user = users[i];
		threads[i].barrier = &barrier;
	}
	start = fu_start();
	for (i = 0; i < N_THREADS; i++)
		ck_assert_int_eq(pthread_create(&ids[i], NULL, run_first_use,
						&threads[i]), 0);
	for (i = 0; i < N_THREADS; i++)
		ck_assert_int_eq(pthread_join(ids[i], NULL), 0);
	fprintf(stderr, "%d threads took %.3f s\n", N_THREADS,
		fu_elapsed(start));
	for (i = 0; i < N_THREADS; i++) {
		fu_assert_clean(threads[i].detail);
		assert_token(threads[i].status, threads[i].detail);
	}
	ck_assert_msg(fu_elapsed(start) < CALL_BOUND_S,
		      "the threads took %.2f s", fu_elapsed(start));
	pthread_barrier_destroy(&barrier);
}

/* Eight threads ask one new context for the same token at once: all get
 * it, from a single grant. */
START_TEST(test_first_use_threads_one_context)
{
	static struct first_use threads[N_THREADS];
	char *users[N_THREADS];
	struct json_object *requests;
	flowcred_ctx *ctx = fu_open(config_path);
	int i;

	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	for (i = 0; i < N_THREADS; i++)
		users[i] = flow_user;
	tu_server_reset();
	run_eight(threads, ctx, users);
	for (i = 1; i < N_THREADS; i++)
		ck_assert_str_eq(threads[i].token, threads[0].token);
	requests = tu_server_requests();
	ck_assert_uint_eq(tu_count_grants(requests), 1);
	json_object_put(requests);
	fu_add_secret(threads[0].token);
	fu_assert_no_secret(fu_log_text(), "the log");
	flowcred_close(ctx);
}
END_TEST

/* Eight threads open their own contexts and get tokens for eight users at
 * the same moment. */
START_TEST(test_first_use_threads_own_contexts)
{
	static struct first_use threads[N_THREADS];
	char *users[N_THREADS];
	flowcred_ctx *ctx = fu_open(config_path);
	int i;

	for (i = 0; i < N_THREADS; i++) {
		users[i] = tu_unique("flow");
		tu_store(ctx, FU_CONNECTOR, users[i], TU_USER, TU_PASSWORD);
	}
	flowcred_close(ctx);
	run_eight(threads, NULL, users);
	for (i = 0; i < N_THREADS; i++) {
		fu_add_secret(threads[i].token);
		free(users[i]);
	}
	fu_assert_no_secret(fu_log_text(), "the log");
}
END_TEST

/* --- many grants -------------------------------------------------------------- */

/* Log function of the memory test: keeps nothing, so the test's own
 * buffers do not grow, but counts lines that look like they carry a
 * token (JWTs start with "eyJ") or a fixture secret. */
static unsigned long suspicious_lines;

static void check_log_line(int priority, const char *message, void *userdata)
{
	(void)priority;
	(void)userdata;
	if (strstr(message, "eyJ") != NULL ||
	    strstr(message, TU_PASSWORD) != NULL ||
	    strstr(message, TU_CLIENT_SECRET) != NULL)
		suspicious_lines++;
}

/* Returns VmRSS of this process in KiB. */
static long resident_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	ck_assert_int_gt(kb, 0);
	return kb;
}

/* Each round is a password grant and a logout, so no cached token is
 * reused. FLOWCRED_FAULT_GRANTS overrides the count. */
START_TEST(test_many_grants_flat_memory)
{
	const char *count_text = getenv("FLOWCRED_FAULT_GRANTS");
	long count = count_text != NULL ? strtol(count_text, NULL, 10) :
					  GRANTS_SANITIZED;
	char detail[FLOWCRED_DETAIL_MAX];
	char token[TOKEN_BUFFER_SIZE];
	flowcred_ctx *ctx = fu_open(config_path);
	flowcred_status status;
	struct timespec start;
	long rss_first = 0;
	long rss_last;
	double first_s = 0;
	long failures = 0;
	long i;

	ck_assert_int_gt(count, GRANTS_FIRST_MEASURE);
	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	flowcred_set_log_func(ctx, check_log_line, NULL, LOG_DEBUG);
	start = fu_start();
	for (i = 1; i <= count; i++) {
		status = get_token(ctx, flow_user, NULL, token, sizeof(token),
				   detail);
		if (status != FLOWCRED_OK && failures++ < 5)
			fprintf(stderr, "grant %ld: %s: %s\n", i,
				flowcred_strerror(status), detail);
		status = flowcred_logout(ctx, FU_CONNECTOR, flow_user, detail,
					 sizeof(detail));
		if (status != FLOWCRED_OK && failures++ < 5)
			fprintf(stderr, "logout %ld: %s: %s\n", i,
				flowcred_strerror(status), detail);
		if (i == GRANTS_FIRST_MEASURE) {
			rss_first = resident_kb();
			first_s = fu_elapsed(start);
		}
		if (i % 1000 == 0)
			fprintf(stderr, "%ld grants: VmRSS %ld kB after %.1f s\n",
				i, resident_kb(), fu_elapsed(start));
		if (i > GRANTS_FIRST_MEASURE &&
		    fu_elapsed(start) > GRANTS_TIME_CAP_S) {
			fprintf(stderr, "stopped at %ld grants: the time cap of "
				"%d s was reached\n", i, GRANTS_TIME_CAP_S);
			break;
		}
	}
	if (i > count)
		i = count;
	rss_last = resident_kb();
	fprintf(stderr, "%ld grants in %.1f s (%.2f ms each); VmRSS %ld kB "
		"after %d (%.1f s), %ld kB at the end\n", i, fu_elapsed(start),
		1000.0 * fu_elapsed(start) / (double)i, rss_first,
		GRANTS_FIRST_MEASURE, first_s, rss_last);
	explicit_bzero(token, sizeof(token));
	ck_assert_int_eq(failures, 0);
	ck_assert_uint_eq(suspicious_lines, 0);
	if (RSS_MEANINGFUL)
		ck_assert_msg(rss_last - rss_first <= RSS_TOLERANCE_KB,
			      "VmRSS grew by %ld kB from grant %d to grant %ld",
			      rss_last - rss_first, GRANTS_FIRST_MEASURE, i);
	flowcred_close(ctx);
}
END_TEST

/* --- FIFOs in place of files ---------------------------------------------------- */

static const char *fifo_config;

static void open_fifo_config(void *arg)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_ctx *ctx = NULL;
	flowcred_status status;

	(void)arg;
	status = flowcred_open(fifo_config, &ctx, detail, sizeof(detail));
	flowcred_close(ctx);
	fu_child_report(status, detail);
}

/* Opens a configuration that is, or names as client_secret_file, a FIFO
 * with no writer: open(2) would wait for one forever. */
static void check_fifo_open(const char *path)
{
	struct fu_child child;

	fifo_config = path;
	fu_run_child(open_fifo_config, NULL, 10, &child);
	fprintf(stderr, "FIFO %s: status %d after %.3f s%s: %s\n", path,
		child.status, child.elapsed,
		child.timed_out ? " (ended by the alarm)" : "", child.detail);
	ck_assert_msg(!child.timed_out,
		      "flowcred_open() still waited on a FIFO after %.0f s",
		      child.elapsed);
	ck_assert_int_eq(child.status, FLOWCRED_CONFIG);
	ck_assert_msg(child.elapsed < FU_FAST_S, "flowcred_open took %.2f s",
		      child.elapsed);
}

static char *make_fifo(const char *name)
{
	char *unique = tu_unique(name);
	char *path;

	ck_assert_int_ne(asprintf(&path, "%s/%s", tu_env("FLOWCRED_TEST_DIR"),
				  unique), -1);
	free(unique);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	return path;
}

START_TEST(test_fifo_config_rejected)
{
	char *fifo = make_fifo("config-fifo");

	check_fifo_open(fifo);
	free(fifo);
}
END_TEST

START_TEST(test_fifo_secret_file_rejected)
{
	char *fifo = make_fifo("secret-fifo");
	char *url = tu_token_url("test");
	char *config;

	config = tu_write_filef("fifo.conf", 0600,
				"[" FU_CONNECTOR "]\n"
				"token_url = %s\n"
				"client_id = " TU_CLIENT_ID "\n"
				"client_secret_file = %s\n", url, fifo);
	fifo_config = config;
	/* An invalid connector group does not fail flowcred_open(): it
	 * fails each call for that connector. Either way the open must
	 * return. */
	{
		struct fu_child child;

		fu_run_child(open_fifo_config, NULL, 10, &child);
		fprintf(stderr, "secret FIFO: status %d after %.3f s%s: %s\n",
			child.status, child.elapsed,
			child.timed_out ? " (ended by the alarm)" : "",
			child.detail);
		ck_assert_msg(!child.timed_out,
			      "flowcred_open() still waited on a FIFO secret "
			      "file after %.0f s", child.elapsed);
		ck_assert_msg(child.status == FLOWCRED_OK ||
			      child.status == FLOWCRED_CONFIG,
			      "expected OK or CONFIG, got %d", child.status);
	}
	free(config);
	free(url);
	free(fifo);
}
END_TEST

static Suite *host_suite(void)
{
	Suite *suite = suite_create("fault_host");
	TCase *tc;

	tc = tcase_create("signals");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sigpipe_default_survives);
	tcase_add_test(tc, test_sigpipe_handler_kept);
	suite_add_tcase(suite, tc);

	tc = tcase_create("fork");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_fork_after_first_use);
	tcase_add_test(tc, test_fork_while_busy);
	suite_add_tcase(suite, tc);

	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_first_use_threads_one_context);
	tcase_add_test(tc, test_first_use_threads_own_contexts);
	suite_add_tcase(suite, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fifo_config_rejected);
	tcase_add_test(tc, test_fifo_secret_file_rejected);
	suite_add_tcase(suite, tc);

	tc = tcase_create("memory");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, GRANTS_TIME_CAP_S + 60);
	tcase_add_test(tc, test_many_grants_flat_memory);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	int status;

	if (fu_fault_server_start() != 0)
		return 99;
	status = tu_run_suite(host_suite());
	fu_fault_server_stop();
	return status;
}
