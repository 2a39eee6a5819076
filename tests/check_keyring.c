/* Tests of the keyring calls against a real gnome-keyring-daemon: store,
 * lookup, clear and list, the item layout other Secret Service clients
 * see, and the failures when no session bus or no Secret Service is
 * there. The locked collection is tested in check_keyring_locked.c,
 * because unlocking may replace the daemon. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "flowcred.h"
#include "testutil.h"

#define CONNECTOR "ifs-keyring"
#define OTHER_CONNECTOR "ifs-keyring-other"
#define SECRET_TOOL "/usr/bin/secret-tool"
#define DBUS_DAEMON "/usr/bin/dbus-daemon"
/* Upper bound for a keyring failure that needs no timeout to detect. */
#define FAST_FAILURE_SECONDS 2.0

struct listed_item {
	char connector[128];
	char flow_user[128];
	char ifs_user[128];
	int has_password;
};

struct listing {
	struct listed_item items[256];
	size_t count;
	size_t stop_after;	/* 0: never stop */
};

static int collect_item(const char *connector, const char *flow_user,
			const char *ifs_user, int has_password, void *userdata)
{
	struct listing *listing = userdata;
	struct listed_item *item;

	ck_assert_uint_lt(listing->count, 256);
	item = &listing->items[listing->count++];
	snprintf(item->connector, sizeof(item->connector), "%s", connector);
	snprintf(item->flow_user, sizeof(item->flow_user), "%s", flow_user);
	snprintf(item->ifs_user, sizeof(item->ifs_user), "%s", ifs_user);
	item->has_password = has_password;
	return listing->stop_after && listing->count >= listing->stop_after;
}

/* Counts the listed items of one Flow user of one connector. */
static size_t count_listed(const struct listing *listing,
			   const char *connector, const char *flow_user)
{
	size_t count = 0;
	size_t i;

	for (i = 0; i < listing->count; i++)
		if (strcmp(listing->items[i].connector, connector) == 0 &&
		    strcmp(listing->items[i].flow_user, flow_user) == 0)
			count++;
	return count;
}

static const struct listed_item *find_listed(const struct listing *listing,
					     const char *connector,
					     const char *flow_user)
{
	size_t i;

	for (i = 0; i < listing->count; i++)
		if (strcmp(listing->items[i].connector, connector) == 0 &&
		    strcmp(listing->items[i].flow_user, flow_user) == 0)
			return &listing->items[i];
	return NULL;
}

static char *write_two_connectors(void)
{
	char *url = tu_token_url("test");
	char *path;

	path = tu_write_filef("flowcred.conf", 0600,
			      "[" CONNECTOR "]\n"
			      "token_url = %s\n"
			      "client_id = " TU_CLIENT_ID "\n"
			      "client_secret = " TU_CLIENT_SECRET "\n"
			      "ca_file = %s\n"
			      "\n"
			      "[" OTHER_CONNECTOR "]\n"
			      "token_url = %s\n"
			      "client_id = " TU_CLIENT_ID "\n"
			      "client_secret = " TU_CLIENT_SECRET "\n"
			      "ca_file = %s\n",
			      url, tu_env("FLOWCRED_TEST_CA"), url,
			      tu_env("FLOWCRED_TEST_CA"));
	free(url);
	return path;
}

static flowcred_ctx *open_keyring_context(void)
{
	char *path = write_two_connectors();
	flowcred_ctx *ctx = tu_open(path);

	free(path);
	return ctx;
}

static flowcred_status lookup(flowcred_ctx *ctx, const char *connector,
			      const char *flow_user, char *ifs_user,
			      size_t ifs_user_size, size_t *ifs_user_len,
			      int *has_password, char *detail)
{
	return flowcred_lookup_credentials(ctx, connector, flow_user,
					   ifs_user, ifs_user_size,
					   ifs_user_len, has_password, detail,
					   FLOWCRED_DETAIL_MAX);
}

