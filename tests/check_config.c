/* Tests of configuration loading and validation, observed through
 * flowcred_open() and the detail that flowcred_get_token() returns for a
 * connector whose group is invalid. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "flowcred.h"
#include "testutil.h"

#define CONNECTOR "ifs-conf"
/* Unprivileged user and group of Debian's "nobody". */
#define NOBODY_ID 65534

/* Writes a configuration with one connector group: the token URL of the
 * fixture realm "test", TU_CLIENT_ID, the test CA, and then lines. */
static char *write_group(mode_t mode, const char *lines)
{
	char *url = tu_token_url("test");
	char *path;

	path = tu_write_filef("flowcred.conf", mode,
			      "[" CONNECTOR "]\n"
			      "token_url = %s\n"
			      "client_id = " TU_CLIENT_ID "\n"
			      "ca_file = %s\n"
			      "%s",
			      url, tu_env("FLOWCRED_TEST_CA"), lines);
	free(url);
	return path;
}

/* Opens path, which must succeed, and returns the status and detail of a
 * token request for CONNECTOR. */
static flowcred_status token_status(const char *path, const char *connector,
				    char *detail)
{
	flowcred_ctx *ctx = tu_open(path);
	flowcred_status status;

	detail[0] = '\0';
	status = tu_get_token(ctx, connector, "config-user", "any-password",
			      NULL, 0, NULL, NULL, detail);
	flowcred_close(ctx);
	return status;
}

/* Returns the status of flowcred_open(), checking that a failed open
 * leaves no context. */
static flowcred_status open_status(const char *path, char *detail)
{
	flowcred_ctx *ctx = (flowcred_ctx *)&ctx;
	flowcred_status status;

	detail[0] = '\0';
	status = flowcred_open(path, &ctx, detail, FLOWCRED_DETAIL_MAX);
	if (status == FLOWCRED_OK) {
		ck_assert_ptr_nonnull(ctx);
		flowcred_close(ctx);
	} else {
		ck_assert_ptr_null(ctx);
	}
	return status;
}

START_TEST(test_missing_file_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char path[1024];

	snprintf(path, sizeof(path), "%s/no-such-file.conf",
		 tu_env("FLOWCRED_TEST_DIR"));
	ck_assert_int_eq(open_status(path, detail), FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, path) != NULL,
		      "detail does not name the file: %s", detail);
}
END_TEST

struct open_request {
	const char *path;
};

static void open_as_nobody(struct tu_child_result *result, void *arg)
{
	const struct open_request *request = arg;
	flowcred_ctx *ctx = NULL;

	if (geteuid() == 0 &&
	    (setgroups(0, NULL) != 0 ||
	     setresgid(NOBODY_ID, NOBODY_ID, NOBODY_ID) != 0 ||
	     setresuid(NOBODY_ID, NOBODY_ID, NOBODY_ID) != 0)) {
		snprintf(result->error, sizeof(result->error),
			 "cannot switch to uid %d: %s", NOBODY_ID,
			 strerror(errno));
		return;
	}
	result->status = flowcred_open(request->path, &ctx, result->detail,
				       sizeof(result->detail));
	flowcred_close(ctx);
}

START_TEST(test_unreadable_file_rejected)
{
	struct tu_child_result result;
	struct open_request request;
	char *path = write_group(0000, "client_secret = " TU_CLIENT_SECRET "\n");

	/* Root reads any file, so the child drops to an unprivileged user
	 * for whom the root-owned file of mode 0000 is unreadable. */
	request.path = path;
	tu_run_in_child(open_as_nobody, &request, &result);
	ck_assert_int_eq(result.status, FLOWCRED_CONFIG);
	ck_assert_msg(strstr(result.detail, path) != NULL,
		      "detail does not name the file: %s", result.detail);
	free(path);
}
END_TEST

START_TEST(test_directory_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	const char *path = tu_env("FLOWCRED_TEST_DIR");

	ck_assert_int_eq(open_status(path, detail), FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, path) != NULL,
		      "detail does not name the path: %s", detail);
}
END_TEST

