/* Benchmarks of libflowcred's public API against the test token server.
 *
 * Usage: bench-flowcred MODE [ARGS]
 *   store                 stores the benchmark users' keyring items and
 *                         installs realm "bench-canned" on the server
 *   store-many N          stores N more machine users, bench-m-00000...
 *   cached [BATCHES [CALLS]]
 *                         ns per flowcred_get_token() with the token cached,
 *                         on 1 and 2 threads
 *   cold [ROUNDS]         a grant with the cache defeated, side by side with
 *                         a bare libcurl POST of the same body and a curl
 *                         process per request
 *   herd [CALLERS [REPEATS]]
 *                         CALLERS threads ask for one cold token at once;
 *                         counts the password grants the server received
 *   lookup [BATCHES [CALLS]]
 *                         flowcred_lookup_credentials() with a warm D-Bus
 *                         connection, side by side with secret-tool processes
 *   server-reset          clears the requests and sessions of the server
 *   server-last-id        prints the id of the last request it recorded
 *   server-count [ID]     prints the password grants and all token requests
 *                         it recorded after request ID, separated by a space
 *
 * It needs the environment of tests/harness/with-services.sh and the
 * configuration file bench/run.sh writes, and prints Markdown.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench-util.h"

extern char **environ;

/* Stack size of the herd's threads: flowcred_get_token() with libcurl,
 * OpenSSL and libsecret underneath stays far below it. */
#define HERD_STACK_SIZE (512 * 1024)

/* Rounds of the cold benchmark that run before any sample is kept, so
 * connections, TLS sessions and the keyring session exist. */
#define COLD_WARMUP_ROUNDS 10

/* The cold benchmark runs a curl process in one round out of this many. */
#define COLD_CLI_EVERY 4

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-flowcred store | store-many N | cached [BATCHES [CALLS]] |\n"
		"       cold [ROUNDS] | herd [CALLERS [REPEATS]] | lookup [BATCHES [CALLS]] |\n"
		"       server-reset | server-last-id | server-count [ID]\n");
	exit(2);
}

/* Reads a positive count argument. */
static long count_arg(int argc, char **argv, int index, long fallback,
		      long max)
{
	char *end = NULL;
	long value;

	if (index >= argc)
		return fallback;
	errno = 0;
	value = strtol(argv[index], &end, 10);
	if (errno != 0 || end == argv[index] || *end != '\0' || value < 1 ||
	    value > max) {
		fprintf(stderr, "bench: invalid count '%s': expected 1 to %ld\n",
			argv[index], max);
		exit(2);
	}
	return value;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	return p;
}

static void get_token_or_exit(flowcred_ctx *ctx, const char *flow_user,
			      const char *password, char *token)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;
	size_t token_len;

	status = flowcred_get_token(ctx, BENCH_CONNECTOR, flow_user, password,
				    token, BENCH_TOKEN_MAX, &token_len, NULL,
				    NULL, detail, sizeof(detail));
	if (status != FLOWCRED_OK)
		bench_fail_status("flowcred_get_token", status, detail);
}

static void logout_or_exit(flowcred_ctx *ctx, const char *flow_user)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;

	status = flowcred_logout(ctx, BENCH_CONNECTOR, flow_user, detail,
				 sizeof(detail));
	if (status != FLOWCRED_OK)
		bench_fail_status("flowcred_logout", status, detail);
}

static void lookup_or_exit(flowcred_ctx *ctx, const char *flow_user)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char ifs_user[256];
	flowcred_status status;
	size_t len;
	int has_password;

	status = flowcred_lookup_credentials(ctx, BENCH_CONNECTOR, flow_user,
					     ifs_user, sizeof(ifs_user), &len,
					     &has_password, detail,
					     sizeof(detail));
	if (status != FLOWCRED_OK)
		bench_fail_status("flowcred_lookup_credentials", status, detail);
}

static void store_or_exit(flowcred_ctx *ctx, const char *connector,
			  const char *flow_user, const char *password)
{
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;

	status = flowcred_store_credentials(ctx, connector, flow_user,
					    BENCH_IFS_USER, password, detail,
					    sizeof(detail));
	if (status != FLOWCRED_OK)
		bench_fail_status("flowcred_store_credentials", status, detail);
}

