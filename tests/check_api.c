/* Tests of the public API itself: argument checks, status texts,
 * versions, detail buffers, concurrent use of one context and the
 * exported symbol list of libflowcred.so.1. */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <check.h>

#include "flowcred.h"
#include "testutil.h"

#define CONNECTOR "ifs-api"
#define THREAD_COUNT 8

/* Names that no call accepts: empty, or with a control character. NULL
 * is tested separately for each argument. */
static const char *const invalid_names[] = {
	"",
	"line\nbreak",
	"tab\there",
	"carriage\rreturn",
	"escape\x1b[0m",
	"delete\x7f",
};

#define INVALID_NAME_COUNT \
	((int)(sizeof(invalid_names) / sizeof(invalid_names[0])))

static flowcred_ctx *open_api_context(void)
{
	char *path = tu_write_config(CONNECTOR, "test", TU_CLIENT_ID,
				     TU_CLIENT_SECRET, NULL);
	flowcred_ctx *ctx = tu_open(path);

	free(path);
	return ctx;
}

static int count_item(const char *connector, const char *flow_user,
		      const char *ifs_user, int has_password, void *userdata)
{
	(void)connector;
	(void)flow_user;
	(void)ifs_user;
	(void)has_password;
	(*(int *)userdata)++;
	return 0;
}

/* The calls that take a connector name, and those of them that also take
 * a Flow user (the first FLOW_USER_CALL_COUNT). */
enum api_call {
	CALL_GET_TOKEN,
	CALL_STORE,
	CALL_LOOKUP,
	CALL_CLEAR,
	CALL_LIST,
	CALL_CHECK,
};

static const char *const call_names[] = {
	"flowcred_get_token", "flowcred_store_credentials",
	"flowcred_lookup_credentials", "flowcred_clear_credentials",
	"flowcred_list_credentials", "flowcred_check_connector",
};

#define CALL_COUNT ((int)(sizeof(call_names) / sizeof(call_names[0])))
#define FLOW_USER_CALL_COUNT 4

/* Makes one call with the given names and an interactive password;
 * returns its status. None of them may reach the keyring or the network
 * when an argument is invalid. */
static flowcred_status make_call(flowcred_ctx *ctx, enum api_call call,
				 const char *connector, const char *flow_user)
{
	char token[256];
	char ifs_user[256];
	char detail[FLOWCRED_DETAIL_MAX];
	size_t len = 0;
	int has_password = 0;
	int listed = 0;
	flowcred_status status = FLOWCRED_INTERNAL;

	switch (call) {
	case CALL_GET_TOKEN:
		status = flowcred_get_token(ctx, connector, flow_user, "pw",
					    token, sizeof(token), &len, NULL,
					    NULL, detail, sizeof(detail));
		break;
	case CALL_STORE:
		status = flowcred_store_credentials(ctx, connector, flow_user,
						    "IFSUSER", "pw", detail,
						    sizeof(detail));
		break;
	case CALL_LOOKUP:
		status = flowcred_lookup_credentials(ctx, connector, flow_user,
						     ifs_user,
						     sizeof(ifs_user), &len,
						     &has_password, detail,
						     sizeof(detail));
		break;
	case CALL_CLEAR:
		status = flowcred_clear_credentials(ctx, connector, flow_user,
						    detail, sizeof(detail));
		break;
	case CALL_LIST:
		status = flowcred_list_credentials(ctx, connector, count_item,
						   &listed, detail,
						   sizeof(detail));
		break;
	case CALL_CHECK:
		status = flowcred_check_connector(ctx, connector, detail,
						  sizeof(detail));
		break;
	}
	ck_assert_int_eq(listed, 0);
	return status;
}

START_TEST(test_null_context_rejected)
{
	flowcred_status status = make_call(NULL, (enum api_call)_i, CONNECTOR,
					   "user");

	ck_assert_msg(status == FLOWCRED_INVALID_ARGUMENT,
		      "%s with a NULL context returned \"%s\"", call_names[_i],
		      flowcred_strerror(status));
}
END_TEST

START_TEST(test_set_log_func_null_context)
{
	/* Must not crash. */
	flowcred_set_log_func(NULL, NULL, NULL, 0);
}
END_TEST