START_TEST(test_syntax_error_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = tu_write_file("flowcred.conf", 0600,
				   "[" CONNECTOR "]\n"
				   "this line is neither a key nor a group\n");

	ck_assert_int_eq(open_status(path, detail), FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, path) != NULL,
		      "detail does not name the file: %s", detail);
	free(path);
}
END_TEST

START_TEST(test_http_token_url_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = tu_write_filef("flowcred.conf", 0600,
				    "[" CONNECTOR "]\n"
				    "token_url = http://127.0.0.1:%s/auth/realms/test/protocol/openid-connect/token\n"
				    "client_id = " TU_CLIENT_ID "\n"
				    "client_secret = " TU_CLIENT_SECRET "\n",
				    tu_env("FLOWCRED_TEST_PORT"));

	ck_assert_int_eq(token_status(path, CONNECTOR, detail),
			 FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, path) != NULL,
		      "detail does not name the file: %s", detail);
	ck_assert_msg(strstr(detail, CONNECTOR) != NULL,
		      "detail does not name the group: %s", detail);
	ck_assert_msg(strstr(detail, "token_url") != NULL,
		      "detail does not name the key: %s", detail);
	free(path);
}
END_TEST

START_TEST(test_missing_token_url_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = tu_write_file("flowcred.conf", 0600,
				   "[" CONNECTOR "]\n"
				   "client_id = " TU_CLIENT_ID "\n"
				   "client_secret = " TU_CLIENT_SECRET "\n");

	ck_assert_int_eq(token_status(path, CONNECTOR, detail),
			 FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, CONNECTOR) != NULL,
		      "detail does not name the group: %s", detail);
	ck_assert_msg(strstr(detail, "token_url") != NULL,
		      "detail does not name the key: %s", detail);
	free(path);
}
END_TEST

START_TEST(test_missing_client_id_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *url = tu_token_url("test");
	char *path = tu_write_filef("flowcred.conf", 0600,
				    "[" CONNECTOR "]\n"
				    "token_url = %s\n"
				    "client_secret = " TU_CLIENT_SECRET "\n",
				    url);

	ck_assert_int_eq(token_status(path, CONNECTOR, detail),
			 FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, CONNECTOR) != NULL,
		      "detail does not name the group: %s", detail);
	ck_assert_msg(strstr(detail, "client_id") != NULL,
		      "detail does not name the key: %s", detail);
	free(path);
	free(url);
}
END_TEST

START_TEST(test_both_secret_keys_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *secret_file = tu_write_file("secret", 0600, TU_CLIENT_SECRET);
	char *lines;
	char *path;

	ck_assert_int_ne(asprintf(&lines,
				  "client_secret = " TU_CLIENT_SECRET "\n"
				  "client_secret_file = %s\n", secret_file),
			 -1);
	path = write_group(0600, lines);
	ck_assert_int_eq(token_status(path, CONNECTOR, detail),
			 FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, "client_secret_file") != NULL,
		      "detail does not name client_secret_file: %s", detail);
	free(path);
	free(lines);
	free(secret_file);
}
END_TEST

START_TEST(test_bogus_client_auth_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = write_group(0600, "client_secret = " TU_CLIENT_SECRET "\n"
				       "client_auth = bogus\n");

	ck_assert_int_eq(token_status(path, CONNECTOR, detail),
			 FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, "client_auth") != NULL,
		      "detail does not name the key: %s", detail);
	ck_assert_msg(strstr(detail, "bogus") != NULL,
		      "detail does not quote the value: %s", detail);
	free(path);
}
END_TEST

