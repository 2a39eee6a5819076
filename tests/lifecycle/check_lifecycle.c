/* Token lifecycle: the cache, refresh, single flight, the lockout guard,
 * back-off after 429 and 5xx, logout, the kernel key cache and fork().
 * Every behaviour is checked by counting the requests the test token
 * server received. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "flowcred.h"
#include "testutil.h"

/* A realm like the fixture's "test" realm whose access tokens live
 * lifetime seconds. */
static void put_short_realm(const char *name, int lifetime)
{
	char json[1024];

	snprintf(json, sizeof(json),
		 "{\"accessTokenLifespan\": %d, \"refreshTokenLifespan\": 600,"
		 " \"clients\": [{\"clientId\": \"" TU_CLIENT_ID "\","
		 " \"secret\": \"" TU_CLIENT_SECRET "\","
		 " \"directAccessGrants\": true,"
		 " \"scopes\": [\"openid\", \"microprofile-jwt\"]}],"
		 " \"users\": [{\"username\": \"" TU_USER "\","
		 " \"password\": \"" TU_PASSWORD "\", \"enabled\": true}]}",
		 lifetime);
	tu_server_put_realm(name, json);
}

/* Counts the recorded token requests of one grant type. */
static size_t count_grant_type(const char *grant_type)
{
	struct json_object *requests = tu_server_requests();
	size_t n = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(requests); i++) {
		struct json_object *request =
			json_object_array_get_idx(requests, i);
		const char *type = tu_json_string(request, "grant_type");
		const char *body = tu_json_string(request, "raw_body");
		char field[64];

		/* Canned realms record the raw body only. */
		snprintf(field, sizeof(field), "grant_type=%s", grant_type);
		if (type != NULL ? strcmp(type, grant_type) == 0 :
				   body != NULL && strstr(body, field) != NULL)
			n++;
	}
	json_object_put(requests);
	return n;
}

/* Counts the recorded requests to a logout endpoint. */
static size_t count_logouts(void)
{
	struct json_object *requests = tu_server_requests();
	size_t n = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(requests); i++) {
		const char *path = tu_json_string(
			json_object_array_get_idx(requests, i), "path");

		if (path != NULL && strstr(path, "/logout") != NULL)
			n++;
	}
	json_object_put(requests);
	return n;
}

static void sleep_seconds(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A connector on realm with a machine-workflow user stored. */
struct fixture {
	char *connector;
	char *flow_user;
	char *config;
	flowcred_ctx *ctx;
};

static void setup_fixture(struct fixture *f, const char *realm,
			  const char *extra, const char *password)
{
	f->connector = tu_unique("life");
	f->flow_user = tu_unique("bot");
	f->config = tu_write_config(f->connector, realm, TU_CLIENT_ID,
				    TU_CLIENT_SECRET, extra);
	f->ctx = tu_open(f->config);
	tu_store(f->ctx, f->connector, f->flow_user, TU_USER, password);
	tu_server_reset();
}

static void teardown_fixture(struct fixture *f)
{
	flowcred_close(f->ctx);
	free(f->connector);
	free(f->flow_user);
	free(f->config);
}

START_TEST(cache_reuses_token)
{
	char first[8192];
	char second[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	int64_t expires_first = 0;
	int64_t expires_second = 0;
	struct fixture f;

	setup_fixture(&f, "test", NULL, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      first, sizeof(first), NULL,
				      &expires_first, detail), FLOWCRED_OK);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      second, sizeof(second), NULL,
				      &expires_second, detail), FLOWCRED_OK);
	ck_assert_str_eq(first, second);
	ck_assert_int_eq(expires_first, expires_second);
	ck_assert_uint_eq(count_grant_type("password"), 1);
	teardown_fixture(&f);
}
END_TEST

