/* Secret hygiene: with the most verbose logging, no password, client
 * secret or token may appear in a detail, a log line, or the flowcred
 * CLI's standard output and error, except the token that `flowcred token`
 * prints on standard output by design.
 *
 * The library cases cover every public call on good and failing paths;
 * the CLI cases run each command with -vv, which copies every library
 * message, debug included, to standard error. Configuration values that
 * are secrets (an inline client_secret, a proxy password) must not be
 * echoed by the messages that reject them either.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "faultutil.h"

#define TOKEN_BUFFER_SIZE 8192
#define CLI_TIMEOUT_S 30

/* A stored password IFS rejects, long enough to be recognised. */
#define WRONG_PASSWORD "Wr0ng-Stored-Pa55word-4711"

/* An inline client secret with a byte that is not UTF-8 in its middle. */
#define NON_UTF8_SECRET "Inline-Secret-0815-\xff-tail-of-the-secret"

#define PROXY_PASSWORD "Pr0xy-Pa55word-9931"

/* The token of a canned response that breaks off after it. */
#define CLI_CANNED_TOKEN "cliCannedToken-0123456789abcdefghijABCDEFGHIJ-klmnop"

static char *config_path;
static char *flow_user;

static void setup(void)
{
	char *url = tu_token_url("test");

	config_path = fu_write_config(url, NULL);
	flow_user = tu_unique("flow");
	fu_add_secret(WRONG_PASSWORD);
	fu_add_secret(NON_UTF8_SECRET);
	fu_add_secret("Inline-Secret-0815-");
	fu_add_secret("-tail-of-the-secret");
	fu_add_secret(PROXY_PASSWORD);
	free(url);
}

static void teardown(void)
{
	free(config_path);
	free(flow_user);
}

static void assert_status(flowcred_status status, flowcred_status expected,
			  const char *detail)
{
	ck_assert_msg(status == expected, "expected %s, got %s: %s",
		      flowcred_strerror(expected), flowcred_strerror(status),
		      detail);
}

/* --- the library ------------------------------------------------------------ */

static int count_item(const char *connector, const char *user,
		      const char *ifs_user, int has_password, void *userdata)
{
	(void)connector;
	(void)user;
	(void)ifs_user;
	(void)has_password;
	(*(int *)userdata)++;
	return 0;
}

/* Every call once on its good path, with tokens from the fixture realm. */
START_TEST(test_api_good_paths_clean)
{
	flowcred_ctx *ctx = fu_open(config_path);
	char detail[FLOWCRED_DETAIL_MAX];
	char token[TOKEN_BUFFER_SIZE];
	char ifs_user[256];
	flowcred_status status;
	size_t len = 0;
	int has_password = 0;
	int items = 0;

	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	status = flowcred_lookup_credentials(ctx, FU_CONNECTOR, flow_user,
					     ifs_user, sizeof(ifs_user), &len,
					     &has_password, detail,
					     sizeof(detail));
	fu_assert_clean(detail);
	assert_status(status, FLOWCRED_OK, detail);

	status = flowcred_list_credentials(ctx, FU_CONNECTOR, count_item,
					   &items, detail, sizeof(detail));
	fu_assert_clean(detail);
	assert_status(status, FLOWCRED_OK, detail);

	status = tu_get_token(ctx, FU_CONNECTOR, flow_user, NULL, token,
			      sizeof(token), NULL, NULL, detail);
	assert_status(status, FLOWCRED_OK, detail);
	fu_add_secret(token);
	fu_assert_clean(detail);

	/* A typed password, then the cached token again. */
	status = tu_get_token(ctx, FU_CONNECTOR, flow_user, TU_PASSWORD, token,
			      sizeof(token), NULL, NULL, detail);
	assert_status(status, FLOWCRED_OK, detail);
	fu_add_secret(token);
	fu_assert_clean(detail);
	status = tu_get_token(ctx, FU_CONNECTOR, flow_user, NULL, token,
			      sizeof(token), NULL, NULL, detail);
	fu_assert_clean(detail);

	status = flowcred_check_connector(ctx, FU_CONNECTOR, detail,
					  sizeof(detail));
	fu_assert_clean(detail);
	assert_status(status, FLOWCRED_OK, detail);

	status = flowcred_logout(ctx, FU_CONNECTOR, flow_user, detail,
				 sizeof(detail));
	fu_assert_clean(detail);

	status = flowcred_clear_credentials(ctx, FU_CONNECTOR, flow_user,
					    detail, sizeof(detail));
	fu_assert_clean(detail);
	assert_status(status, FLOWCRED_OK, detail);
	flowcred_close(ctx);
	fu_assert_no_secret(fu_log_text(), "the log");
	explicit_bzero(token, sizeof(token));
}
END_TEST