/* store: the machine user (stored password) and the interactive user
 * (IFS user only) every other mode uses, and the canned realm of the
 * memory benchmark. */
static int run_store(void)
{
	flowcred_ctx *ctx = bench_open();

	store_or_exit(ctx, BENCH_CONNECTOR, BENCH_MACHINE_USER,
		      BENCH_IFS_PASSWORD);
	store_or_exit(ctx, BENCH_CONNECTOR, BENCH_INTERACTIVE_USER, NULL);
	store_or_exit(ctx, BENCH_CANNED_CONNECTOR, BENCH_INTERACTIVE_USER, NULL);
	flowcred_close(ctx);
	bench_server_put_canned_realm();
	return 0;
}

/* store-many N: N machine users for the memory benchmark, with the time
 * each store took, because gnome-keyring rewrites its file on every
 * change. */
static int run_store_many(long n)
{
	flowcred_ctx *ctx = bench_open();
	double *ms = xcalloc((size_t)n, sizeof(*ms));
	struct bench_stats first;
	struct bench_stats last;
	char flow_user[64];
	int64_t start = bench_now_ns();
	int64_t t0;
	long tenth = n >= 10 ? n / 10 : 1;
	long i;

	for (i = 0; i < n; i++) {
		snprintf(flow_user, sizeof(flow_user), "bench-m-%05ld", i);
		t0 = bench_now_ns();
		store_or_exit(ctx, BENCH_CONNECTOR, flow_user,
			      BENCH_IFS_PASSWORD);
		ms[i] = (double)(bench_now_ns() - t0) / 1e6;
	}
	flowcred_close(ctx);
	printf("| items | total s | median ms per store, first %ld | median ms per store, last %ld |\n",
	       tenth, tenth);
	printf("|---:|---:|---:|---:|\n");
	bench_stats_compute(ms, (size_t)tenth, &first);
	bench_stats_compute(ms + n - tenth, (size_t)tenth, &last);
	printf("| %ld | %.1f | %.2f | %.2f |\n", n,
	       (double)(bench_now_ns() - start) / 1e9, first.median,
	       last.median);
	free(ms);
	return 0;
}

/* A variant of the cached benchmark. */
struct cached_case {
	int threads;
	int typed;		/* typed password, else the stored one */
	int full_outputs;	/* detail, token type and expiry too */
	double *ns;		/* per batch: ns per call in one thread */
	double *rate;		/* per batch: calls per second, all threads */
};

/* State shared by the main thread and the two workers. The main thread
 * writes job between the barriers that bracket a batch. */
struct cached_run {
	flowcred_ctx *ctx;
	pthread_barrier_t barrier;
	const struct cached_case *job;	/* NULL: workers exit */
	long calls;
	long failures[2];
};

struct cached_worker {
	struct cached_run *run;
	int index;
};

static long cached_batch(flowcred_ctx *ctx, const struct cached_case *job,
			 long calls, char *token)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char token_type[FLOWCRED_TOKEN_TYPE_MAX];
	const char *flow_user = job->typed ? BENCH_INTERACTIVE_USER :
					     BENCH_MACHINE_USER;
	const char *password = job->typed ? BENCH_IFS_PASSWORD : NULL;
	flowcred_status status;
	int64_t expires_at;
	size_t token_len;
	long failures = 0;
	long i;

	for (i = 0; i < calls; i++) {
		if (job->full_outputs)
			status = flowcred_get_token(ctx, BENCH_CONNECTOR,
						    flow_user, password, token,
						    BENCH_TOKEN_MAX, &token_len,
						    token_type, &expires_at,
						    detail, sizeof(detail));
		else
			status = flowcred_get_token(ctx, BENCH_CONNECTOR,
						    flow_user, password, token,
						    BENCH_TOKEN_MAX, &token_len,
						    NULL, NULL, NULL, 0);
		if (status != FLOWCRED_OK)
			failures++;
	}
	return failures;
}