START_TEST(cache_typed_password_must_match)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;

	setup_fixture(&f, "test", NULL, NULL);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user,
				      TU_PASSWORD, token, sizeof(token), NULL,
				      NULL, detail), FLOWCRED_OK);
	/* A wrong password never gets the cached token. */
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user,
				      "wrong-password", token, sizeof(token),
				      NULL, NULL, detail), FLOWCRED_DENIED);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user,
				      TU_PASSWORD, token, sizeof(token), NULL,
				      NULL, detail), FLOWCRED_OK);
	ck_assert_uint_eq(count_grant_type("password"), 2);
	teardown_fixture(&f);
}
END_TEST

START_TEST(margin_at_most_half_lifetime)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;
	char *realm = tu_unique("short");

	/* expiry_margin 30 s on a 4 s token: the margin shrinks to 2 s,
	 * so the token is still reused one second later. */
	put_short_realm(realm, 4);
	setup_fixture(&f, realm, "expiry_margin = 30\n", TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	sleep_seconds(1.0);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_grant_type("password"), 1);
	ck_assert_uint_eq(count_grant_type("refresh_token"), 0);
	teardown_fixture(&f);
	free(realm);
}
END_TEST

START_TEST(refresh_near_expiry)
{
	char first[8192];
	char second[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;
	char *realm = tu_unique("short");

	put_short_realm(realm, 2);
	setup_fixture(&f, realm, NULL, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      first, sizeof(first), NULL, NULL, detail),
			 FLOWCRED_OK);
	sleep_seconds(1.2);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      second, sizeof(second), NULL, NULL,
				      detail), FLOWCRED_OK);
	ck_assert_str_ne(first, second);
	ck_assert_uint_eq(count_grant_type("password"), 1);
	ck_assert_uint_eq(count_grant_type("refresh_token"), 1);
	teardown_fixture(&f);
	free(realm);
}
END_TEST

START_TEST(refresh_refused_falls_back)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;
	char *realm = tu_unique("short");

	put_short_realm(realm, 2);
	setup_fixture(&f, realm, NULL, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	/* The reset ends every session, so the refresh token is refused
	 * with invalid_grant. */
	tu_server_reset();
	sleep_seconds(1.2);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_grant_type("refresh_token"), 1);
	ck_assert_uint_eq(count_grant_type("password"), 1);
	teardown_fixture(&f);
	free(realm);
}
END_TEST

#define FLIGHT_THREADS 64

struct flight {
	flowcred_ctx *ctx;
	const char *connector;
	const char *flow_user;
	pthread_barrier_t *start;
	flowcred_status status;
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
};

static void *fly(void *arg)
{
	struct flight *flight = arg;
	size_t len;

	pthread_barrier_wait(flight->start);
	flight->status = flowcred_get_token(flight->ctx, flight->connector,
					    flight->flow_user, NULL,
					    flight->token,
					    sizeof(flight->token), &len, NULL,
					    NULL, flight->detail,
					    sizeof(flight->detail));
	return NULL;
}

START_TEST(single_flight_one_request)
{
	static struct flight flights[FLIGHT_THREADS];
	pthread_t threads[FLIGHT_THREADS];
	pthread_barrier_t start;
	struct fixture f;
	int i;

	setup_fixture(&f, "test", NULL, TU_PASSWORD);
	pthread_barrier_init(&start, NULL, FLIGHT_THREADS);
	for (i = 0; i < FLIGHT_THREADS; i++) {
		flights[i].ctx = f.ctx;
		flights[i].connector = f.connector;
		flights[i].flow_user = f.flow_user;
		flights[i].start = &start;
		ck_assert_int_eq(pthread_create(&threads[i], NULL, fly,
						&flights[i]), 0);
	}
	for (i = 0; i < FLIGHT_THREADS; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; i < FLIGHT_THREADS; i++) {
		ck_assert_msg(flights[i].status == FLOWCRED_OK,
			      "thread %d: status %d: %s", i, flights[i].status,
			      flights[i].detail);
		ck_assert_str_eq(flights[i].token, flights[0].token);
	}
	ck_assert_uint_eq(count_grant_type("password"), 1);
	pthread_barrier_destroy(&start);
	teardown_fixture(&f);
}
END_TEST

