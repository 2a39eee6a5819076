/* Tests of the keyring calls while the login collection is locked. A
 * locked collection hides secrets the way a missing item does in
 * libsecret's simple API, so the library must tell the two apart and
 * report FLOWCRED_UNAVAILABLE with a detail saying "locked".
 *
 * This is its own test program because the last test unlocks the
 * collection with tests/harness/unlock-keyring.sh, which replaces the
 * keyring daemon. An unchecked fixture stores the items before the
 * tests run, and each test locks the collection. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "flowcred.h"
#include "testutil.h"

#define CONNECTOR "ifs-locked"
#define MACHINE_USER "locked-machine"
#define INTERACTIVE_USER "locked-interactive"
#define KEYRING_TIMEOUT 5
/* A locked collection must be reported within the keyring timeout. */
#define LOCKED_BOUND_SECONDS (KEYRING_TIMEOUT + 3.0)

static char *config_path;

static char *write_locked_config(void)
{
	char *url = tu_token_url("test");
	char *path;

	path = tu_write_filef("flowcred.conf", 0600,
			      "[flowcred]\n"
			      "keyring_timeout = %d\n"
			      "\n"
			      "[" CONNECTOR "]\n"
			      "token_url = %s\n"
			      "client_id = " TU_CLIENT_ID "\n"
			      "client_secret = " TU_CLIENT_SECRET "\n"
			      "ca_file = %s\n",
			      KEYRING_TIMEOUT, url, tu_env("FLOWCRED_TEST_CA"));
	free(url);
	return path;
}

static void run_script(const char *name)
{
	char path[1024];
	char *argv[] = { path, NULL };
	char *err = NULL;
	int status;

	snprintf(path, sizeof(path), "%s/%s",
		 tu_env("FLOWCRED_TEST_HARNESS_DIR"), name);
	status = tu_run_program(argv, NULL, NULL, &err, 60);
	ck_assert_msg(status == 0, "%s exited with %d: %s", name, status, err);
	free(err);
}

/* Which call a test makes against the locked collection. */
enum locked_call {
	CALL_LOOKUP,
	CALL_GET_TOKEN_STORED,
	CALL_GET_TOKEN_TYPED,
	CALL_LIST,
	CALL_STORE,
	CALL_CLEAR,
};

static const char *const locked_call_names[] = {
	"lookup", "get_token with stored password",
	"get_token with typed password", "list", "store", "clear",
};

static int ignore_item(const char *connector, const char *flow_user,
		       const char *ifs_user, int has_password, void *userdata)
{
	(void)connector;
	(void)flow_user;
	(void)ifs_user;
	(void)has_password;
	(*(int *)userdata)++;
	return 0;
}

static flowcred_status make_call(flowcred_ctx *ctx, enum locked_call call,
				 char *detail, int *listed)
{
	char ifs_user[256];
	char token[8192];
	size_t len = 0;
	int has_password = 0;

	switch (call) {
	case CALL_LOOKUP:
		return flowcred_lookup_credentials(ctx, CONNECTOR,
						   MACHINE_USER, ifs_user,
						   sizeof(ifs_user), &len,
						   &has_password, detail,
						   FLOWCRED_DETAIL_MAX);
	case CALL_GET_TOKEN_STORED:
		return flowcred_get_token(ctx, CONNECTOR, MACHINE_USER, NULL,
					  token, sizeof(token), &len, NULL,
					  NULL, detail, FLOWCRED_DETAIL_MAX);
	case CALL_GET_TOKEN_TYPED:
		return flowcred_get_token(ctx, CONNECTOR, INTERACTIVE_USER,
					  TU_PASSWORD, token, sizeof(token),
					  &len, NULL, NULL, detail,
					  FLOWCRED_DETAIL_MAX);
	case CALL_LIST:
		return flowcred_list_credentials(ctx, CONNECTOR, ignore_item,
						 listed, detail,
						 FLOWCRED_DETAIL_MAX);
	case CALL_STORE:
		return flowcred_store_credentials(ctx, CONNECTOR,
						  "locked-new-user", TU_USER,
						  TU_PASSWORD, detail,
						  FLOWCRED_DETAIL_MAX);
	case CALL_CLEAR:
		return flowcred_clear_credentials(ctx, CONNECTOR,
						  MACHINE_USER, detail,
						  FLOWCRED_DETAIL_MAX);
	}
	return FLOWCRED_INTERNAL;
}