START_TEST(test_open_null_output_rejected)
{
	char *path = tu_write_config(CONNECTOR, "test", TU_CLIENT_ID,
				     TU_CLIENT_SECRET, NULL);
	char detail[FLOWCRED_DETAIL_MAX] = "";

	ck_assert_int_eq(flowcred_open(path, NULL, detail, sizeof(detail)),
			 FLOWCRED_INVALID_ARGUMENT);
	free(path);
}
END_TEST

START_TEST(test_null_connector_rejected)
{
	enum api_call call = (enum api_call)_i;
	flowcred_ctx *ctx = open_api_context();
	flowcred_status status;

	/* flowcred_list_credentials() takes NULL for all connectors. */
	if (call == CALL_LIST) {
		flowcred_close(ctx);
		return;
	}
	status = make_call(ctx, call, NULL, "user");
	ck_assert_msg(status == FLOWCRED_INVALID_ARGUMENT,
		      "%s with a NULL connector returned \"%s\"",
		      call_names[call], flowcred_strerror(status));
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_invalid_connector_rejected)
{
	enum api_call call = (enum api_call)(_i % CALL_COUNT);
	int name = _i / CALL_COUNT;
	flowcred_ctx *ctx = open_api_context();
	flowcred_status status;

	status = make_call(ctx, call, invalid_names[name], "user");
	ck_assert_msg(status == FLOWCRED_INVALID_ARGUMENT,
		      "%s with connector name %d returned \"%s\"",
		      call_names[call], name, flowcred_strerror(status));
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_null_flow_user_rejected)
{
	enum api_call call = (enum api_call)_i;
	flowcred_ctx *ctx = open_api_context();
	flowcred_status status;

	status = make_call(ctx, call, CONNECTOR, NULL);
	ck_assert_msg(status == FLOWCRED_INVALID_ARGUMENT,
		      "%s with a NULL Flow user returned \"%s\"",
		      call_names[call], flowcred_strerror(status));
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_invalid_flow_user_rejected)
{
	enum api_call call = (enum api_call)(_i % FLOW_USER_CALL_COUNT);
	int name = _i / FLOW_USER_CALL_COUNT;
	flowcred_ctx *ctx = open_api_context();
	flowcred_status status;

	status = make_call(ctx, call, CONNECTOR, invalid_names[name]);
	ck_assert_msg(status == FLOWCRED_INVALID_ARGUMENT,
		      "%s with Flow user name %d returned \"%s\"",
		      call_names[call], name, flowcred_strerror(status));
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_invalid_ifs_user_rejected)
{
	flowcred_ctx *ctx = open_api_context();
	char detail[FLOWCRED_DETAIL_MAX];
	int i;

	ck_assert_int_eq(flowcred_store_credentials(ctx, CONNECTOR, "user",
						    NULL, "pw", detail,
						    sizeof(detail)),
			 FLOWCRED_INVALID_ARGUMENT);
	for (i = 0; i < INVALID_NAME_COUNT; i++)
		ck_assert_msg(flowcred_store_credentials(ctx, CONNECTOR, "user",
							 invalid_names[i],
							 "pw", detail,
							 sizeof(detail)) ==
			      FLOWCRED_INVALID_ARGUMENT,
			      "IFS user name %d was accepted", i);
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_null_token_buffer_rejected)
{
	flowcred_ctx *ctx = open_api_context();
	char detail[FLOWCRED_DETAIL_MAX];
	size_t len = 0;
	flowcred_status status;

	status = flowcred_get_token(ctx, CONNECTOR, "user", "pw", NULL, 256,
				    &len, NULL, NULL, detail, sizeof(detail));
	ck_assert_msg(status == FLOWCRED_INVALID_ARGUMENT,
		      "a NULL token buffer returned \"%s\": %s",
		      flowcred_strerror(status), detail);
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_null_token_len_rejected)
{
	flowcred_ctx *ctx = open_api_context();
	char token[256];
	char detail[FLOWCRED_DETAIL_MAX];
	flowcred_status status;

	status = flowcred_get_token(ctx, CONNECTOR, "user", "pw", token,
				    sizeof(token), NULL, NULL, NULL, detail,
				    sizeof(detail));
	ck_assert_msg(status == FLOWCRED_INVALID_ARGUMENT,
		      "a NULL token_len returned \"%s\": %s",
		      flowcred_strerror(status), detail);
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_null_list_func_rejected)
{
	flowcred_ctx *ctx = open_api_context();
	char detail[FLOWCRED_DETAIL_MAX];

	ck_assert_int_eq(flowcred_list_credentials(ctx, NULL, NULL, NULL,
						   detail, sizeof(detail)),
			 FLOWCRED_INVALID_ARGUMENT);
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_strerror_every_status_distinct)
{
	const char *texts[FLOWCRED_INTERNAL + 1];
	int i, j;

	for (i = FLOWCRED_OK; i <= FLOWCRED_INTERNAL; i++) {
		texts[i] = flowcred_strerror((flowcred_status)i);
		ck_assert_msg(texts[i] != NULL, "status %d has no text", i);
		ck_assert_msg(texts[i][0] != '\0', "status %d has empty text",
			      i);
		ck_assert_msg(strcmp(texts[i], "unknown status") != 0,
			      "status %d is called unknown", i);
	}
	for (i = FLOWCRED_OK; i <= FLOWCRED_INTERNAL; i++)
		for (j = i + 1; j <= FLOWCRED_INTERNAL; j++)
			ck_assert_msg(strcmp(texts[i], texts[j]) != 0,
				      "statuses %d and %d share the text \"%s\"",
				      i, j, texts[i]);
}
END_TEST