START_TEST(test_store_lookup_clear_cycle)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *flow_user = tu_unique("cycle");
	char detail[FLOWCRED_DETAIL_MAX];
	char ifs_user[256];
	size_t ifs_user_len = 0;
	int has_password = -1;
	struct listing listing = { .count = 0 };
	const struct listed_item *item;
	flowcred_status status;

	tu_store(ctx, CONNECTOR, flow_user, TU_USER, TU_PASSWORD);

	status = lookup(ctx, CONNECTOR, flow_user, ifs_user, sizeof(ifs_user),
			&ifs_user_len, &has_password, detail);
	ck_assert_msg(status == FLOWCRED_OK, "lookup: %s: %s",
		      flowcred_strerror(status), detail);
	ck_assert_str_eq(ifs_user, TU_USER);
	ck_assert_uint_eq(ifs_user_len, strlen(TU_USER));
	ck_assert_int_eq(has_password, 1);

	status = flowcred_list_credentials(ctx, CONNECTOR, collect_item,
					   &listing, detail, sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK, "list: %s: %s",
		      flowcred_strerror(status), detail);
	ck_assert_uint_eq(count_listed(&listing, CONNECTOR, flow_user), 1);
	item = find_listed(&listing, CONNECTOR, flow_user);
	ck_assert_ptr_nonnull(item);
	ck_assert_str_eq(item->ifs_user, TU_USER);
	ck_assert_int_eq(item->has_password, 1);

	status = flowcred_clear_credentials(ctx, CONNECTOR, flow_user, detail,
					    sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK, "clear: %s: %s",
		      flowcred_strerror(status), detail);

	ck_assert_int_eq(lookup(ctx, CONNECTOR, flow_user, ifs_user,
				sizeof(ifs_user), &ifs_user_len,
				&has_password, detail),
			 FLOWCRED_NOT_FOUND);
	ck_assert_int_eq(flowcred_clear_credentials(ctx, CONNECTOR, flow_user,
						    detail, sizeof(detail)),
			 FLOWCRED_NOT_FOUND);

	listing.count = 0;
	ck_assert_int_eq(flowcred_list_credentials(ctx, CONNECTOR,
						   collect_item, &listing,
						   detail, sizeof(detail)),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_listed(&listing, CONNECTOR, flow_user), 0);

	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

START_TEST(test_store_replaces_item)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *flow_user = tu_unique("replace");
	char detail[FLOWCRED_DETAIL_MAX];
	char ifs_user[256];
	size_t ifs_user_len = 0;
	int has_password = -1;
	struct listing listing = { .count = 0 };
	struct json_object *requests;
	flowcred_status status;

	tu_store(ctx, CONNECTOR, flow_user, "OLD_IFS_USER", "old-password");
	tu_store(ctx, CONNECTOR, flow_user, TU_USER, TU_PASSWORD);

	status = lookup(ctx, CONNECTOR, flow_user, ifs_user, sizeof(ifs_user),
			&ifs_user_len, &has_password, detail);
	ck_assert_msg(status == FLOWCRED_OK, "lookup: %s: %s",
		      flowcred_strerror(status), detail);
	ck_assert_str_eq(ifs_user, TU_USER);

	ck_assert_int_eq(flowcred_list_credentials(ctx, CONNECTOR,
						   collect_item, &listing,
						   detail, sizeof(detail)),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_listed(&listing, CONNECTOR, flow_user), 1);

	/* The grant uses the new user and password. */
	tu_server_reset();
	status = tu_get_token(ctx, CONNECTOR, flow_user, NULL, NULL, 0, NULL,
			      NULL, detail);
	ck_assert_msg(status == FLOWCRED_OK, "get_token: %s: %s",
		      flowcred_strerror(status), detail);
	requests = tu_server_requests();
	ck_assert_str_eq(tu_json_string(tu_last_form(requests), "username"),
			 TU_USER);
	ck_assert_str_eq(tu_json_string(tu_last_form(requests), "password"),
			 TU_PASSWORD);
	json_object_put(requests);

	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