/* Values no number-of-seconds key accepts. */
static const struct {
	const char *key;
	const char *value;
} invalid_numbers[] = {
	{ "connect_timeout", "ten" },
	{ "connect_timeout", "0" },
	{ "connect_timeout", "-1" },
	{ "connect_timeout", "100000000" },
	{ "timeout", "thirty" },
	{ "timeout", "0" },
	{ "timeout", "-5" },
	{ "timeout", "100000000" },
	{ "timeout", "30s" },
	{ "timeout", "" },
	{ "default_expires_in", "0" },
	{ "default_expires_in", "-60" },
	{ "default_expires_in", "sixty" },
	{ "max_response_size", "0" },
	{ "max_response_size", "-1" },
	{ "max_response_size", "big" },
};

#define INVALID_NUMBER_COUNT \
	((int)(sizeof(invalid_numbers) / sizeof(invalid_numbers[0])))

START_TEST(test_invalid_number_rejected)
{
	const char *key = invalid_numbers[_i].key;
	const char *value = invalid_numbers[_i].value;
	char detail[FLOWCRED_DETAIL_MAX];
	char *lines;
	char *path;

	ck_assert_int_ne(asprintf(&lines,
				  "client_secret = " TU_CLIENT_SECRET "\n"
				  "%s = %s\n", key, value), -1);
	path = write_group(0600, lines);
	ck_assert_msg(token_status(path, CONNECTOR, detail) == FLOWCRED_CONFIG,
		      "%s = \"%s\" was accepted", key, value);
	ck_assert_msg(strstr(detail, key) != NULL,
		      "detail for %s = \"%s\" does not name the key: %s", key,
		      value, detail);
	free(path);
	free(lines);
}
END_TEST

START_TEST(test_decimal_timeout_accepted)
{
	char *flow_user = tu_unique("decimal");
	char *path = write_group(0600, "client_secret = " TU_CLIENT_SECRET "\n"
				       "connect_timeout = 2.5\n"
				       "timeout = 7.25\n");
	flowcred_ctx *ctx = tu_open(path);
	char detail[FLOWCRED_DETAIL_MAX];

	tu_store(ctx, CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	ck_assert_msg(tu_get_token(ctx, CONNECTOR, flow_user, NULL, NULL, 0,
				   NULL, NULL, detail) == FLOWCRED_OK,
		      "get_token: %s", detail);
	flowcred_close(ctx);
	free(path);
	free(flow_user);
}
END_TEST

START_TEST(test_unknown_key_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = write_group(0600, "client_secret = " TU_CLIENT_SECRET "\n"
				       "client_secert = typo\n");

	ck_assert_int_eq(token_status(path, CONNECTOR, detail),
			 FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, "client_secert") != NULL,
		      "detail does not name the unknown key: %s", detail);
	free(path);
}
END_TEST

START_TEST(test_world_writable_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = write_group(0666, "client_secret = " TU_CLIENT_SECRET "\n");

	ck_assert_int_eq(open_status(path, detail), FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, path) != NULL,
		      "detail does not name the file: %s", detail);
	ck_assert_msg(strstr(detail, "chmod") != NULL,
		      "detail does not name the chmod to run: %s", detail);
	free(path);
}
END_TEST

START_TEST(test_group_writable_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = write_group(0620, "client_secret = " TU_CLIENT_SECRET "\n");

	ck_assert_int_eq(open_status(path, detail), FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, path) != NULL,
		      "detail does not name the file: %s", detail);
	ck_assert_msg(strstr(detail, "chmod") != NULL,
		      "detail does not name the chmod to run: %s", detail);
	free(path);
}
END_TEST

START_TEST(test_readable_secret_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = write_group(0644, "client_secret = " TU_CLIENT_SECRET "\n");

	ck_assert_int_eq(open_status(path, detail), FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, path) != NULL,
		      "detail does not name the file: %s", detail);
	ck_assert_msg(strstr(detail, "chmod") != NULL,
		      "detail does not name the chmod to run: %s", detail);
	free(path);
}
END_TEST