START_TEST(test_strerror_unknown_status)
{
	ck_assert_str_eq(flowcred_strerror((flowcred_status)13),
			 "unknown status");
	ck_assert_str_eq(flowcred_strerror((flowcred_status)-1),
			 "unknown status");
	ck_assert_str_eq(flowcred_strerror((flowcred_status)1000),
			 "unknown status");
}
END_TEST

START_TEST(test_status_values_fixed)
{
	/* The ABI fixes these numbers; a host may have stored them. */
	ck_assert_int_eq(FLOWCRED_OK, 0);
	ck_assert_int_eq(FLOWCRED_NOT_FOUND, 1);
	ck_assert_int_eq(FLOWCRED_DENIED, 2);
	ck_assert_int_eq(FLOWCRED_ACCOUNT, 3);
	ck_assert_int_eq(FLOWCRED_CLIENT_REJECTED, 4);
	ck_assert_int_eq(FLOWCRED_CONFIG, 5);
	ck_assert_int_eq(FLOWCRED_UNAVAILABLE, 6);
	ck_assert_int_eq(FLOWCRED_TRY_AGAIN, 7);
	ck_assert_int_eq(FLOWCRED_BUFFER_TOO_SMALL, 8);
	ck_assert_int_eq(FLOWCRED_PROTOCOL, 9);
	ck_assert_int_eq(FLOWCRED_INVALID_ARGUMENT, 10);
	ck_assert_int_eq(FLOWCRED_NO_MEMORY, 11);
	ck_assert_int_eq(FLOWCRED_INTERNAL, 12);
}
END_TEST

START_TEST(test_abi_version_is_one)
{
	ck_assert_uint_eq(flowcred_abi_version(), 1);
	ck_assert_uint_eq(flowcred_abi_version(), FLOWCRED_ABI_VERSION);
}
END_TEST

START_TEST(test_version_matches_package)
{
	char header_version[64];

	snprintf(header_version, sizeof(header_version), "%d.%d.%d",
		 FLOWCRED_VERSION_MAJOR, FLOWCRED_VERSION_MINOR,
		 FLOWCRED_VERSION_PATCH);
	ck_assert_ptr_nonnull(flowcred_version());
	ck_assert_str_eq(flowcred_version(), PACKAGE_VERSION);
	ck_assert_str_eq(flowcred_version(), header_version);
}
END_TEST

START_TEST(test_close_null_accepted)
{
	flowcred_close(NULL);
}
END_TEST