START_TEST(guard_stops_rejected_password)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;

	setup_fixture(&f, "test", NULL, "not-the-password");
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_DENIED);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_DENIED);
	ck_assert_ptr_nonnull(strstr(detail, "not sent again"));
	ck_assert_ptr_nonnull(strstr(detail, "flowcred store"));
	ck_assert_uint_eq(count_grant_type("password"), 1);

	/* Storing a new password lifts the guard at once. */
	tu_store(f.ctx, f.connector, f.flow_user, TU_USER, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_grant_type("password"), 2);
	teardown_fixture(&f);
}
END_TEST

START_TEST(guard_shared_through_kernel_keyring)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	flowcred_ctx *other;
	struct fixture f;

	setup_fixture(&f, "test", NULL, "not-the-password");
	ck_assert_int_eq(flowcred_set_option(f.ctx, FLOWCRED_OPT_KERNEL_CACHE,
					     1), FLOWCRED_OK);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_DENIED);
	/* A second context stands for another process of the same user,
	 * such as the next run of the CLI. */
	other = tu_open(f.config);
	ck_assert_int_eq(flowcred_set_option(other, FLOWCRED_OPT_KERNEL_CACHE,
					     1), FLOWCRED_OK);
	ck_assert_int_eq(tu_get_token(other, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_DENIED);
	ck_assert_ptr_nonnull(strstr(detail, "not sent again"));
	ck_assert_uint_eq(count_grant_type("password"), 1);

	tu_store(f.ctx, f.connector, f.flow_user, TU_USER, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(other, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_grant_type("password"), 2);
	flowcred_close(other);
	teardown_fixture(&f);
}
END_TEST

START_TEST(guard_off_with_zero_backoff)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;

	setup_fixture(&f, "test", "denied_backoff = 0\n", "not-the-password");
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_DENIED);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_DENIED);
	ck_assert_uint_eq(count_grant_type("password"), 2);
	teardown_fixture(&f);
}
END_TEST

START_TEST(retry_after_pauses_requests)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;
	char *realm = tu_unique("limited");

	tu_server_put_canned(realm, 429, "{\"Retry-After\": \"120\"}",
			     "{\"error\": \"too_many_requests\"}");
	setup_fixture(&f, realm, NULL, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_TRY_AGAIN);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_TRY_AGAIN);
	ck_assert_ptr_nonnull(strstr(detail, "no request"));
	ck_assert_uint_eq(tu_count_token_requests(tu_server_requests()), 1);
	teardown_fixture(&f);
	free(realm);
}
END_TEST

START_TEST(server_error_pauses_then_retries)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct json_object *requests;
	struct fixture f;
	char *realm = tu_unique("down");

	tu_server_put_canned(realm, 503, NULL, "Service Unavailable");
	setup_fixture(&f, realm, "retry_backoff = 1\n", TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_UNAVAILABLE);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_UNAVAILABLE);
	requests = tu_server_requests();
	ck_assert_uint_eq(tu_count_token_requests(requests), 1);
	json_object_put(requests);
	sleep_seconds(1.2);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_UNAVAILABLE);
	requests = tu_server_requests();
	ck_assert_uint_eq(tu_count_token_requests(requests), 2);
	json_object_put(requests);
	teardown_fixture(&f);
	free(realm);
}
END_TEST

START_TEST(outage_keeps_cached_token)
{
	char first[8192];
	char second[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;
	char *realm = tu_unique("flaky");

	put_short_realm(realm, 4);
	setup_fixture(&f, realm, "retry_backoff = 0\n", TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      first, sizeof(first), NULL, NULL, detail),
			 FLOWCRED_OK);
	/* Past the renewal point (4 s token, 2 s margin) but before the
	 * expiry, the endpoint fails: the cached token is still valid. */
	tu_server_put_canned(realm, 503, NULL, "Service Unavailable");
	sleep_seconds(2.3);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      second, sizeof(second), NULL, NULL,
				      detail), FLOWCRED_OK);
	ck_assert_str_eq(first, second);
	ck_assert_uint_eq(count_grant_type("refresh_token"), 1);
	teardown_fixture(&f);
	free(realm);
}
END_TEST