START_TEST(test_connectors_kept_apart)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *flow_user = tu_unique("apart");
	char detail[FLOWCRED_DETAIL_MAX];
	char ifs_user[256];
	size_t ifs_user_len = 0;
	int has_password = -1;

	tu_store(ctx, CONNECTOR, flow_user, "FIRST_USER", "pw-1");
	tu_store(ctx, OTHER_CONNECTOR, flow_user, "SECOND_USER", NULL);

	ck_assert_int_eq(lookup(ctx, CONNECTOR, flow_user, ifs_user,
				sizeof(ifs_user), &ifs_user_len,
				&has_password, detail),
			 FLOWCRED_OK);
	ck_assert_str_eq(ifs_user, "FIRST_USER");
	ck_assert_int_eq(has_password, 1);
	ck_assert_int_eq(lookup(ctx, OTHER_CONNECTOR, flow_user, ifs_user,
				sizeof(ifs_user), &ifs_user_len,
				&has_password, detail),
			 FLOWCRED_OK);
	ck_assert_str_eq(ifs_user, "SECOND_USER");
	ck_assert_int_eq(has_password, 0);

	ck_assert_int_eq(flowcred_clear_credentials(ctx, CONNECTOR, flow_user,
						    detail, sizeof(detail)),
			 FLOWCRED_OK);
	ck_assert_int_eq(lookup(ctx, OTHER_CONNECTOR, flow_user, ifs_user,
				sizeof(ifs_user), &ifs_user_len,
				&has_password, detail),
			 FLOWCRED_OK);
	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

START_TEST(test_interactive_item)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *flow_user = tu_unique("interactive");
	char detail[FLOWCRED_DETAIL_MAX];
	char ifs_user[256];
	size_t ifs_user_len = 0;
	int has_password = -1;
	struct json_object *requests;
	flowcred_status status;

	tu_store(ctx, CONNECTOR, flow_user, TU_SPECIAL_USER, NULL);

	status = lookup(ctx, CONNECTOR, flow_user, ifs_user, sizeof(ifs_user),
			&ifs_user_len, &has_password, detail);
	ck_assert_msg(status == FLOWCRED_OK, "lookup: %s: %s",
		      flowcred_strerror(status), detail);
	ck_assert_str_eq(ifs_user, TU_SPECIAL_USER);
	ck_assert_int_eq(has_password, 0);

	tu_server_reset();
	status = tu_get_token(ctx, CONNECTOR, flow_user, NULL, NULL, 0, NULL,
			      NULL, detail);
	ck_assert_int_eq(status, FLOWCRED_NOT_FOUND);
	requests = tu_server_requests();
	ck_assert_uint_eq(tu_count_token_requests(requests), 0);
	json_object_put(requests);

	status = tu_get_token(ctx, CONNECTOR, flow_user, TU_SPECIAL_PASSWORD,
			      NULL, 0, NULL, NULL, detail);
	ck_assert_msg(status == FLOWCRED_OK, "get_token: %s: %s",
		      flowcred_strerror(status), detail);
	requests = tu_server_requests();
	ck_assert_uint_eq(tu_count_token_requests(requests), 1);
	ck_assert_str_eq(tu_json_string(tu_last_form(requests), "username"),
			 TU_SPECIAL_USER);
	ck_assert_str_eq(tu_json_string(tu_last_form(requests), "password"),
			 TU_SPECIAL_PASSWORD);
	json_object_put(requests);

	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

START_TEST(test_typed_password_overrides_stored)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *flow_user = tu_unique("typed");
	char detail[FLOWCRED_DETAIL_MAX];
	struct json_object *requests;
	flowcred_status status;

	tu_store(ctx, CONNECTOR, flow_user, TU_USER, "stored-password");
	tu_server_reset();
	status = tu_get_token(ctx, CONNECTOR, flow_user, TU_PASSWORD, NULL, 0,
			      NULL, NULL, detail);
	ck_assert_msg(status == FLOWCRED_OK, "get_token: %s: %s",
		      flowcred_strerror(status), detail);
	requests = tu_server_requests();
	ck_assert_str_eq(tu_json_string(tu_last_form(requests), "password"),
			 TU_PASSWORD);
	json_object_put(requests);
	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

START_TEST(test_missing_item_not_found)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *flow_user = tu_unique("missing");
	char detail[FLOWCRED_DETAIL_MAX];
	char ifs_user[256];
	size_t ifs_user_len = 0;
	int has_password = -1;

	ck_assert_int_eq(lookup(ctx, CONNECTOR, flow_user, ifs_user,
				sizeof(ifs_user), &ifs_user_len,
				&has_password, detail),
			 FLOWCRED_NOT_FOUND);
	ck_assert_int_eq(tu_get_token(ctx, CONNECTOR, flow_user, NULL, NULL,
				      0, NULL, NULL, detail),
			 FLOWCRED_NOT_FOUND);
	ck_assert_int_eq(tu_get_token(ctx, CONNECTOR, flow_user, TU_PASSWORD,
				      NULL, 0, NULL, NULL, detail),
			 FLOWCRED_NOT_FOUND);
	ck_assert_msg(strstr(detail, flow_user) != NULL,
		      "detail does not name the Flow user: %s", detail);
	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