START_TEST(test_locked_collection_unavailable)
{
	const char *name = locked_call_names[_i];
	flowcred_ctx *ctx = tu_open(config_path);
	char detail[FLOWCRED_DETAIL_MAX] = "";
	struct timespec start;
	flowcred_status status;
	double elapsed;
	int listed = 0;

	/* Locking again is harmless and keeps each test self-contained. */
	run_script("lock-keyring.sh");
	clock_gettime(CLOCK_MONOTONIC, &start);
	status = make_call(ctx, (enum locked_call)_i, detail, &listed);
	elapsed = tu_elapsed(&start);

	ck_assert_msg(status == FLOWCRED_UNAVAILABLE,
		      "%s: expected \"%s\", got \"%s\": %s", name,
		      flowcred_strerror(FLOWCRED_UNAVAILABLE),
		      flowcred_strerror(status), detail);
	ck_assert_msg(tu_contains_nocase(detail, "locked"),
		      "%s: detail does not say locked: %s", name, detail);
	ck_assert_msg(elapsed < LOCKED_BOUND_SECONDS, "%s: took %.1f s", name,
		      elapsed);
	ck_assert_int_eq(listed, 0);
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_unlocked_again_found)
{
	flowcred_ctx *ctx;
	char detail[FLOWCRED_DETAIL_MAX] = "";
	char ifs_user[256];
	size_t len = 0;
	int has_password = -1;
	flowcred_status status;

	run_script("unlock-keyring.sh");
	ctx = tu_open(config_path);
	status = flowcred_lookup_credentials(ctx, CONNECTOR, MACHINE_USER,
					     ifs_user, sizeof(ifs_user), &len,
					     &has_password, detail,
					     sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK, "lookup: %s: %s",
		      flowcred_strerror(status), detail);
	ck_assert_str_eq(ifs_user, TU_USER);
	ck_assert_int_eq(has_password, 1);

	tu_server_reset();
	status = tu_get_token(ctx, CONNECTOR, MACHINE_USER, NULL, NULL, 0,
			      NULL, NULL, detail);
	ck_assert_msg(status == FLOWCRED_OK, "get_token: %s: %s",
		      flowcred_strerror(status), detail);
	flowcred_close(ctx);
}
END_TEST

/* Stores the items the tests read, in a child process so that this
 * process never opens a D-Bus connection that the forked tests would
 * share. Returns 0 or -1. */
static int store_items(void)
{
	pid_t pid;
	int wstatus;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char detail[FLOWCRED_DETAIL_MAX] = "";
		flowcred_ctx *ctx = NULL;
		flowcred_status status;

		status = flowcred_open(config_path, &ctx, detail,
				       sizeof(detail));
		if (status == FLOWCRED_OK)
			status = flowcred_store_credentials(ctx, CONNECTOR,
							    MACHINE_USER,
							    TU_USER,
							    TU_PASSWORD,
							    detail,
							    sizeof(detail));
		if (status == FLOWCRED_OK)
			status = flowcred_store_credentials(ctx, CONNECTOR,
							    INTERACTIVE_USER,
							    TU_USER, NULL,
							    detail,
							    sizeof(detail));
		flowcred_close(ctx);
		if (status != FLOWCRED_OK) {
			fprintf(stderr, "storing the test items failed: %s: %s\n",
				flowcred_strerror(status), detail);
			_exit(1);
		}
		_exit(0);
	}
	if (waitpid(pid, &wstatus, 0) < 0)
		return -1;
	return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 ? 0 : -1;
}

/* Runs once in the test runner before the tests of the case: writes the
 * configuration and stores the items while the collection is unlocked. */
static void setup_items(void)
{
	config_path = write_locked_config();
	ck_assert_msg(store_items() == 0,
		      "storing the test items failed; see the log above");
}

static void free_config_path(void)
{
	free(config_path);
	config_path = NULL;
}

static Suite *locked_suite(void)
{
	Suite *s = suite_create("keyring-locked");
	TCase *tc;

	tc = tcase_create("locked");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, setup_items, free_config_path);
	tcase_add_loop_test(tc, test_locked_collection_unavailable, 0,
			    (int)(sizeof(locked_call_names) /
				  sizeof(locked_call_names[0])));
	/* Must stay last: it replaces the keyring daemon. */
	tcase_add_test(tc, test_unlocked_again_found);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	const char *no_keyring = getenv("FLOWCRED_TEST_NO_KEYRING");

	/* Exit status 77 marks the test as skipped for automake's driver. */
	if (no_keyring && strcmp(no_keyring, "1") == 0)
		return 77;
	return tu_run_suite(locked_suite());
}