static void *cached_worker_loop(void *arg)
{
	struct cached_worker *w = arg;
	struct cached_run *run = w->run;
	char *token = xcalloc(1, BENCH_TOKEN_MAX);

	for (;;) {
		pthread_barrier_wait(&run->barrier);
		if (run->job == NULL)
			break;
		if (w->index < run->job->threads)
			run->failures[w->index] +=
				cached_batch(run->ctx, run->job, run->calls,
					     token);
		pthread_barrier_wait(&run->barrier);
	}
	explicit_bzero(token, BENCH_TOKEN_MAX);
	free(token);
	return NULL;
}

static void cached_row(const struct cached_case *c, long batches, long calls)
{
	struct bench_stats ns;
	struct bench_stats rate;

	bench_stats_compute(c->ns, (size_t)batches, &ns);
	bench_stats_compute(c->rate, (size_t)batches, &rate);
	printf("| %d | %s | %s | %ld x %ld | %.0f | %.0f | %.0f | %.2f M |\n",
	       c->threads, c->typed ? "typed" : "stored",
	       c->full_outputs ? "token, type, expiry, detail" : "token only",
	       batches, calls, ns.median, ns.p90, ns.min, rate.median / 1e6);
}

/* cached: batches of the variants in turn, so that every variant runs
 * under the same machine load. Two worker threads run the batches, and a
 * one-thread variant leaves the second idle at the barrier. The clock
 * runs in the main thread between the barriers that bracket each batch. */
static int run_cached(long batches, long calls)
{
	struct cached_case cases[] = {
		{ .threads = 1, .typed = 0, .full_outputs = 1 },
		{ .threads = 1, .typed = 0, .full_outputs = 0 },
		{ .threads = 1, .typed = 1, .full_outputs = 1 },
		{ .threads = 2, .typed = 0, .full_outputs = 1 },
		{ .threads = 2, .typed = 0, .full_outputs = 0 },
		{ .threads = 2, .typed = 1, .full_outputs = 1 },
	};
	const size_t n_cases = sizeof(cases) / sizeof(cases[0]);
	struct cached_run run = { .ctx = bench_open(), .calls = calls };
	struct cached_worker workers[2];
	pthread_t threads[2];
	char *token = xcalloc(1, BENCH_TOKEN_MAX);
	int64_t t0;
	double wall;
	long b;
	size_t k;
	int i;

	get_token_or_exit(run.ctx, BENCH_MACHINE_USER, NULL, token);
	get_token_or_exit(run.ctx, BENCH_INTERACTIVE_USER, BENCH_IFS_PASSWORD,
			  token);
	for (k = 0; k < n_cases; k++) {
		cases[k].ns = xcalloc((size_t)batches, sizeof(double));
		cases[k].rate = xcalloc((size_t)batches, sizeof(double));
	}
	pthread_barrier_init(&run.barrier, NULL, 3);
	for (i = 0; i < 2; i++) {
		workers[i] = (struct cached_worker){ .run = &run, .index = i };
		pthread_create(&threads[i], NULL, cached_worker_loop,
			       &workers[i]);
	}
	for (b = 0; b < batches; b++) {
		for (k = 0; k < n_cases; k++) {
			run.job = &cases[k];
			pthread_barrier_wait(&run.barrier);
			t0 = bench_now_ns();
			pthread_barrier_wait(&run.barrier);
			wall = (double)(bench_now_ns() - t0);
			cases[k].ns[b] = wall / (double)calls;
			cases[k].rate[b] = (double)calls * cases[k].threads /
					   (wall / 1e9);
		}
	}
	run.job = NULL;
	pthread_barrier_wait(&run.barrier);
	for (i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&run.barrier);
	if (run.failures[0] + run.failures[1] != 0) {
		fprintf(stderr, "bench: %ld cached calls failed\n",
			run.failures[0] + run.failures[1]);
		exit(1);
	}

	printf("| threads | password | outputs | batches x calls | median ns per call | p90 ns per call | fastest batch, ns per call | median calls/s, all threads |\n");
	printf("|---:|---|---|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < n_cases; k++) {
		cached_row(&cases[k], batches, calls);
		free(cases[k].ns);
		free(cases[k].rate);
	}
	explicit_bzero(token, BENCH_TOKEN_MAX);
	free(token);
	flowcred_close(run.ctx);
	return 0;
}