START_TEST(test_store_unknown_connector)
{
	flowcred_ctx *ctx = open_keyring_context();
	char detail[FLOWCRED_DETAIL_MAX];

	ck_assert_int_eq(flowcred_store_credentials(ctx, "no-such-connector",
						    "user", TU_USER,
						    TU_PASSWORD, detail,
						    sizeof(detail)),
			 FLOWCRED_NOT_FOUND);
	flowcred_close(ctx);
}
END_TEST

START_TEST(test_lookup_buffer_too_small)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *flow_user = tu_unique("small");
	char detail[FLOWCRED_DETAIL_MAX];
	char ifs_user[256];
	size_t ifs_user_len = 0;
	int has_password = -1;

	tu_store(ctx, CONNECTOR, flow_user, TU_USER, TU_PASSWORD);
	ck_assert_int_eq(lookup(ctx, CONNECTOR, flow_user, ifs_user,
				strlen(TU_USER), &ifs_user_len, &has_password,
				detail),
			 FLOWCRED_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(ifs_user_len, strlen(TU_USER) + 1);
	ck_assert_int_eq(lookup(ctx, CONNECTOR, flow_user, ifs_user,
				strlen(TU_USER) + 1, &ifs_user_len,
				&has_password, detail),
			 FLOWCRED_OK);
	ck_assert_str_eq(ifs_user, TU_USER);
	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

START_TEST(test_list_sorted_and_filtered)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *user_b = tu_unique("sort-b");
	char *user_a = tu_unique("sort-a");
	char detail[FLOWCRED_DETAIL_MAX];
	struct listing listing = { .count = 0 };
	size_t i;

	tu_store(ctx, OTHER_CONNECTOR, user_b, "IFS_B", "pw-b");
	tu_store(ctx, CONNECTOR, user_b, "IFS_B", NULL);
	tu_store(ctx, CONNECTOR, user_a, "IFS_A", "pw-a");

	ck_assert_int_eq(flowcred_list_credentials(ctx, NULL, collect_item,
						   &listing, detail,
						   sizeof(detail)),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_listed(&listing, CONNECTOR, user_a), 1);
	ck_assert_uint_eq(count_listed(&listing, CONNECTOR, user_b), 1);
	ck_assert_uint_eq(count_listed(&listing, OTHER_CONNECTOR, user_b), 1);
	for (i = 1; i < listing.count; i++) {
		const struct listed_item *prev = &listing.items[i - 1];
		const struct listed_item *cur = &listing.items[i];
		int order = strcmp(prev->connector, cur->connector);

		if (order == 0)
			order = strcmp(prev->flow_user, cur->flow_user);
		ck_assert_msg(order < 0,
			      "items %zu (%s, %s) and %zu (%s, %s) are out of order",
			      i - 1, prev->connector, prev->flow_user, i,
			      cur->connector, cur->flow_user);
	}

	listing.count = 0;
	ck_assert_int_eq(flowcred_list_credentials(ctx, OTHER_CONNECTOR,
						   collect_item, &listing,
						   detail, sizeof(detail)),
			 FLOWCRED_OK);
	ck_assert_uint_eq(count_listed(&listing, OTHER_CONNECTOR, user_b), 1);
	for (i = 0; i < listing.count; i++)
		ck_assert_str_eq(listing.items[i].connector, OTHER_CONNECTOR);

	flowcred_close(ctx);
	free(user_a);
	free(user_b);
}
END_TEST

START_TEST(test_list_stops_on_request)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *user_a = tu_unique("stop-a");
	char *user_b = tu_unique("stop-b");
	char detail[FLOWCRED_DETAIL_MAX];
	struct listing listing = { .count = 0, .stop_after = 1 };

	tu_store(ctx, CONNECTOR, user_a, TU_USER, TU_PASSWORD);
	tu_store(ctx, CONNECTOR, user_b, TU_USER, TU_PASSWORD);
	ck_assert_int_eq(flowcred_list_credentials(ctx, CONNECTOR,
						   collect_item, &listing,
						   detail, sizeof(detail)),
			 FLOWCRED_OK);
	ck_assert_uint_eq(listing.count, 1);
	flowcred_close(ctx);
	free(user_a);
	free(user_b);
}
END_TEST