START_TEST(test_readable_without_secret_accepted)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *secret_file = tu_write_file("secret", 0600, TU_CLIENT_SECRET);
	char *lines;
	char *path;

	ck_assert_int_ne(asprintf(&lines, "client_secret_file = %s\n",
				  secret_file), -1);
	path = write_group(0644, lines);
	ck_assert_msg(open_status(path, detail) == FLOWCRED_OK,
		      "open failed: %s", detail);
	free(path);
	free(lines);
	free(secret_file);
}
END_TEST

START_TEST(test_readable_secret_file_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	flowcred_status status;
	char *secret_file = tu_write_file("secret", 0644, TU_CLIENT_SECRET);
	char *lines;
	char *path;

	ck_assert_int_ne(asprintf(&lines, "client_secret_file = %s\n",
				  secret_file), -1);
	path = write_group(0600, lines);
	/* The library may reject the file when it opens the configuration,
	 * or reject the connector whose group names it; either way the
	 * secret is never used. */
	status = open_status(path, detail);
	if (status == FLOWCRED_OK)
		status = token_status(path, CONNECTOR, detail);
	ck_assert_int_eq(status, FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, secret_file) != NULL,
		      "detail does not name the secret file: %s", detail);
	ck_assert_msg(strstr(detail, "chmod") != NULL,
		      "detail does not name the chmod to run: %s", detail);
	free(path);
	free(lines);
	free(secret_file);
}
END_TEST

START_TEST(test_foreign_owner_rejected)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = write_group(0600, "client_secret = " TU_CLIENT_SECRET "\n");

	if (geteuid() != 0) {
		/* Only root can give a file away. */
		free(path);
		return;
	}
	ck_assert_int_eq(chown(path, NOBODY_ID, NOBODY_ID), 0);
	ck_assert_int_eq(open_status(path, detail), FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, path) != NULL,
		      "detail does not name the file: %s", detail);
	free(path);
}
END_TEST

START_TEST(test_secret_file_newline_stripped)
{
	char *flow_user = tu_unique("secret-file");
	char *secret_file = tu_write_file("secret", 0600,
					  TU_SPECIAL_CLIENT_SECRET "\n");
	char *url = tu_token_url("test");
	char detail[FLOWCRED_DETAIL_MAX];
	struct json_object *requests;
	flowcred_status status;
	flowcred_ctx *ctx;
	char *path;

	path = tu_write_filef("flowcred.conf", 0600,
			      "[" CONNECTOR "]\n"
			      "token_url = %s\n"
			      "client_id = " TU_SPECIAL_CLIENT_ID "\n"
			      "client_secret_file = %s\n"
			      "ca_file = %s\n",
			      url, secret_file, tu_env("FLOWCRED_TEST_CA"));
	ctx = tu_open(path);
	tu_store(ctx, CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	tu_server_reset();

	status = tu_get_token(ctx, CONNECTOR, flow_user, NULL, NULL, 0, NULL,
			      NULL, detail);
	ck_assert_msg(status == FLOWCRED_OK, "get_token: %s: %s",
		      flowcred_strerror(status), detail);
	requests = tu_server_requests();
	ck_assert_str_eq(tu_json_string(tu_only_token_request(requests),
					"client_secret"),
			 TU_SPECIAL_CLIENT_SECRET);
	json_object_put(requests);
	flowcred_close(ctx);
	free(path);
	free(url);
	free(secret_file);
	free(flow_user);
}
END_TEST

START_TEST(test_default_path_named)
{
	char detail[FLOWCRED_DETAIL_MAX];

	if (access(FLOWCRED_DEFAULT_CONFIG, F_OK) == 0) {
		/* An installed configuration makes the failure untestable. */
		return;
	}
	ck_assert_int_eq(open_status(NULL, detail), FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, FLOWCRED_DEFAULT_CONFIG) != NULL,
		      "detail does not name %s: %s", FLOWCRED_DEFAULT_CONFIG,
		      detail);
}
END_TEST

