/* Tests of tests/host-dlopen, which loads libflowcred.so.1 with dlopen()
 * as the Flow server does. It must obtain a token for a machine-workflow
 * user and one for an interactive user whose password it reads from
 * stdin. When the library reports an error it must exit with the status
 * text. */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "flowcred.h"
#include "testutil.h"

#define CONNECTOR "ifs-host"
#define HOST_TIMEOUT 60

struct host_fixture {
	char *config_path;
	char *machine_user;
	char *interactive_user;
};

static void fixture_init(struct host_fixture *fixture)
{
	flowcred_ctx *ctx;

	fixture->config_path = tu_write_config(CONNECTOR, "test", TU_CLIENT_ID,
					       TU_CLIENT_SECRET, NULL);
	fixture->machine_user = tu_unique("host-machine");
	fixture->interactive_user = tu_unique("host-interactive");
	ctx = tu_open(fixture->config_path);
	tu_store(ctx, CONNECTOR, fixture->machine_user, TU_USER, TU_PASSWORD);
	tu_store(ctx, CONNECTOR, fixture->interactive_user, TU_SPECIAL_USER,
		 NULL);
	flowcred_close(ctx);
	tu_server_reset();
}

static void fixture_free(struct host_fixture *fixture)
{
	free(fixture->config_path);
	free(fixture->machine_user);
	free(fixture->interactive_user);
}

/* Returns the value of the n-th line "key: value" of output (n counts
 * from 0), copied into value, or NULL when there is none. */
static const char *nth_value(const char *output, const char *key, int n,
			     char *value, size_t size)
{
	size_t key_len = strlen(key);
	const char *line = output;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len > key_len + 1 && strncmp(line, key, key_len) == 0 &&
		    line[key_len] == ':' && line[key_len + 1] == ' ' &&
		    n-- == 0) {
			len -= key_len + 2;
			ck_assert_uint_lt(len, size);
			memcpy(value, line + key_len + 2, len);
			value[len] = '\0';
			return value;
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Returns the form fields of the n-th recorded password grant (n counts
 * from 0); aborts the test when there is none. */
static struct json_object *nth_grant_form(struct json_object *requests,
					  size_t n)
{
	size_t i;

	for (i = 0; i < json_object_array_length(requests); i++) {
		struct json_object *request =
			json_object_array_get_idx(requests, i);
		struct json_object *form = NULL;
		const char *grant_type;

		json_object_object_get_ex(request, "form", &form);
		grant_type = tu_json_string(form, "grant_type");
		if (grant_type && strcmp(grant_type, "password") == 0 &&
		    n-- == 0)
			return form;
	}
	ck_abort_msg("the server recorded too few password grants");
	return NULL;
}

static int matches(const char *pattern, const char *text)
{
	regex_t regex;
	int result;

	ck_assert_int_eq(regcomp(&regex, pattern, REG_EXTENDED | REG_NOSUB),
			 0);
	result = regexec(&regex, text, 0, NULL, 0) == 0;
	regfree(&regex);
	return result;
}

START_TEST(test_host_prints_two_tokens)
{
	struct host_fixture fixture;
	struct json_object *requests, *form;
	char *out = NULL, *err = NULL;
	char value[8192];
	int status;

	fixture_init(&fixture);
	{
		char *argv[] = {
			(char *)tu_env("FLOWCRED_TEST_HOST"),
			"--plugin", (char *)tu_env("FLOWCRED_TEST_LIB"),
			"--config", fixture.config_path,
			"--connector", CONNECTOR,
			"--machine-user", fixture.machine_user,
			"--interactive-user", fixture.interactive_user,
			NULL
		};

		status = tu_run_program(argv, TU_SPECIAL_PASSWORD "\n", &out,
					&err, HOST_TIMEOUT);
	}
	ck_assert_msg(status == 0, "host-dlopen exited with %d: %s", status,
		      err);

	ck_assert_str_eq(nth_value(out, "connector", 0, value, sizeof(value)),
			 CONNECTOR);
	ck_assert_str_eq(nth_value(out, "flow user", 0, value, sizeof(value)),
			 fixture.machine_user);
	ck_assert_str_eq(nth_value(out, "flow user", 1, value, sizeof(value)),
			 fixture.interactive_user);
	ck_assert_str_eq(nth_value(out, "token type", 0, value, sizeof(value)),
			 "Bearer");
	ck_assert_str_eq(nth_value(out, "token type", 1, value, sizeof(value)),
			 "Bearer");
	ck_assert_ptr_nonnull(nth_value(out, "expires", 0, value,
					sizeof(value)));
	ck_assert_msg(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
			      value),
		      "expiry is not ISO 8601 UTC: %s", value);
	ck_assert_ptr_nonnull(nth_value(out, "token", 0, value,
					sizeof(value)));
	ck_assert_msg(tu_is_jwt_shaped(value), "first token is not a JWT");
	ck_assert_ptr_nonnull(nth_value(out, "token", 1, value,
					sizeof(value)));
	ck_assert_msg(tu_is_jwt_shaped(value), "second token is not a JWT");
	ck_assert_ptr_null(nth_value(out, "token", 2, value, sizeof(value)));

	requests = tu_server_requests();
	ck_assert_uint_eq(tu_count_grants(requests), 2);
	form = nth_grant_form(requests, 0);
	ck_assert_str_eq(tu_json_string(form, "username"), TU_USER);
	ck_assert_str_eq(tu_json_string(form, "password"), TU_PASSWORD);
	form = nth_grant_form(requests, 1);
	ck_assert_str_eq(tu_json_string(form, "username"), TU_SPECIAL_USER);
	ck_assert_str_eq(tu_json_string(form, "password"),
			 TU_SPECIAL_PASSWORD);
	json_object_put(requests);

	ck_assert_ptr_null(strstr(err, TU_SPECIAL_PASSWORD));
	free(out);
	free(err);
	fixture_free(&fixture);
}
END_TEST