START_TEST(test_item_layout_for_other_clients)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *flow_user = tu_unique("layout");
	char *out = NULL, *err = NULL;
	char *lookup_argv[] = {
		SECRET_TOOL, "lookup", "xdg:schema", "org.flowcred.Credential",
		"connector", CONNECTOR, "flow-user", flow_user, NULL
	};
	char *search_argv[] = {
		SECRET_TOOL, "search", "xdg:schema", "org.flowcred.Credential",
		"connector", CONNECTOR, "flow-user", flow_user, NULL
	};

	tu_store(ctx, CONNECTOR, flow_user, TU_SPECIAL_USER,
		 TU_SPECIAL_PASSWORD);

	ck_assert_int_eq(tu_run_program(lookup_argv, NULL, &out, &err, 30), 0);
	ck_assert_str_eq(out, TU_SPECIAL_PASSWORD);
	free(out);
	free(err);

	/* secret-tool search prints the attributes on stderr. */
	ck_assert_int_eq(tu_run_program(search_argv, NULL, &out, &err, 30), 0);
	ck_assert_ptr_nonnull(strstr(err, "attribute.ifs-user = "
				     TU_SPECIAL_USER "\n"));
	ck_assert_ptr_nonnull(strstr(err, "attribute.connector = "
				     CONNECTOR "\n"));
	ck_assert_ptr_null(strstr(err, TU_SPECIAL_PASSWORD));
	free(out);
	free(err);

	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

START_TEST(test_item_from_other_client_found)
{
	flowcred_ctx *ctx = open_keyring_context();
	char *flow_user = tu_unique("external");
	char detail[FLOWCRED_DETAIL_MAX];
	char ifs_user[256];
	size_t ifs_user_len = 0;
	int has_password = -1;
	char *store_argv[] = {
		SECRET_TOOL, "store", "--label=flowcred test item",
		"xdg:schema", "org.flowcred.Credential",
		"connector", CONNECTOR, "flow-user", flow_user,
		"ifs-user", TU_USER, NULL
	};
	flowcred_status status;

	/* secret-tool reads the secret from a pipe up to end of file. */
	ck_assert_int_eq(tu_run_program(store_argv, TU_PASSWORD, NULL, NULL,
					30), 0);
	status = lookup(ctx, CONNECTOR, flow_user, ifs_user, sizeof(ifs_user),
			&ifs_user_len, &has_password, detail);
	ck_assert_msg(status == FLOWCRED_OK, "lookup: %s: %s",
		      flowcred_strerror(status), detail);
	ck_assert_str_eq(ifs_user, TU_USER);
	ck_assert_int_eq(has_password, 1);

	tu_server_reset();
	status = tu_get_token(ctx, CONNECTOR, flow_user, NULL, NULL, 0, NULL,
			      NULL, detail);
	ck_assert_msg(status == FLOWCRED_OK, "get_token: %s: %s",
		      flowcred_strerror(status), detail);
	flowcred_close(ctx);
	free(flow_user);
}
END_TEST

/* Which call a child makes without a usable Secret Service. */
enum keyring_call {
	CALL_LOOKUP,
	CALL_STORE,
	CALL_GET_TOKEN,
	CALL_LIST,
};

struct keyring_failure {
	enum keyring_call call;
	const char *config_path;
	const char *bus_config;	/* NULL: no session bus at all */
};

static int ignore_item(const char *connector, const char *flow_user,
		       const char *ifs_user, int has_password, void *userdata)
{
	(void)connector;
	(void)flow_user;
	(void)ifs_user;
	(void)has_password;
	(void)userdata;
	return 0;
}