/* Rejected passwords, typed and stored, and a buffer too small. */
START_TEST(test_api_failure_paths_clean)
{
	flowcred_ctx *ctx = fu_open(config_path);
	char detail[FLOWCRED_DETAIL_MAX];
	char token[16];
	char token_text[sizeof(token) + 1];
	flowcred_status status;
	size_t len = 0;

	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, WRONG_PASSWORD);
	status = tu_get_token(ctx, FU_CONNECTOR, flow_user, NULL, NULL, 0,
			      NULL, NULL, detail);
	fu_assert_clean(detail);
	assert_status(status, FLOWCRED_DENIED, detail);

	/* The guard against lockouts responds the second time. */
	status = tu_get_token(ctx, FU_CONNECTOR, flow_user, NULL, NULL, 0,
			      NULL, NULL, detail);
	fu_assert_clean(detail);
	ck_assert_int_ne(status, FLOWCRED_OK);

	status = tu_get_token(ctx, FU_CONNECTOR, flow_user, WRONG_PASSWORD,
			      NULL, 0, NULL, NULL, detail);
	fu_assert_clean(detail);
	assert_status(status, FLOWCRED_DENIED, detail);

	memset(token, 0, sizeof(token));
	status = flowcred_get_token(ctx, FU_CONNECTOR, flow_user, TU_PASSWORD,
				    token, sizeof(token), &len, NULL, NULL,
				    detail, sizeof(detail));
	fu_assert_clean(detail);
	assert_status(status, FLOWCRED_BUFFER_TOO_SMALL, detail);
	/* The buffer need not be terminated: look at its bytes. */
	memcpy(token_text, token, sizeof(token));
	token_text[sizeof(token)] = '\0';
	fu_assert_no_secret(token_text, "the too small token buffer");
	flowcred_close(ctx);
	fu_assert_no_secret(fu_log_text(), "the log");
}
END_TEST

/* GLib's message for a value that is not UTF-8 quotes the value. */
START_TEST(test_non_utf8_inline_secret_not_echoed)
{
	char *url = tu_token_url("test");
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;
	flowcred_ctx *ctx;
	char *config;

	config = tu_write_filef("non-utf8.conf", 0600,
				"[" FU_CONNECTOR "]\n"
				"token_url = %s\n"
				"client_id = " TU_CLIENT_ID "\n"
				"client_secret = " NON_UTF8_SECRET "\n"
				"ca_file = %s\n", url,
				tu_env("FLOWCRED_TEST_CA"));
	status = flowcred_open(config, &ctx, detail, sizeof(detail));
	fu_assert_clean(detail);
	if (status == FLOWCRED_OK) {
		flowcred_set_log_func(ctx, fu_capture_log, NULL, LOG_DEBUG);
		status = tu_get_token(ctx, FU_CONNECTOR, flow_user,
				      TU_PASSWORD, NULL, 0, NULL, NULL, detail);
		fu_assert_clean(detail);
		assert_status(status, FLOWCRED_CONFIG, detail);
		flowcred_close(ctx);
	} else {
		assert_status(status, FLOWCRED_CONFIG, detail);
	}
	/* flowcred_open() logs invalid groups through the default log
	 * function, syslog; the detail of every later call repeats it. */
	fu_assert_no_secret(fu_log_text(), "the log");
	free(config);
	free(url);
}
END_TEST