START_TEST(test_host_plugin_from_environment)
{
	struct host_fixture fixture;
	char *out = NULL, *err = NULL;
	char value[8192];
	int status;

	fixture_init(&fixture);
	setenv("FLOWCRED_PLUGIN", tu_env("FLOWCRED_TEST_LIB"), 1);
	{
		char *argv[] = {
			(char *)tu_env("FLOWCRED_TEST_HOST"),
			"--config", fixture.config_path,
			"--connector", CONNECTOR,
			"--machine-user", fixture.machine_user,
			NULL
		};

		status = tu_run_program(argv, NULL, &out, &err, HOST_TIMEOUT);
	}
	unsetenv("FLOWCRED_PLUGIN");
	ck_assert_msg(status == 0, "host-dlopen exited with %d: %s", status,
		      err);
	ck_assert_ptr_nonnull(nth_value(out, "token", 0, value,
					sizeof(value)));
	ck_assert_msg(tu_is_jwt_shaped(value), "token is not a JWT");
	ck_assert_ptr_null(nth_value(out, "token", 1, value, sizeof(value)));
	free(out);
	free(err);
	fixture_free(&fixture);
}
END_TEST

START_TEST(test_host_wrong_password_fails)
{
	struct host_fixture fixture;
	char *out = NULL, *err = NULL;
	char value[8192];
	int status;

	fixture_init(&fixture);
	{
		char *argv[] = {
			(char *)tu_env("FLOWCRED_TEST_HOST"),
			"--plugin", (char *)tu_env("FLOWCRED_TEST_LIB"),
			"--config", fixture.config_path,
			"--connector", CONNECTOR,
			"--machine-user", fixture.machine_user,
			"--interactive-user", fixture.interactive_user,
			NULL
		};

		status = tu_run_program(argv, "wrong-password\n", &out, &err,
					HOST_TIMEOUT);
	}
	ck_assert_int_eq(status, 1);
	ck_assert_msg(strstr(err, flowcred_strerror(FLOWCRED_DENIED)) != NULL,
		      "stderr does not contain the status text: %s", err);
	ck_assert_ptr_null(strstr(err, "wrong-password"));
	/* The machine user's token came before the failure. */
	ck_assert_ptr_nonnull(nth_value(out, "token", 0, value,
					sizeof(value)));
	ck_assert_ptr_null(nth_value(out, "token", 1, value, sizeof(value)));
	free(out);
	free(err);
	fixture_free(&fixture);
}
END_TEST

START_TEST(test_host_missing_plugin_fails)
{
	char path[1024];
	char *out = NULL, *err = NULL;
	int status;

	snprintf(path, sizeof(path), "%s/no-such-plugin.so",
		 tu_env("FLOWCRED_TEST_DIR"));
	{
		char *argv[] = {
			(char *)tu_env("FLOWCRED_TEST_HOST"),
			"--plugin", path,
			"--config", "/nonexistent.conf",
			"--connector", CONNECTOR,
			"--machine-user", "user",
			NULL
		};

		status = tu_run_program(argv, NULL, &out, &err, HOST_TIMEOUT);
	}
	ck_assert_int_eq(status, 1);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_str_eq(out, "");
	free(out);
	free(err);
}
END_TEST

START_TEST(test_host_usage_error)
{
	char *argv[] = {
		(char *)tu_env("FLOWCRED_TEST_HOST"), "--connector", CONNECTOR,
		NULL
	};
	char *err = NULL;

	ck_assert_int_eq(tu_run_program(argv, NULL, NULL, &err, HOST_TIMEOUT),
			 2);
	ck_assert_ptr_nonnull(strstr(err, "Usage:"));
	free(err);
}
END_TEST

static Suite *host_suite(void)
{
	Suite *s = suite_create("host-dlopen");
	TCase *tc;

	tc = tcase_create("host");
	tcase_set_timeout(tc, 2 * HOST_TIMEOUT);
	tcase_add_test(tc, test_host_prints_two_tokens);
	tcase_add_test(tc, test_host_plugin_from_environment);
	tcase_add_test(tc, test_host_wrong_password_fails);
	tcase_add_test(tc, test_host_missing_plugin_fails);
	tcase_add_test(tc, test_host_usage_error);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(host_suite());
}