static void make_keyring_call(struct tu_child_result *result,
			      const struct keyring_failure *failure)
{
	flowcred_ctx *ctx = NULL;
	char ifs_user[256];
	char token[4096];
	size_t len = 0;
	int has_password = 0;
	struct timespec start;

	result->status = flowcred_open(failure->config_path, &ctx,
				       result->detail, sizeof(result->detail));
	if (result->status != FLOWCRED_OK) {
		snprintf(result->error, sizeof(result->error),
			 "flowcred_open: %s: %.180s",
			 flowcred_strerror(result->status), result->detail);
		return;
	}
	flowcred_set_log_func(ctx, NULL, NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	switch (failure->call) {
	case CALL_LOOKUP:
		result->status = flowcred_lookup_credentials(
			ctx, CONNECTOR, "nobus-user", ifs_user,
			sizeof(ifs_user), &len, &has_password, result->detail,
			sizeof(result->detail));
		break;
	case CALL_STORE:
		result->status = flowcred_store_credentials(
			ctx, CONNECTOR, "nobus-user", TU_USER, TU_PASSWORD,
			result->detail, sizeof(result->detail));
		break;
	case CALL_GET_TOKEN:
		result->status = flowcred_get_token(
			ctx, CONNECTOR, "nobus-user", TU_PASSWORD, token,
			sizeof(token), &len, NULL, NULL, result->detail,
			sizeof(result->detail));
		break;
	case CALL_LIST:
		result->status = flowcred_list_credentials(
			ctx, NULL, ignore_item, NULL, result->detail,
			sizeof(result->detail));
		break;
	}
	result->elapsed = tu_elapsed(&start);
	flowcred_close(ctx);
}

static void call_without_bus(struct tu_child_result *result, void *arg)
{
	const struct keyring_failure *failure = arg;
	char runtime_dir[1024];

	snprintf(runtime_dir, sizeof(runtime_dir), "%s/empty-runtime-XXXXXX",
		 getenv("FLOWCRED_TEST_DIR"));
	if (!mkdtemp(runtime_dir)) {
		snprintf(result->error, sizeof(result->error),
			 "mkdtemp: %s", strerror(errno));
		return;
	}
	unsetenv("DBUS_SESSION_BUS_ADDRESS");
	unsetenv("DISPLAY");
	unsetenv("WAYLAND_DISPLAY");
	setenv("XDG_RUNTIME_DIR", runtime_dir, 1);
	make_keyring_call(result, failure);
	rmdir(runtime_dir);
}

/* Starts a private dbus-daemon from bus_config and returns its address
 * in address; *pid receives its process ID. Returns 0 or -1. */
static int start_private_bus(const char *bus_config, char *address,
			     size_t address_size, pid_t *pid,
			     struct tu_child_result *result)
{
	char config_arg[1100];
	char fd_arg[32];
	size_t len = 0;
	int fds[2];

	if (pipe(fds) != 0) {
		snprintf(result->error, sizeof(result->error), "pipe: %s",
			 strerror(errno));
		return -1;
	}
	snprintf(config_arg, sizeof(config_arg), "--config-file=%s",
		 bus_config);
	snprintf(fd_arg, sizeof(fd_arg), "--print-address=%d", fds[1]);
	*pid = fork();
	if (*pid < 0) {
		snprintf(result->error, sizeof(result->error), "fork: %s",
			 strerror(errno));
		return -1;
	}
	if (*pid == 0) {
		close(fds[0]);
		execl(DBUS_DAEMON, DBUS_DAEMON, config_arg, "--nofork",
		      "--nopidfile", fd_arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	/* The daemon writes one line: the address, then a newline. */
	while (len + 1 < address_size) {
		ssize_t n = read(fds[0], address + len, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || address[len] == '\n')
			break;
		len++;
	}
	address[len] = '\0';
	close(fds[0]);
	if (len == 0) {
		snprintf(result->error, sizeof(result->error),
			 "%s printed no address", DBUS_DAEMON);
		return -1;
	}
	return 0;
}

static void call_on_bare_bus(struct tu_child_result *result, void *arg)
{
	const struct keyring_failure *failure = arg;
	char address[1024];
	pid_t bus_pid = -1;

	if (start_private_bus(failure->bus_config, address, sizeof(address),
			      &bus_pid, result) != 0)
		goto out;
	setenv("DBUS_SESSION_BUS_ADDRESS", address, 1);
	make_keyring_call(result, failure);
out:
	if (bus_pid > 0) {
		kill(bus_pid, SIGTERM);
		waitpid(bus_pid, NULL, 0);
	}
}

/* Writes the configuration of a session bus that has no service files,
 * so nothing can be activated on it: no Secret Service ever appears. */
static char *write_bare_bus_config(void)
{
	char *socket_dir = tu_unique("bus");
	char socket_path[1024];
	char *path;

	snprintf(socket_path, sizeof(socket_path), "%s/%s",
		 tu_env("FLOWCRED_TEST_DIR"), socket_dir);
	ck_assert_int_eq(mkdir(socket_path, 0700), 0);
	path = tu_write_filef("bus.conf", 0600,
			      "<busconfig>\n"
			      "  <type>session</type>\n"
			      "  <listen>unix:dir=%s</listen>\n"
			      "  <auth>EXTERNAL</auth>\n"
			      "  <policy context=\"default\">\n"
			      "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
			      "    <allow eavesdrop=\"true\"/>\n"
			      "    <allow own=\"*\"/>\n"
			      "  </policy>\n"
			      "</busconfig>\n",
			      socket_path);
	free(socket_dir);
	return path;
}

static const enum keyring_call failing_calls[] = {
	CALL_LOOKUP, CALL_STORE, CALL_GET_TOKEN, CALL_LIST,
};
static const char *const failing_call_names[] = {
	"lookup", "store", "get_token", "list",
};

#define FAILING_CALL_COUNT \
	((int)(sizeof(failing_calls) / sizeof(failing_calls[0])))

START_TEST(test_no_session_bus_unavailable)
{
	struct keyring_failure failure;
	struct tu_child_result result;
	char *path = write_two_connectors();
	const char *name = failing_call_names[_i];

	failure.call = failing_calls[_i];
	failure.config_path = path;
	failure.bus_config = NULL;
	tu_run_in_child(call_without_bus, &failure, &result);

	ck_assert_msg(result.status == FLOWCRED_UNAVAILABLE,
		      "%s: expected \"%s\", got \"%s\": %s", name,
		      flowcred_strerror(FLOWCRED_UNAVAILABLE),
		      flowcred_strerror(result.status), result.detail);
	ck_assert_msg(tu_contains_nocase(result.detail, "session bus"),
		      "%s: detail does not mention the session bus: %s", name,
		      result.detail);
	ck_assert_msg(result.elapsed < FAST_FAILURE_SECONDS,
		      "%s: failing took %.2f s", name, result.elapsed);
	free(path);
}
END_TEST

START_TEST(test_no_secret_service_unavailable)
{
	struct keyring_failure failure;
	struct tu_child_result result;
	char *path = write_two_connectors();
	char *bus_config = write_bare_bus_config();
	const char *name = failing_call_names[_i];

	failure.call = failing_calls[_i];
	failure.config_path = path;
	failure.bus_config = bus_config;
	tu_run_in_child(call_on_bare_bus, &failure, &result);

	ck_assert_msg(result.status == FLOWCRED_UNAVAILABLE,
		      "%s: expected \"%s\", got \"%s\": %s", name,
		      flowcred_strerror(FLOWCRED_UNAVAILABLE),
		      flowcred_strerror(result.status), result.detail);
	ck_assert_msg(tu_contains_nocase(result.detail, "Secret Service"),
		      "%s: detail does not name the Secret Service: %s", name,
		      result.detail);
	ck_assert_msg(result.elapsed < FAST_FAILURE_SECONDS,
		      "%s: failing took %.2f s", name, result.elapsed);
	free(bus_config);
	free(path);
}
END_TEST

static Suite *keyring_suite(void)
{
	Suite *s = suite_create("keyring");
	TCase *tc;

	tc = tcase_create("items");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_store_lookup_clear_cycle);
	tcase_add_test(tc, test_store_replaces_item);
	tcase_add_test(tc, test_connectors_kept_apart);
	tcase_add_test(tc, test_interactive_item);
	tcase_add_test(tc, test_typed_password_overrides_stored);
	tcase_add_test(tc, test_missing_item_not_found);
	tcase_add_test(tc, test_store_unknown_connector);
	tcase_add_test(tc, test_lookup_buffer_too_small);
	tcase_add_test(tc, test_list_sorted_and_filtered);
	tcase_add_test(tc, test_list_stops_on_request);
	suite_add_tcase(s, tc);

	tc = tcase_create("layout");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_item_layout_for_other_clients);
	tcase_add_test(tc, test_item_from_other_client_found);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_no_session_bus_unavailable, 0,
			    FAILING_CALL_COUNT);
	tcase_add_loop_test(tc, test_no_secret_service_unavailable, 0,
			    FAILING_CALL_COUNT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(keyring_suite());
}