START_TEST(test_invalid_proxy_password_not_echoed)
{
	char *url = tu_token_url("test");
	char detail[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;
	flowcred_ctx *ctx;
	char *config;

	config = fu_write_config(url, "proxy = http://flow:" PROXY_PASSWORD
				 "@proxy host.invalid:3128\n");
	ctx = fu_open(config);
	status = tu_get_token(ctx, FU_CONNECTOR, flow_user, TU_PASSWORD, NULL,
			      0, NULL, NULL, detail);
	fu_assert_clean(detail);
	assert_status(status, FLOWCRED_CONFIG, detail);
	flowcred_close(ctx);
	fu_assert_no_secret(fu_log_text(), "the log");
	free(config);
	free(url);
}
END_TEST

/* --- the CLI ------------------------------------------------------------------ */

struct cli_result {
	int exit_status;
	char *out;
	char *err;
};

/* Runs the flowcred CLI with -vv and the configuration, then the
 * arguments, with input on standard input (may be NULL). */
static void run_cli(const char *config, const char *input,
		    struct cli_result *result, ...)
{
	char *argv[16];
	const char *arg;
	char *cli;
	va_list ap;
	int n = 0;

	ck_assert_int_ne(asprintf(&cli, "%s/flowcred",
				  tu_env("FLOWCRED_TEST_BUILDDIR")), -1);
	argv[n++] = cli;
	argv[n++] = "-vv";
	argv[n++] = "--config";
	argv[n++] = (char *)config;
	va_start(ap, result);
	while ((arg = va_arg(ap, const char *)) != NULL) {
		ck_assert_int_lt(n, 15);
		argv[n++] = (char *)arg;
	}
	va_end(ap);
	argv[n] = NULL;
	result->exit_status = tu_run_program(argv, input, &result->out,
					     &result->err, CLI_TIMEOUT_S);
	fprintf(stderr, "cli %s: exit %d\n--- stdout\n%s--- stderr\n%s---\n",
		argv[4], result->exit_status, result->out, result->err);
	free(cli);
}

static void cli_result_free(struct cli_result *result)
{
	free(result->out);
	free(result->err);
}

/* Checks the output of a command that prints no token. */
static void assert_cli_clean(const struct cli_result *result)
{
	fu_assert_no_secret(result->out, "the CLI's standard output");
	fu_assert_no_secret(result->err, "the CLI's standard error");
}

START_TEST(test_cli_commands_clean)
{
	struct cli_result r;
	char *token;
	char *newline;

	run_cli(config_path, TU_PASSWORD "\n", &r, "store", FU_CONNECTOR,
		flow_user, "--ifs-user", TU_USER, "--password-stdin", NULL);
	assert_cli_clean(&r);
	ck_assert_int_eq(r.exit_status, 0);
	cli_result_free(&r);

	run_cli(config_path, NULL, &r, "lookup", FU_CONNECTOR, flow_user, NULL);
	assert_cli_clean(&r);
	ck_assert_int_eq(r.exit_status, 0);
	cli_result_free(&r);

	run_cli(config_path, NULL, &r, "list", NULL);
	assert_cli_clean(&r);
	ck_assert_int_eq(r.exit_status, 0);
	cli_result_free(&r);

	/* The token on standard output, and nowhere else. */
	run_cli(config_path, NULL, &r, "token", FU_CONNECTOR, flow_user, NULL);
	ck_assert_int_eq(r.exit_status, 0);
	newline = strchr(r.out, '\n');
	ck_assert_ptr_nonnull(newline);
	token = strndup(r.out, (size_t)(newline - r.out));
	ck_assert_str_ne(token, "");
	fu_add_secret(token);
	fu_assert_no_secret(r.err, "the CLI's standard error");
	cli_result_free(&r);

	run_cli(config_path, NULL, &r, "token", FU_CONNECTOR, flow_user,
		"--format=json", NULL);
	ck_assert_int_eq(r.exit_status, 0);
	fu_assert_no_secret(r.err, "the CLI's standard error");
	cli_result_free(&r);

	run_cli(config_path, TU_PASSWORD "\n", &r, "token", FU_CONNECTOR,
		flow_user, "--password-stdin", NULL);
	ck_assert_int_eq(r.exit_status, 0);
	fu_assert_no_secret(r.err, "the CLI's standard error");
	cli_result_free(&r);

	run_cli(config_path, NULL, &r, "check", FU_CONNECTOR, NULL);
	assert_cli_clean(&r);
	ck_assert_int_eq(r.exit_status, 0);
	cli_result_free(&r);

	run_cli(config_path, NULL, &r, "logout", FU_CONNECTOR, flow_user, NULL);
	assert_cli_clean(&r);
	cli_result_free(&r);

	run_cli(config_path, NULL, &r, "clear", FU_CONNECTOR, flow_user, NULL);
	assert_cli_clean(&r);
	ck_assert_int_eq(r.exit_status, 0);
	cli_result_free(&r);
	free(token);
}
END_TEST

START_TEST(test_cli_failures_clean)
{
	struct cli_result r;

	run_cli(config_path, WRONG_PASSWORD "\n", &r, "store", FU_CONNECTOR,
		flow_user, "--ifs-user", TU_USER, "--password-stdin", NULL);
	assert_cli_clean(&r);
	ck_assert_int_eq(r.exit_status, 0);
	cli_result_free(&r);

	run_cli(config_path, NULL, &r, "token", FU_CONNECTOR, flow_user, NULL);
	assert_cli_clean(&r);
	ck_assert_int_ne(r.exit_status, 0);
	cli_result_free(&r);

	run_cli(config_path, WRONG_PASSWORD "\n", &r, "token", FU_CONNECTOR,
		flow_user, "--password-stdin", NULL);
	assert_cli_clean(&r);
	ck_assert_int_ne(r.exit_status, 0);
	cli_result_free(&r);

	/* A password as an argument is refused without being echoed. */
	run_cli(config_path, NULL, &r, "token", FU_CONNECTOR, flow_user,
		"--password=" WRONG_PASSWORD, NULL);
	assert_cli_clean(&r);
	ck_assert_int_eq(r.exit_status, 2);
	cli_result_free(&r);

	run_cli(config_path, NULL, &r, "clear", FU_CONNECTOR, flow_user, NULL);
	cli_result_free(&r);
}
END_TEST

START_TEST(test_cli_non_utf8_secret_clean)
{
	char *url = tu_token_url("test");
	struct cli_result r;
	char *config;

	config = tu_write_filef("cli-non-utf8.conf", 0600,
				"[" FU_CONNECTOR "]\n"
				"token_url = %s\n"
				"client_id = " TU_CLIENT_ID "\n"
				"client_secret = " NON_UTF8_SECRET "\n"
				"ca_file = %s\n", url,
				tu_env("FLOWCRED_TEST_CA"));
	run_cli(config, NULL, &r, "check", FU_CONNECTOR, NULL);
	assert_cli_clean(&r);
	ck_assert_int_ne(r.exit_status, 0);
	cli_result_free(&r);
	free(config);
	free(url);
}
END_TEST

/* The library quotes a broken response in its detail, which the CLI
 * prints: a token cut off mid-response must not be part of the quote. */
START_TEST(test_cli_truncated_response_clean)
{
	char *realm = tu_unique("truncated");
	char *url = tu_token_url(realm);
	struct cli_result r;
	char *config;

	fu_add_secret(CLI_CANNED_TOKEN);
	tu_server_put_canned(realm, 200,
			     "{\"Content-Type\":\"application/json\"}",
			     "{\"access_token\":\"" CLI_CANNED_TOKEN
			     "\",\"token_type\":\"Bea");
	config = fu_write_config(url, NULL);
	run_cli(config, TU_PASSWORD "\n", &r, "store", FU_CONNECTOR, flow_user,
		"--ifs-user", TU_USER, "--password-stdin", NULL);
	ck_assert_int_eq(r.exit_status, 0);
	cli_result_free(&r);
	run_cli(config, NULL, &r, "token", FU_CONNECTOR, flow_user, NULL);
	assert_cli_clean(&r);
	ck_assert_int_ne(r.exit_status, 0);
	cli_result_free(&r);
	run_cli(config, NULL, &r, "clear", FU_CONNECTOR, flow_user, NULL);
	cli_result_free(&r);
	free(config);
	free(url);
	free(realm);
}
END_TEST

static Suite *hygiene_suite(void)
{
	Suite *suite = suite_create("fault_hygiene");
	TCase *tc;

	tc = tcase_create("library");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_api_good_paths_clean);
	tcase_add_test(tc, test_api_failure_paths_clean);
	tcase_add_test(tc, test_non_utf8_inline_secret_not_echoed);
	tcase_add_test(tc, test_invalid_proxy_password_not_echoed);
	suite_add_tcase(suite, tc);

	tc = tcase_create("cli");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_cli_commands_clean);
	tcase_add_test(tc, test_cli_failures_clean);
	tcase_add_test(tc, test_cli_non_utf8_secret_clean);
	tcase_add_test(tc, test_cli_truncated_response_clean);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return tu_run_suite(hygiene_suite());
}