START_TEST(close_ends_sessions)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;

	setup_fixture(&f, "test", NULL, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	flowcred_close(f.ctx);
	f.ctx = NULL;
	ck_assert_uint_eq(count_logouts(), 1);
	teardown_fixture(&f);
}
END_TEST

START_TEST(close_keeps_sessions_when_off)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;
	struct fixture g;

	setup_fixture(&f, "test", NULL, TU_PASSWORD);
	ck_assert_int_eq(flowcred_set_option(f.ctx,
					     FLOWCRED_OPT_LOGOUT_ON_CLOSE, 0),
			 FLOWCRED_OK);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	flowcred_close(f.ctx);
	f.ctx = NULL;
	ck_assert_uint_eq(count_logouts(), 0);

	setup_fixture(&g, "test", "logout = false\n", TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(g.ctx, g.connector, g.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	flowcred_close(g.ctx);
	g.ctx = NULL;
	ck_assert_uint_eq(count_logouts(), 0);
	teardown_fixture(&f);
	teardown_fixture(&g);
}
END_TEST

START_TEST(logout_ends_one_user)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;

	setup_fixture(&f, "test", NULL, TU_PASSWORD);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_int_eq(flowcred_logout(f.ctx, f.connector, f.flow_user,
					 detail, sizeof(detail)), FLOWCRED_OK);
	ck_assert_uint_eq(count_logouts(), 1);
	ck_assert_int_eq(flowcred_logout(f.ctx, f.connector, f.flow_user,
					 detail, sizeof(detail)),
			 FLOWCRED_NOT_FOUND);
	/* The next call needs a new grant. */
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_grant_type("password"), 2);
	teardown_fixture(&f);
}
END_TEST

START_TEST(kernel_cache_shared_between_contexts)
{
	char first[8192];
	char second[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	flowcred_ctx *other;
	struct fixture f;

	setup_fixture(&f, "test", NULL, TU_PASSWORD);
	ck_assert_int_eq(flowcred_set_option(f.ctx, FLOWCRED_OPT_KERNEL_CACHE,
					     1), FLOWCRED_OK);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      first, sizeof(first), NULL, NULL, detail),
			 FLOWCRED_OK);
	other = tu_open(f.config);
	ck_assert_int_eq(flowcred_set_option(other, FLOWCRED_OPT_KERNEL_CACHE,
					     1), FLOWCRED_OK);
	ck_assert_int_eq(tu_get_token(other, f.connector, f.flow_user, NULL,
				      second, sizeof(second), NULL, NULL,
				      detail), FLOWCRED_OK);
	ck_assert_str_eq(first, second);
	ck_assert_uint_eq(count_grant_type("password"), 1);

	/* A shared session outlives the contexts; logout ends it. */
	flowcred_close(other);
	ck_assert_uint_eq(count_logouts(), 0);
	ck_assert_int_eq(flowcred_logout(f.ctx, f.connector, f.flow_user,
					 detail, sizeof(detail)), FLOWCRED_OK);
	ck_assert_uint_eq(count_logouts(), 1);
	teardown_fixture(&f);
}
END_TEST

/* A later process finds the first one's refresh token in the kernel
 * key cache and refreshes instead of opening a new session. */