START_TEST(test_detail_size_one_terminated)
{
	flowcred_ctx *ctx = open_api_context();
	char token[256];
	char detail[8];
	size_t len = 0;

	memset(detail, 'X', sizeof(detail));
	ck_assert_int_eq(flowcred_get_token(ctx, "no-such-connector", "user",
					    "pw", token, sizeof(token), &len,
					    NULL, NULL, detail, 1),
			 FLOWCRED_NOT_FOUND);
	ck_assert_int_eq(detail[0], '\0');
	ck_assert_int_eq(detail[1], 'X');
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_detail_size_zero_untouched)
{
	flowcred_ctx *ctx = open_api_context();
	char token[256];
	char detail[8];
	size_t len = 0;

	memset(detail, 'X', sizeof(detail));
	ck_assert_int_eq(flowcred_get_token(ctx, "no-such-connector", "user",
					    "pw", token, sizeof(token), &len,
					    NULL, NULL, detail, 0),
			 FLOWCRED_NOT_FOUND);
	ck_assert_int_eq(detail[0], 'X');
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_detail_size_zero_not_read)
{
	flowcred_ctx *ctx = open_api_context();
	long page = sysconf(_SC_PAGESIZE);
	char token[256];
	char *pages, *detail;
	size_t len = 0;

	/* The buffer ends where an inaccessible page begins and contains
	 * no NUL, so reading it as a string faults. */
	pages = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(pages, MAP_FAILED);
	ck_assert_int_eq(mprotect(pages + page, (size_t)page, PROT_NONE), 0);
	detail = pages + page - 8;
	memset(detail, 'X', 8);

	ck_assert_int_eq(flowcred_get_token(ctx, "no-such-connector", "user",
					    "pw", token, sizeof(token), &len,
					    NULL, NULL, detail, 0),
			 FLOWCRED_NOT_FOUND);
	ck_assert_int_eq(detail[0], 'X');
	ck_assert_int_eq(munmap(pages, (size_t)page * 2), 0);
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_detail_truncated_terminated)
{
	flowcred_ctx *ctx = open_api_context();
	char token[256];
	char detail[16];
	size_t len = 0;

	memset(detail, 'X', sizeof(detail));
	ck_assert_int_eq(flowcred_get_token(ctx, "no-such-connector", "user",
					    "pw", token, sizeof(token), &len,
					    NULL, NULL, detail, 8),
			 FLOWCRED_NOT_FOUND);
	ck_assert_ptr_nonnull(memchr(detail, '\0', 8));
	ck_assert_uint_gt(strlen(detail), 0);
	ck_assert_int_eq(detail[8], 'X');
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_detail_null_accepted)
{
	flowcred_ctx *ctx = open_api_context();
	char token[256];
	size_t len = 0;

	ck_assert_int_eq(flowcred_get_token(ctx, "no-such-connector", "user",
					    "pw", token, sizeof(token), &len,
					    NULL, NULL, NULL,
					    FLOWCRED_DETAIL_MAX),
			 FLOWCRED_NOT_FOUND);
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_open_detail_size_one)
{
	char path[512];
	char detail[4];
	flowcred_ctx *ctx = NULL;

	snprintf(path, sizeof(path), "%s/does-not-exist.conf",
		 tu_env("FLOWCRED_TEST_DIR"));
	memset(detail, 'X', sizeof(detail));
	ck_assert_int_eq(flowcred_open(path, &ctx, detail, 1),
			 FLOWCRED_CONFIG);
	ck_assert_ptr_null(ctx);
	ck_assert_int_eq(detail[0], '\0');
	ck_assert_int_eq(detail[1], 'X');
}
END_TEST

struct thread_call {
	flowcred_ctx *ctx;
	const char *flow_user;
	flowcred_status status;
	char detail[FLOWCRED_DETAIL_MAX];
	char token_type[FLOWCRED_TOKEN_TYPE_MAX];
	int jwt_shaped;
};

static void *get_token_thread(void *arg)
{
	struct thread_call *call = arg;
	char token[8192];
	size_t len = 0;

	call->status = flowcred_get_token(call->ctx, CONNECTOR,
					  call->flow_user, NULL, token,
					  sizeof(token), &len,
					  call->token_type, NULL,
					  call->detail, sizeof(call->detail));
	call->jwt_shaped = call->status == FLOWCRED_OK &&
			   tu_is_jwt_shaped(token);
	explicit_bzero(token, sizeof(token));
	return NULL;
}