START_TEST(test_unknown_connector_not_found)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = write_group(0600, "client_secret = " TU_CLIENT_SECRET "\n");

	ck_assert_int_eq(token_status(path, "no-such-connector", detail),
			 FLOWCRED_NOT_FOUND);
	ck_assert_msg(strstr(detail, "no-such-connector") != NULL,
		      "detail does not name the connector: %s", detail);
	free(path);
}
END_TEST

START_TEST(test_reserved_group_not_connector)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char *path = write_group(0600, "client_secret = " TU_CLIENT_SECRET "\n"
				       "\n[flowcred]\nkeyring_timeout = 5\n");

	ck_assert_int_eq(token_status(path, "flowcred", detail),
			 FLOWCRED_NOT_FOUND);
	free(path);
}
END_TEST

START_TEST(test_broken_group_isolated)
{
	char *flow_user = tu_unique("isolated");
	char *good_url = tu_token_url("test");
	char detail[FLOWCRED_DETAIL_MAX];
	flowcred_status status;
	flowcred_ctx *ctx;
	char *path;

	path = tu_write_filef("flowcred.conf", 0600,
			      "[broken]\n"
			      "token_url = http://127.0.0.1/token\n"
			      "client_id = " TU_CLIENT_ID "\n"
			      "client_secret = " TU_CLIENT_SECRET "\n"
			      "\n"
			      "[good]\n"
			      "token_url = %s\n"
			      "client_id = " TU_CLIENT_ID "\n"
			      "client_secret = " TU_CLIENT_SECRET "\n"
			      "ca_file = %s\n",
			      good_url, tu_env("FLOWCRED_TEST_CA"));
	ctx = tu_open(path);

	status = tu_get_token(ctx, "broken", flow_user, "any-password", NULL,
			      0, NULL, NULL, detail);
	ck_assert_int_eq(status, FLOWCRED_CONFIG);
	ck_assert_msg(strstr(detail, "broken") != NULL,
		      "detail does not name the group: %s", detail);
	ck_assert_msg(strstr(detail, "token_url") != NULL,
		      "detail does not name the key: %s", detail);

	tu_store(ctx, "good", flow_user, TU_USER, TU_PASSWORD);
	status = tu_get_token(ctx, "good", flow_user, NULL, NULL, 0, NULL,
			      NULL, detail);
	ck_assert_msg(status == FLOWCRED_OK, "good connector: %s: %s",
		      flowcred_strerror(status), detail);

	flowcred_close(ctx);
	free(path);
	free(good_url);
	free(flow_user);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc;

	tc = tcase_create("file");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_missing_file_rejected);
	tcase_add_test(tc, test_unreadable_file_rejected);
	tcase_add_test(tc, test_directory_rejected);
	tcase_add_test(tc, test_syntax_error_rejected);
	tcase_add_test(tc, test_default_path_named);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_http_token_url_rejected);
	tcase_add_test(tc, test_missing_token_url_rejected);
	tcase_add_test(tc, test_missing_client_id_rejected);
	tcase_add_test(tc, test_both_secret_keys_rejected);
	tcase_add_test(tc, test_bogus_client_auth_rejected);
	tcase_add_loop_test(tc, test_invalid_number_rejected, 0,
			    INVALID_NUMBER_COUNT);
	tcase_add_test(tc, test_decimal_timeout_accepted);
	tcase_add_test(tc, test_unknown_key_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("permissions");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_world_writable_rejected);
	tcase_add_test(tc, test_group_writable_rejected);
	tcase_add_test(tc, test_readable_secret_rejected);
	tcase_add_test(tc, test_readable_without_secret_accepted);
	tcase_add_test(tc, test_readable_secret_file_rejected);
	tcase_add_test(tc, test_foreign_owner_rejected);
	tcase_add_test(tc, test_secret_file_newline_stripped);
	suite_add_tcase(s, tc);

	tc = tcase_create("connectors");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_unknown_connector_not_found);
	tcase_add_test(tc, test_reserved_group_not_connector);
	tcase_add_test(tc, test_broken_group_isolated);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(config_suite());
}