START_TEST(kernel_cache_refresh_across_contexts)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	flowcred_ctx *later;
	struct fixture f;
	char *realm = tu_unique("short");

	put_short_realm(realm, 2);
	setup_fixture(&f, realm, NULL, TU_PASSWORD);
	ck_assert_int_eq(flowcred_set_option(f.ctx, FLOWCRED_OPT_KERNEL_CACHE,
					     1), FLOWCRED_OK);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	sleep_seconds(1.2);
	later = tu_open(f.config);
	ck_assert_int_eq(flowcred_set_option(later, FLOWCRED_OPT_KERNEL_CACHE,
					     1), FLOWCRED_OK);
	ck_assert_int_eq(tu_get_token(later, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_grant_type("password"), 1);
	ck_assert_uint_eq(count_grant_type("refresh_token"), 1);
	flowcred_close(later);
	teardown_fixture(&f);
	free(realm);
}
END_TEST

START_TEST(fork_child_gets_cached_token)
{
	char token[8192];
	char detail[FLOWCRED_DETAIL_MAX];
	struct fixture f;
	int status = 0;
	pid_t pid;

	setup_fixture(&f, "test", NULL, TU_PASSWORD);
	ck_assert_int_eq(flowcred_set_option(f.ctx,
					     FLOWCRED_OPT_LOGOUT_ON_CLOSE, 0),
			 FLOWCRED_OK);
	ck_assert_int_eq(tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				      token, sizeof(token), NULL, NULL, detail),
			 FLOWCRED_OK);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char child_token[8192];
		struct timespec start;
		flowcred_status got;

		alarm(20);
		got = tu_get_token(f.ctx, f.connector, f.flow_user, NULL,
				   child_token, sizeof(child_token), NULL, NULL,
				   detail);
		if (got != FLOWCRED_OK || strcmp(child_token, token) != 0)
			_exit(1);
		/* An uncached user needs the keyring, which the parent's
		 * D-Bus connection makes unusable here: a fast, clear
		 * error. */
		clock_gettime(CLOCK_MONOTONIC, &start);
		got = tu_get_token(f.ctx, f.connector, "nobody-else", NULL,
				   child_token, sizeof(child_token), NULL, NULL,
				   detail);
		if (got != FLOWCRED_UNAVAILABLE || tu_elapsed(&start) > 2.0 ||
		    strstr(detail, "fork()") == NULL)
			_exit(2);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	teardown_fixture(&f);
}
END_TEST

static Suite *lifecycle_suite(void)
{
	Suite *suite = suite_create("lifecycle");
	TCase *cache = tcase_create("cache");
	TCase *renewal = tcase_create("renewal");
	TCase *guards = tcase_create("guards");
	TCase *sessions = tcase_create("sessions");

	tcase_set_timeout(cache, 60);
	tcase_add_test(cache, cache_reuses_token);
	tcase_add_test(cache, cache_typed_password_must_match);
	tcase_add_test(cache, margin_at_most_half_lifetime);
	tcase_add_test(cache, single_flight_one_request);
	tcase_add_test(cache, kernel_cache_shared_between_contexts);
	tcase_add_test(cache, kernel_cache_refresh_across_contexts);
	tcase_add_test(cache, fork_child_gets_cached_token);
	suite_add_tcase(suite, cache);

	tcase_set_timeout(renewal, 60);
	tcase_add_test(renewal, refresh_near_expiry);
	tcase_add_test(renewal, refresh_refused_falls_back);
	tcase_add_test(renewal, outage_keeps_cached_token);
	suite_add_tcase(suite, renewal);

	tcase_set_timeout(guards, 60);
	tcase_add_test(guards, guard_stops_rejected_password);
	tcase_add_test(guards, guard_shared_through_kernel_keyring);
	tcase_add_test(guards, guard_off_with_zero_backoff);
	tcase_add_test(guards, retry_after_pauses_requests);
	tcase_add_test(guards, server_error_pauses_then_retries);
	suite_add_tcase(suite, guards);

	tcase_set_timeout(sessions, 60);
	tcase_add_test(sessions, close_ends_sessions);
	tcase_add_test(sessions, close_keeps_sessions_when_off);
	tcase_add_test(sessions, logout_ends_one_user);
	suite_add_tcase(suite, sessions);
	return suite;
}

int main(void)
{
	return tu_run_suite(lifecycle_suite());
}