/* Starts THREAD_COUNT threads that each get a token for flow_users[i] on
 * one context, waits for them and checks that every call succeeded. */
static void run_threads(flowcred_ctx *ctx, char *const flow_users[])
{
	struct thread_call calls[THREAD_COUNT];
	pthread_t threads[THREAD_COUNT];
	int i;

	memset(calls, 0, sizeof(calls));
	for (i = 0; i < THREAD_COUNT; i++) {
		calls[i].ctx = ctx;
		calls[i].flow_user = flow_users[i];
		ck_assert_int_eq(pthread_create(&threads[i], NULL,
						get_token_thread, &calls[i]),
				 0);
	}
	for (i = 0; i < THREAD_COUNT; i++)
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);

	for (i = 0; i < THREAD_COUNT; i++) {
		ck_assert_msg(calls[i].status == FLOWCRED_OK,
			      "thread %d: %s: %s", i,
			      flowcred_strerror(calls[i].status),
			      calls[i].detail);
		ck_assert_msg(calls[i].jwt_shaped,
			      "thread %d received a malformed token", i);
		ck_assert_str_eq(calls[i].token_type, "Bearer");
	}
}

START_TEST(test_threads_distinct_users)
{
	char *flow_users[THREAD_COUNT];
	flowcred_ctx *ctx = open_api_context();
	struct json_object *requests;
	int i;

	for (i = 0; i < THREAD_COUNT; i++) {
		flow_users[i] = tu_unique("threads");
		tu_store(ctx, CONNECTOR, flow_users[i], TU_USER, TU_PASSWORD);
	}
	tu_server_reset();

	run_threads(ctx, flow_users);

	requests = tu_server_requests();
	ck_assert_uint_eq(tu_count_grants(requests), THREAD_COUNT);
	json_object_put(requests);
	flowcred_close(ctx);
	for (i = 0; i < THREAD_COUNT; i++)
		free(flow_users[i]);
}
END_TEST