/* The baselines of the cold benchmark, posting the same body to the same
 * URL with the same TLS verification as flowcred: one easy handle that
 * keeps its connection, or, as flowcred does it, a new easy handle per
 * request that finds the connection in a share. */
struct bare_client {
	CURL *curl;
	CURLSH *share;
	char *body;
	char *response;
	size_t response_len;
	size_t response_size;
};

static size_t bare_receive(char *data, size_t size, size_t count,
			   void *userdata)
{
	struct bare_client *bare = userdata;
	size_t n = size * count;

	if (bare->response_len + n + 1 > bare->response_size)
		return 0;
	memcpy(bare->response + bare->response_len, data, n);
	bare->response_len += n;
	bare->response[bare->response_len] = '\0';
	return n;
}

static CURL *bare_handle(struct bare_client *bare)
{
	CURL *curl = curl_easy_init();

	if (curl == NULL) {
		fprintf(stderr, "bench: curl_easy_init failed\n");
		exit(1);
	}
	curl_easy_setopt(curl, CURLOPT_URL, bench_token_url());
	curl_easy_setopt(curl, CURLOPT_CAINFO, bench_env("FLOWCRED_TEST_CA"));
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, bare->body);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, bare_receive);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, bare);
	return curl;
}

static void bare_init(struct bare_client *bare)
{
	bare->body = bench_grant_body();
	bare->response_size = 65536;
	bare->response = xcalloc(1, bare->response_size);
	bare->curl = bare_handle(bare);
	/* One thread only, so the share needs no lock functions. */
	bare->share = curl_share_init();
	if (bare->share == NULL) {
		fprintf(stderr, "bench: curl_share_init failed\n");
		exit(1);
	}
	curl_share_setopt(bare->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(bare->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(bare->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
}

static void bare_perform(struct bare_client *bare, CURL *curl)
{
	long http_status = 0;
	CURLcode rc;

	bare->response_len = 0;
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
	if (rc != CURLE_OK || http_status != 200 ||
	    strstr(bare->response, "\"access_token\"") == NULL) {
		fprintf(stderr, "bench: bare POST failed: %s, HTTP %ld\n",
			curl_easy_strerror(rc), http_status);
		exit(1);
	}
}

static void bare_post(struct bare_client *bare)
{
	bare_perform(bare, bare->curl);
}

static void bare_post_new_handle(struct bare_client *bare)
{
	CURL *curl = bare_handle(bare);

	curl_easy_setopt(curl, CURLOPT_SHARE, bare->share);
	bare_perform(bare, curl);
	curl_easy_cleanup(curl);
}

static void bare_free(struct bare_client *bare)
{
	curl_easy_cleanup(bare->curl);
	curl_share_cleanup(bare->share);
	explicit_bzero(bare->body, strlen(bare->body));
	free(bare->body);
	explicit_bzero(bare->response, bare->response_size);
	free(bare->response);
}

/* Writes the grant body to a file of mode 0600 for the curl process,
 * which reads it with --data-binary @FILE, so no secret is in its argv. */
static char *write_body_file(void)
{
	char *path = xcalloc(1, 4096);
	char *body = bench_grant_body();
	size_t len = strlen(body);
	int fd;

	snprintf(path, 4096, "%s/bench-grant-body", bench_env("FLOWCRED_TEST_DIR"));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, body, len) != (ssize_t)len || close(fd) != 0) {
		fprintf(stderr, "bench: cannot write %s: %s\n", path,
			strerror(errno));
		exit(1);
	}
	explicit_bzero(body, len);
	free(body);
	return path;
}

/* Returns the CPU time this process has used, in microseconds: the
 * calling thread and GDBus's worker thread alike. */
static double process_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Runs argv with standard output and error on /dev/null, waits for it
 * and exits unless it succeeded. Returns the CPU time the child used, in
 * microseconds. */
static double run_quietly(char *const argv[])
{
	posix_spawn_file_actions_t actions;
	struct rusage usage;
	int status;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null",
					 O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null",
					 O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	if (rc != 0) {
		fprintf(stderr, "bench: cannot run %s: %s\n", argv[0],
			strerror(rc));
		exit(1);
	}
	if (wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s failed (wait status %d)\n", argv[0],
			status);
		exit(1);
	}
	return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
	       (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

/* Samples of one client of the cold benchmark. */
struct cold_series {
	const char *name;
	double *ms;	/* wall time */
	double *cpu_us;	/* CPU time of the client process */
	size_t n;
};

static void cold_series_init(struct cold_series *s, const char *name,
			     long rounds)
{
	s->name = name;
	s->ms = xcalloc((size_t)rounds, sizeof(double));
	s->cpu_us = xcalloc((size_t)rounds, sizeof(double));
	s->n = 0;
}

static void cold_series_free(struct cold_series *s)
{
	free(s->ms);
	free(s->cpu_us);
}

static double median_of(const double *values, size_t n)
{
	double *copy = xcalloc(n, sizeof(*copy));
	struct bench_stats stats;

	memcpy(copy, values, n * sizeof(*copy));
	bench_stats_compute(copy, n, &stats);
	free(copy);
	return stats.median;
}

static void cold_row(const struct cold_series *s, double bare_median)
{
	struct bench_stats stats;
	double *copy = xcalloc(s->n, sizeof(*copy));

	memcpy(copy, s->ms, s->n * sizeof(*copy));
	bench_stats_compute(copy, s->n, &stats);
	printf("| %s | %zu | %.3f | %.3f | %.3f | %.0f |\n", s->name, s->n,
	       stats.median, stats.p90, stats.median / bare_median,
	       median_of(s->cpu_us, s->n));
	free(copy);
}

/* Checks that the bare POST sends the very body flowcred sends, as the
 * server recorded it, and prints the result. */
static void check_same_body(flowcred_ctx *ctx, const char *bare_body,
			    char *token)
{
	char *raw;

	bench_server_reset();
	get_token_or_exit(ctx, BENCH_INTERACTIVE_USER, BENCH_IFS_PASSWORD,
			  token);
	logout_or_exit(ctx, BENCH_INTERACTIVE_USER);
	raw = bench_server_last_grant_body();
	if (raw == NULL || strcmp(raw, bare_body) != 0) {
		fprintf(stderr,
			"bench: the bare POST's body differs from flowcred's\n");
		exit(1);
	}
	explicit_bzero(raw, strlen(raw));
	free(raw);
	printf("The bare POST's body is byte-identical to the one flowcred sent, "
	       "as the server recorded it (%zu bytes).\n\n", strlen(bare_body));
}

/* Clients of the cold benchmark, in the order of its table. */
enum cold_client {
	COLD_TYPED,
	COLD_STORED,
	COLD_BARE,
	COLD_BARE_NEW_HANDLE,
	COLD_LOOKUP,		/* a keyring lookup alone, no request */
	COLD_MEASURED_IN_TURN,	/* the clients above run in every round */
	COLD_CURL_PROCESS = COLD_MEASURED_IN_TURN,
	COLD_CLIENTS
};

/* Measures one call of a client into *ms and *cpu_us. flowcred's calls
 * are followed, outside the clock, by flowcred_logout(). */
static void cold_call(flowcred_ctx *ctx, struct bare_client *bare,
		      char *token, enum cold_client which, double *ms,
		      double *cpu_us)
{
	double cpu0 = process_cpu_us();
	int64_t t0 = bench_now_ns();

	if (which == COLD_TYPED)
		get_token_or_exit(ctx, BENCH_INTERACTIVE_USER,
				  BENCH_IFS_PASSWORD, token);
	else if (which == COLD_STORED)
		get_token_or_exit(ctx, BENCH_MACHINE_USER, NULL, token);
	else if (which == COLD_BARE)
		bare_post(bare);
	else if (which == COLD_BARE_NEW_HANDLE)
		bare_post_new_handle(bare);
	else
		lookup_or_exit(ctx, BENCH_INTERACTIVE_USER);
	*ms = (double)(bench_now_ns() - t0) / 1e6;
	*cpu_us = process_cpu_us() - cpu0;
	if (which == COLD_TYPED)
		logout_or_exit(ctx, BENCH_INTERACTIVE_USER);
	else if (which == COLD_STORED)
		logout_or_exit(ctx, BENCH_MACHINE_USER);
}

/* cold: each round measures, in a rotating order, flowcred with a typed
 * password, flowcred with the stored password, both bare POSTs and a
 * keyring lookup, and in one round of COLD_CLI_EVERY a curl process. flowcred_logout() after
 * each flowcred call, outside the clock, ends the session and drops the
 * cached token and its refresh token, so every measured call is a
 * password grant. */
static int run_cold(long rounds)
{
	flowcred_ctx *ctx = bench_open();
	struct bare_client bare = { 0 };
	char *token = xcalloc(1, BENCH_TOKEN_MAX);
	char *body_path = write_body_file();
	char *curl_argv[] = {
		"curl", "-sS", "--fail", "-o", "/dev/null", "--cacert",
		(char *)bench_env("FLOWCRED_TEST_CA"), "--noproxy", "*",
		"--data-binary", NULL, (char *)bench_token_url(), NULL
	};
	static const char *const names[COLD_CLIENTS] = {
		[COLD_TYPED] = "flowcred_get_token, typed password",
		[COLD_STORED] = "flowcred_get_token, stored password",
		[COLD_BARE] = "bare libcurl POST, one easy handle kept",
		[COLD_BARE_NEW_HANDLE] = "bare libcurl POST, new easy handle per request, connection from a share",
		[COLD_LOOKUP] = "flowcred_lookup_credentials alone (no request)",
		[COLD_CURL_PROCESS] = "curl process per request",
	};
	struct cold_series series[COLD_CLIENTS];
	double *diff = xcalloc((size_t)rounds, sizeof(*diff));
	double *rest = xcalloc((size_t)rounds, sizeof(*rest));
	char data_arg[4200];
	double bare_median;
	size_t grants;
	size_t expected;
	long r;
	int k;

	snprintf(data_arg, sizeof(data_arg), "@%s", body_path);
	curl_argv[10] = data_arg;
	for (k = 0; k < COLD_CLIENTS; k++)
		cold_series_init(&series[k], names[k], rounds);
	bare_init(&bare);
	check_same_body(ctx, bare.body, token);

	for (r = -COLD_WARMUP_ROUNDS; r < rounds; r++) {
		double ms[COLD_MEASURED_IN_TURN];
		double cpu_us[COLD_MEASURED_IN_TURN];

		if (r == 0)
			bench_server_reset();
		for (k = 0; k < COLD_MEASURED_IN_TURN; k++) {
			enum cold_client which = (enum cold_client)
				((r + COLD_WARMUP_ROUNDS + k) %
				 COLD_MEASURED_IN_TURN);

			cold_call(ctx, &bare, token, which, &ms[which],
				  &cpu_us[which]);
		}
		if (r < 0)
			continue;
		for (k = 0; k < COLD_MEASURED_IN_TURN; k++) {
			series[k].ms[series[k].n] = ms[k];
			series[k].cpu_us[series[k].n++] = cpu_us[k];
		}
		diff[r] = (ms[COLD_TYPED] - ms[COLD_BARE]) * 1000;
		rest[r] = diff[r] - ms[COLD_LOOKUP] * 1000;
		if (r % COLD_CLI_EVERY == 0) {
			struct cold_series *cli = &series[COLD_CURL_PROCESS];
			int64_t t0 = bench_now_ns();
			double child_cpu = run_quietly(curl_argv);

			cli->ms[cli->n] = (double)(bench_now_ns() - t0) / 1e6;
			cli->cpu_us[cli->n++] = child_cpu;
		}
	}
	/* Each round after the reset sent one password grant per client
	 * measured in turn but the lookup, and each curl process one. */
	grants = bench_server_count_grants(0, NULL);
	expected = (size_t)rounds * (COLD_MEASURED_IN_TURN - 1) +
		   series[COLD_CURL_PROCESS].n;
	if (grants != expected) {
		fprintf(stderr,
			"bench: the server received %zu password grants, expected %zu\n",
			grants, expected);
		exit(1);
	}

	bare_median = median_of(series[COLD_BARE].ms, series[COLD_BARE].n);
	printf("| client | samples | median ms | p90 ms | median / bare POST median | median client CPU us |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < COLD_CLIENTS; k++)
		cold_row(&series[k], bare_median);
	printf("\nMedian of the per-round difference, flowcred (typed password) "
	       "minus bare POST with one easy handle: %.1f us, %+.1f %% of the "
	       "bare POST's median. Less the round's keyring lookup as well: "
	       "%.1f us, %+.1f %%.\n",
	       median_of(diff, (size_t)rounds),
	       median_of(diff, (size_t)rounds) / 10 / bare_median,
	       median_of(rest, (size_t)rounds),
	       median_of(rest, (size_t)rounds) / 10 / bare_median);

	bare_free(&bare);
	unlink(body_path);
	free(body_path);
	for (k = 0; k < COLD_CLIENTS; k++)
		cold_series_free(&series[k]);
	free(diff);
	free(rest);
	explicit_bzero(token, BENCH_TOKEN_MAX);
	free(token);
	flowcred_close(ctx);
	return 0;
}

/* One caller of the herd. */
struct herd_caller {
	flowcred_ctx *ctx;
	pthread_barrier_t *barrier;
	flowcred_status status;
	char *token;
	int64_t done_ns;
};

static void *herd_call(void *arg)
{
	struct herd_caller *caller = arg;
	char detail[FLOWCRED_DETAIL_MAX];
	size_t token_len;

	pthread_barrier_wait(caller->barrier);
	caller->status = flowcred_get_token(caller->ctx, BENCH_CONNECTOR,
					    BENCH_MACHINE_USER, NULL,
					    caller->token, BENCH_TOKEN_MAX,
					    &token_len, NULL, NULL, detail,
					    sizeof(detail));
	caller->done_ns = bench_now_ns();
	return NULL;
}

/* herd: callers threads wait at a barrier, then all ask a fresh context
 * (empty cache) for the machine user's token at once. */
static int run_herd(long callers, long repeats)
{
	struct herd_caller *caller = xcalloc((size_t)callers, sizeof(*caller));
	pthread_t *threads = xcalloc((size_t)callers, sizeof(*threads));
	pthread_barrier_t barrier;
	pthread_attr_t attributes;
	long rep;
	long i;

	pthread_attr_init(&attributes);
	pthread_attr_setstacksize(&attributes, HERD_STACK_SIZE);
	printf("| run | callers | calls OK | calls with the first caller's token | password grants at the server | token requests at the server | ms from release to last return |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|\n");
	for (rep = 0; rep < repeats; rep++) {
		flowcred_ctx *ctx = bench_open();
		size_t grants;
		size_t token_requests;
		long ok = 0;
		long same = 0;
		int64_t start;
		int64_t last = 0;

		/* The context ends the session when it closes. The count is
		 * taken before that, and logout requests are not grants. */
		bench_server_reset();
		pthread_barrier_init(&barrier, NULL, (unsigned int)callers + 1);
		for (i = 0; i < callers; i++) {
			caller[i].ctx = ctx;
			caller[i].barrier = &barrier;
			caller[i].status = FLOWCRED_INTERNAL;
			caller[i].token = xcalloc(1, BENCH_TOKEN_MAX);
			if (pthread_create(&threads[i], &attributes, herd_call,
					   &caller[i]) != 0) {
				fprintf(stderr,
					"bench: cannot create thread %ld of %ld\n",
					i + 1, callers);
				exit(1);
			}
		}
		pthread_barrier_wait(&barrier);
		start = bench_now_ns();
		for (i = 0; i < callers; i++)
			pthread_join(threads[i], NULL);
		grants = bench_server_count_grants(0, &token_requests);
		for (i = 0; i < callers; i++) {
			if (caller[i].status != FLOWCRED_OK)
				continue;
			ok++;
			if (strcmp(caller[i].token, caller[0].token) == 0)
				same++;
			if (caller[i].done_ns > last)
				last = caller[i].done_ns;
		}
		printf("| %ld | %ld | %ld | %ld | %zu | %zu | %.1f |\n", rep + 1,
		       callers, ok, same, grants, token_requests,
		       (double)(last - start) / 1e6);
		for (i = 0; i < callers; i++) {
			explicit_bzero(caller[i].token, BENCH_TOKEN_MAX);
			free(caller[i].token);
		}
		pthread_barrier_destroy(&barrier);
		flowcred_close(ctx);
	}
	pthread_attr_destroy(&attributes);
	free(caller);
	free(threads);
	return 0;
}

/* lookup: batches of in-process lookups on one warm context, and one
 * secret-tool process per batch, side by side. */
static int run_lookup(long batches, long calls)
{
	flowcred_ctx *ctx = bench_open();
	double *in_process = xcalloc((size_t)batches, sizeof(double));
	double *process = xcalloc((size_t)batches, sizeof(double));
	char *tool_argv[] = {
		"secret-tool", "lookup", "connector", BENCH_CONNECTOR,
		"flow-user", BENCH_MACHINE_USER, NULL
	};
	struct bench_stats a;
	struct bench_stats b;
	long batch;
	long i;

	for (batch = -1; batch < batches; batch++) {
		char detail[FLOWCRED_DETAIL_MAX];
		char ifs_user[256];
		flowcred_status status;
		size_t len;
		int has_password;
		int64_t t0 = bench_now_ns();

		for (i = 0; i < calls; i++) {
			status = flowcred_lookup_credentials(ctx, BENCH_CONNECTOR,
							     BENCH_MACHINE_USER,
							     ifs_user,
							     sizeof(ifs_user),
							     &len, &has_password,
							     detail,
							     sizeof(detail));
			if (status != FLOWCRED_OK || !has_password)
				bench_fail_status("flowcred_lookup_credentials",
						  status, detail);
		}
		if (batch < 0)
			continue;	/* warm-up: D-Bus connection, session */
		in_process[batch] = (double)(bench_now_ns() - t0) / 1e6 /
				    (double)calls;
		t0 = bench_now_ns();
		(void)run_quietly(tool_argv);
		process[batch] = (double)(bench_now_ns() - t0) / 1e6;
	}
	bench_stats_compute(in_process, (size_t)batches, &a);
	bench_stats_compute(process, (size_t)batches, &b);
	printf("| lookup | samples | median ms | p90 ms |\n");
	printf("|---|---:|---:|---:|\n");
	printf("| flowcred_lookup_credentials, warm context | %ld batches x %ld | %.3f | %.3f |\n",
	       batches, calls, a.median, a.p90);
	printf("| secret-tool lookup process | %ld | %.3f | %.3f |\n", batches,
	       b.median, b.p90);
	printf("\nA secret-tool process takes %.1f times as long as a warm in-process lookup (medians).\n",
	       b.median / a.median);
	free(in_process);
	free(process);
	flowcred_close(ctx);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode;

	if (argc < 2)
		usage();
	mode = argv[1];
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "bench: curl_global_init failed\n");
		return 1;
	}
	if (strcmp(mode, "store") == 0)
		return run_store();
	if (strcmp(mode, "store-many") == 0 && argc == 3)
		return run_store_many(count_arg(argc, argv, 2, 0, 100000));
	if (strcmp(mode, "cached") == 0)
		return run_cached(count_arg(argc, argv, 2, 31, 1001),
				  count_arg(argc, argv, 3, 100000, 10000000));
	if (strcmp(mode, "cold") == 0)
		return run_cold(count_arg(argc, argv, 2, 200, 100000));
	if (strcmp(mode, "herd") == 0)
		return run_herd(count_arg(argc, argv, 2, 1000, 10000),
				count_arg(argc, argv, 3, 3, 100));
	if (strcmp(mode, "lookup") == 0)
		return run_lookup(count_arg(argc, argv, 2, 31, 1001),
				  count_arg(argc, argv, 3, 20, 10000));
	if (strcmp(mode, "server-reset") == 0) {
		bench_server_reset();
		return 0;
	}
	if (strcmp(mode, "server-last-id") == 0) {
		printf("%ld\n", bench_server_last_id());
		return 0;
	}
	if (strcmp(mode, "server-count") == 0) {
		long after_id = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
		size_t token_requests;
		size_t grants = bench_server_count_grants(after_id,
							  &token_requests);

		printf("%zu %zu\n", grants, token_requests);
		return 0;
	}
	usage();
}