START_TEST(test_threads_same_user)
{
	char *flow_user = tu_unique("threads-same");
	char *flow_users[THREAD_COUNT];
	flowcred_ctx *ctx = open_api_context();
	struct json_object *requests;
	int i;

	tu_store(ctx, CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	for (i = 0; i < THREAD_COUNT; i++)
		flow_users[i] = flow_user;
	tu_server_reset();

	run_threads(ctx, flow_users);

	/* Concurrent calls for one token share one request, and later ones
	 * find the token in the context's cache. */
	requests = tu_server_requests();
	ck_assert_uint_eq(tu_count_grants(requests), 1);
	json_object_put(requests);
	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

/* Collects the names of the functions the public header declares: every
 * identifier followed by '(' in a declaration that starts with
 * FLOWCRED_EXPORT. */
static size_t header_functions(char names[][64], size_t max)
{
	char path[1024];
	char *text = NULL;
	size_t size = 0;
	size_t count = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "%s/include/flowcred.h",
		 tu_env("FLOWCRED_TEST_SRCDIR"));
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_ne(getdelim(&text, &size, '\0', f), -1);
	fclose(f);

	for (p = strstr(text, "FLOWCRED_EXPORT"); p;
	     p = strstr(p + 1, "FLOWCRED_EXPORT")) {
		const char *line = p;
		char *paren, *end, *start;

		while (line > text && line[-1] != '\n')
			line--;
		if (*line == '#')
			continue;
		paren = strchr(p, '(');
		ck_assert_ptr_nonnull(paren);
		end = paren;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		start = end;
		while (start > p && (isalnum((unsigned char)start[-1]) ||
				     start[-1] == '_'))
			start--;
		ck_assert_uint_lt(count, max);
		ck_assert_uint_lt((size_t)(end - start), 64);
		memcpy(names[count], start, (size_t)(end - start));
		names[count][end - start] = '\0';
		count++;
	}
	free(text);
	return count;
}

static int name_listed(char names[][64], size_t count, const char *name)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

START_TEST(test_exported_symbols_match_header)
{
	char declared[64][64];
	char exported[64][64];
	size_t declared_count, exported_count = 0;
	char *argv[] = { "/usr/bin/nm", "-D", "--defined-only", NULL, NULL };
	char *out = NULL, *err = NULL;
	char *line, *saveptr = NULL;
	size_t i;

	declared_count = header_functions(declared, 64);
	ck_assert_msg(name_listed(declared, declared_count, "flowcred_open"),
		      "the header parser found no flowcred_open");

	argv[3] = (char *)tu_env("FLOWCRED_TEST_LIB");
	ck_assert_msg(tu_run_program(argv, NULL, &out, &err, 30) == 0,
		      "nm failed: %s", err);

	/* Lines are "ADDRESS TYPE NAME[@@VERSION]"; type A marks a version
	 * node such as FLOWCRED_1.0, which is not a symbol. */
	for (line = strtok_r(out, "\n", &saveptr); line;
	     line = strtok_r(NULL, "\n", &saveptr)) {
		char type;
		char name[256];
		char *at;

		ck_assert_int_eq(sscanf(line, "%*s %c %255s", &type, name), 2);
		if (type == 'A')
			continue;
		at = strchr(name, '@');
		if (at) {
			ck_assert_msg(strcmp(at, "@@FLOWCRED_1.0") == 0,
				      "%s has an unexpected version", name);
			*at = '\0';
		}
		ck_assert_uint_lt(exported_count, 64);
		ck_assert_uint_lt(strlen(name), 64);
		snprintf(exported[exported_count++], 64, "%.63s", name);
	}

	for (i = 0; i < exported_count; i++)
		ck_assert_msg(name_listed(declared, declared_count,
					  exported[i]),
			      "%s is exported but not declared in flowcred.h",
			      exported[i]);
	for (i = 0; i < declared_count; i++)
		ck_assert_msg(name_listed(exported, exported_count,
					  declared[i]),
			      "%s is declared in flowcred.h but not exported",
			      declared[i]);
	ck_assert_uint_eq(exported_count, declared_count);
	free(out);
	free(err);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc;

	tc = tcase_create("arguments");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_null_context_rejected, 0, CALL_COUNT);
	tcase_add_test(tc, test_set_log_func_null_context);
	tcase_add_test(tc, test_open_null_output_rejected);
	tcase_add_loop_test(tc, test_null_connector_rejected, 0, CALL_COUNT);
	tcase_add_loop_test(tc, test_invalid_connector_rejected, 0,
			    INVALID_NAME_COUNT * CALL_COUNT);
	tcase_add_loop_test(tc, test_null_flow_user_rejected, 0,
			    FLOW_USER_CALL_COUNT);
	tcase_add_loop_test(tc, test_invalid_flow_user_rejected, 0,
			    INVALID_NAME_COUNT * FLOW_USER_CALL_COUNT);
	tcase_add_test(tc, test_invalid_ifs_user_rejected);
	tcase_add_test(tc, test_null_token_buffer_rejected);
	tcase_add_test(tc, test_null_token_len_rejected);
	tcase_add_test(tc, test_null_list_func_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_test(tc, test_strerror_every_status_distinct);
	tcase_add_test(tc, test_strerror_unknown_status);
	tcase_add_test(tc, test_status_values_fixed);
	tcase_add_test(tc, test_abi_version_is_one);
	tcase_add_test(tc, test_version_matches_package);
	tcase_add_test(tc, test_close_null_accepted);
	suite_add_tcase(s, tc);

	tc = tcase_create("detail");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_detail_size_one_terminated);
	tcase_add_test(tc, test_detail_size_zero_untouched);
	tcase_add_test(tc, test_detail_size_zero_not_read);
	tcase_add_test(tc, test_detail_truncated_terminated);
	tcase_add_test(tc, test_detail_null_accepted);
	tcase_add_test(tc, test_open_detail_size_one);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads_distinct_users);
	tcase_add_test(tc, test_threads_same_user);
	suite_add_tcase(s, tc);

	tc = tcase_create("exports");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exported_symbols_match_header);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(api_suite());
}
