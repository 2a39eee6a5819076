/* Tests of the OAuth 2.0 password grant (RFC 6749 section 4.3) end to
 * end. The library reads a machine-workflow item from the keyring, sends
 * the grant to the Keycloak-shaped test server and classifies its
 * response. Expected statuses follow Keycloak's documented responses, and
 * the fields the server received are read from its /_test/requests
 * record. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "flowcred.h"
#include "testutil.h"

#define CONNECTOR "ifs-grant"
/* A token in the shape Keycloak issues, for canned responses. */
#define CANNED_TOKEN "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5uZWQifQ.c2lnbmF0dXJl"
#define JSON_HEADERS "{\"Content-Type\":\"application/json\"}"
/* Slack allowed between the test's clock readings and the library's. */
#define CLOCK_SLACK 3
/* Margin over a configured timeout within which a call must return. */
#define TIMEOUT_MARGIN 3.0

/* One password grant: the inputs, and the outputs of flowcred_get_token()
 * with the wall-clock time around the call. */
struct grant {
	const char *config_path;	/* NULL: write one from the fields */
	const char *realm;
	const char *client_id;
	const char *client_secret;
	const char *extra;		/* configuration lines to append */
	const char *ifs_user;
	const char *password;

	flowcred_status status;
	char token[8192];
	size_t token_len;
	char token_type[FLOWCRED_TOKEN_TYPE_MAX];
	int64_t expires_at;
	char detail[FLOWCRED_DETAIL_MAX];
	time_t started;
	time_t finished;
	double elapsed;
};

static void grant_init(struct grant *g, const char *realm)
{
	memset(g, 0, sizeof(*g));
	g->realm = realm;
	g->client_id = TU_CLIENT_ID;
	g->client_secret = TU_CLIENT_SECRET;
	g->ifs_user = TU_USER;
	g->password = TU_PASSWORD;
}

/* Stores a machine-workflow item for a new Flow user, clears the
 * server's recorded requests and obtains a token. */
static void run_grant(struct grant *g)
{
	char *flow_user = tu_unique("grant");
	char *path = NULL;
	struct timespec start;
	flowcred_ctx *ctx;

	if (!g->config_path)
		path = tu_write_config(CONNECTOR, g->realm, g->client_id,
				       g->client_secret, g->extra);
	ctx = tu_open(path ? path : g->config_path);
	tu_store(ctx, CONNECTOR, flow_user, g->ifs_user, g->password);
	tu_server_reset();

	memset(g->token, 'X', sizeof(g->token));
	g->started = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &start);
	g->status = flowcred_get_token(ctx, CONNECTOR, flow_user, NULL,
				       g->token, sizeof(g->token),
				       &g->token_len, g->token_type,
				       &g->expires_at, g->detail,
				       sizeof(g->detail));
	g->elapsed = tu_elapsed(&start);
	g->finished = time(NULL);

	flowcred_close(ctx);
	free(path);
	free(flow_user);
}

/* Writes a configuration whose token endpoint and CA file are given. */
static char *write_endpoint_config(const char *url, const char *ca_file,
				   const char *extra)
{
	return tu_write_filef("flowcred.conf", 0600,
			      "[" CONNECTOR "]\n"
			      "token_url = %s\n"
			      "client_id = " TU_CLIENT_ID "\n"
			      "client_secret = " TU_CLIENT_SECRET "\n"
			      "%s%s%s"
			      "%s",
			      url, ca_file ? "ca_file = " : "",
			      ca_file ? ca_file : "", ca_file ? "\n" : "",
			      extra ? extra : "");
}

static void assert_ok(const struct grant *g)
{
	ck_assert_msg(g->status == FLOWCRED_OK, "get_token: %s: %s",
		      flowcred_strerror(g->status), g->detail);
}

/* Returns the only token request the server recorded; aborts otherwise.
 * The caller releases *requests. */
static struct json_object *only_request(struct json_object **requests)
{
	*requests = tu_server_requests();
	return tu_only_token_request(*requests);
}

START_TEST(test_post_fields_byte_exact)
{
	struct json_object *requests, *request, *form;
	struct grant g;

	grant_init(&g, "test");
	g.client_id = TU_SPECIAL_CLIENT_ID;
	g.client_secret = TU_SPECIAL_CLIENT_SECRET;
	g.ifs_user = TU_SPECIAL_USER;
	g.password = TU_SPECIAL_PASSWORD;
	g.extra = "client_auth = post\n";
	run_grant(&g);
	assert_ok(&g);

	request = only_request(&requests);
	form = tu_last_form(requests);
	ck_assert_str_eq(tu_json_string(request, "client_auth_method"), "post");
	ck_assert_str_eq(tu_json_string(form, "client_id"),
			 TU_SPECIAL_CLIENT_ID);
	ck_assert_str_eq(tu_json_string(form, "client_secret"),
			 TU_SPECIAL_CLIENT_SECRET);
	ck_assert_str_eq(tu_json_string(form, "username"), TU_SPECIAL_USER);
	ck_assert_str_eq(tu_json_string(form, "password"),
			 TU_SPECIAL_PASSWORD);
	ck_assert_str_eq(tu_json_string(form, "scope"), TU_DEFAULT_SCOPE);
	ck_assert_ptr_null(tu_json_string(request, "authorization"));
	json_object_put(requests);
}
END_TEST

START_TEST(test_post_is_default)
{
	struct json_object *requests, *request;
	struct grant g;

	grant_init(&g, "test");
	run_grant(&g);
	assert_ok(&g);
	request = only_request(&requests);
	ck_assert_str_eq(tu_json_string(request, "client_auth_method"), "post");
	json_object_put(requests);
}
END_TEST

START_TEST(test_basic_fields_byte_exact)
{
	struct json_object *requests, *request, *form;
	const char *authorization;
	struct grant g;

	grant_init(&g, "test");
	g.client_id = TU_SPECIAL_CLIENT_ID;
	g.client_secret = TU_SPECIAL_CLIENT_SECRET;
	g.ifs_user = TU_SPECIAL_USER;
	g.password = TU_SPECIAL_PASSWORD;
	g.extra = "client_auth = basic\n";
	run_grant(&g);
	assert_ok(&g);

	request = only_request(&requests);
	form = tu_last_form(requests);
	authorization = tu_json_string(request, "authorization");
	ck_assert_str_eq(tu_json_string(request, "client_auth_method"),
			 "basic");
	ck_assert_ptr_nonnull(authorization);
	ck_assert_int_eq(strncmp(authorization, "Basic ", 6), 0);
	/* The server decodes the Basic credentials as RFC 6749 section
	 * 2.3.1 and Keycloak since 2022 require: Base64, then form
	 * decoding of the ID and the secret. */
	ck_assert_str_eq(tu_json_string(request, "client_id"),
			 TU_SPECIAL_CLIENT_ID);
	ck_assert_str_eq(tu_json_string(request, "client_secret"),
			 TU_SPECIAL_CLIENT_SECRET);
	ck_assert_ptr_null(tu_json_string(form, "client_secret"));
	ck_assert_str_eq(tu_json_string(form, "username"), TU_SPECIAL_USER);
	ck_assert_str_eq(tu_json_string(form, "password"),
			 TU_SPECIAL_PASSWORD);
	ck_assert_str_eq(tu_json_string(form, "scope"), TU_DEFAULT_SCOPE);
	json_object_put(requests);
}
END_TEST

START_TEST(test_default_scope_sent)
{
	struct json_object *requests;
	struct grant g;

	grant_init(&g, "test");
	run_grant(&g);
	assert_ok(&g);
	only_request(&requests);
	ck_assert_str_eq(tu_json_string(tu_last_form(requests), "scope"),
			 TU_DEFAULT_SCOPE);
	json_object_put(requests);
}
END_TEST

START_TEST(test_configured_scope_sent)
{
	struct json_object *requests;
	struct grant g;

	grant_init(&g, "test");
	g.extra = "scope = openid\n";
	run_grant(&g);
	assert_ok(&g);
	only_request(&requests);
	ck_assert_str_eq(tu_json_string(tu_last_form(requests), "scope"),
			 "openid");
	json_object_put(requests);
}
END_TEST

START_TEST(test_grant_type_password)
{
	struct json_object *requests, *request;
	struct grant g;

	grant_init(&g, "test");
	run_grant(&g);
	assert_ok(&g);
	request = only_request(&requests);
	ck_assert_str_eq(tu_json_string(tu_last_form(requests), "grant_type"),
			 "password");
	ck_assert_str_eq(tu_json_string(request, "method"), "POST");
	ck_assert_str_eq(tu_json_string(request, "content_type"),
			 "application/x-www-form-urlencoded");
	json_object_put(requests);
}
END_TEST

START_TEST(test_token_type_bearer)
{
	struct grant g;

	grant_init(&g, "test");
	run_grant(&g);
	assert_ok(&g);
	ck_assert_str_eq(g.token_type, "Bearer");
}
END_TEST

START_TEST(test_token_returned_whole)
{
	struct grant g;

	grant_init(&g, "test");
	run_grant(&g);
	assert_ok(&g);
	ck_assert_uint_eq(g.token_len, strlen(g.token));
	ck_assert_msg(tu_is_jwt_shaped(g.token), "token is not a JWT");
}
END_TEST

START_TEST(test_expiry_from_expires_in)
{
	struct grant g;

	grant_init(&g, "test");
	run_grant(&g);
	assert_ok(&g);
	ck_assert_int_ge(g.expires_at,
			 (int64_t)g.started + TU_FIXTURE_EXPIRES_IN - CLOCK_SLACK);
	ck_assert_int_le(g.expires_at,
			 (int64_t)g.finished + TU_FIXTURE_EXPIRES_IN + CLOCK_SLACK);
}
END_TEST

START_TEST(test_log_and_detail_hold_no_secret)
{
	struct grant g;
	const char *log;

	grant_init(&g, "test");
	g.client_id = TU_SPECIAL_CLIENT_ID;
	g.client_secret = TU_SPECIAL_CLIENT_SECRET;
	g.ifs_user = TU_SPECIAL_USER;
	g.password = TU_SPECIAL_PASSWORD;
	run_grant(&g);
	assert_ok(&g);

	log = tu_log_text();
	ck_assert_ptr_null(strstr(log, TU_SPECIAL_PASSWORD));
	ck_assert_ptr_null(strstr(log, TU_SPECIAL_CLIENT_SECRET));
	ck_assert_ptr_null(strstr(log, g.token));
	ck_assert_ptr_null(strstr(g.detail, TU_SPECIAL_PASSWORD));
	ck_assert_ptr_null(strstr(g.detail, g.token));
}
END_TEST

/* Keycloak's responses to failed password grants and the status each
 * must give. needles are words the detail must contain, ignoring case; a '|'
 * separates alternatives, such as the IAM console's label of a field and
 * the configuration key that sets it. */
struct refusal {
	const char *name;
	const char *client_id;
	const char *client_secret;
	const char *extra;
	const char *ifs_user;
	const char *password;
	flowcred_status expected;
	const char *needles[2];
};

static const struct refusal refusals[] = {
	{ "wrong password", TU_CLIENT_ID, TU_CLIENT_SECRET, NULL,
	  TU_USER, "wrong-password", FLOWCRED_DENIED, { NULL } },
	{ "unknown user", TU_CLIENT_ID, TU_CLIENT_SECRET, NULL,
	  "NO_SUCH_USER", TU_PASSWORD, FLOWCRED_DENIED, { NULL } },
	{ "brute-force lockout", TU_CLIENT_ID, TU_CLIENT_SECRET, NULL,
	  "LOCKED_USER", TU_PASSWORD, FLOWCRED_DENIED, { NULL } },
	{ "one-time code missing", TU_CLIENT_ID, TU_CLIENT_SECRET, NULL,
	  "OTP_USER", TU_PASSWORD, FLOWCRED_DENIED, { NULL } },
	{ "user disabled", TU_CLIENT_ID, TU_CLIENT_SECRET, NULL,
	  "DISABLED_USER", TU_PASSWORD, FLOWCRED_ACCOUNT, { "disabled" } },
	{ "required actions pending", TU_CLIENT_ID, TU_CLIENT_SECRET, NULL,
	  "NOTSETUP_USER", TU_PASSWORD, FLOWCRED_ACCOUNT,
	  { "not fully set up" } },
	{ "wrong client secret", TU_CLIENT_ID, "wrong-secret", NULL,
	  TU_USER, TU_PASSWORD, FLOWCRED_CLIENT_REJECTED,
	  { "Client ID|client_id", "Secret" } },
	{ "unknown client", "NC_NoSuchClient", TU_CLIENT_SECRET, NULL,
	  TU_USER, TU_PASSWORD, FLOWCRED_CLIENT_REJECTED,
	  { "Client ID|client_id" } },
	{ "client ID in wrong case", "nc_flowpasscred", TU_CLIENT_SECRET, NULL,
	  TU_USER, TU_PASSWORD, FLOWCRED_CLIENT_REJECTED, { NULL } },
	{ "direct access grants off", TU_NODIRECT_CLIENT_ID,
	  "nodirect-secret-1", NULL, TU_USER, TU_PASSWORD,
	  FLOWCRED_CLIENT_REJECTED, { "Direct Access Grants" } },
	{ "invalid scope", TU_CLIENT_ID, TU_CLIENT_SECRET,
	  "scope = openid no-such-scope\n", TU_USER, TU_PASSWORD,
	  FLOWCRED_CLIENT_REJECTED, { "no-such-scope" } },
};

#define REFUSAL_COUNT ((int)(sizeof(refusals) / sizeof(refusals[0])))

/* Returns 1 when detail contains one of the '|'-separated alternatives,
 * ignoring case. */
static int mentions(const char *detail, const char *alternatives)
{
	char copy[128];
	char *word, *saveptr = NULL;

	ck_assert_uint_lt(strlen(alternatives), sizeof(copy));
	snprintf(copy, sizeof(copy), "%s", alternatives);
	for (word = strtok_r(copy, "|", &saveptr); word;
	     word = strtok_r(NULL, "|", &saveptr))
		if (tu_contains_nocase(detail, word))
			return 1;
	return 0;
}

static void check_refusal(const char *realm, const struct refusal *r)
{
	struct grant g;
	size_t i;

	grant_init(&g, realm);
	g.client_id = r->client_id;
	g.client_secret = r->client_secret;
	g.extra = r->extra;
	g.ifs_user = r->ifs_user;
	g.password = r->password;
	run_grant(&g);

	ck_assert_msg(g.status == r->expected,
		      "realm %s, %s: expected \"%s\", got \"%s\": %s", realm,
		      r->name, flowcred_strerror(r->expected),
		      flowcred_strerror(g.status), g.detail);
	for (i = 0; i < 2 && r->needles[i]; i++)
		ck_assert_msg(mentions(g.detail, r->needles[i]),
			      "realm %s, %s: detail does not mention \"%s\": %s",
			      realm, r->name, r->needles[i], g.detail);
	ck_assert_msg(strstr(g.detail, r->password) == NULL,
		      "realm %s, %s: detail contains the password", realm,
		      r->name);
	ck_assert_msg(strstr(g.detail, r->client_secret) == NULL,
		      "realm %s, %s: detail contains the client secret",
		      realm, r->name);
	/* Outputs are written only on success. */
	ck_assert_msg(g.token[0] == 'X',
		      "realm %s, %s: token buffer written on failure", realm,
		      r->name);
}

START_TEST(test_keycloak_refusal)
{
	check_refusal("test", &refusals[_i]);
}
END_TEST

START_TEST(test_old_keycloak_refusal)
{
	check_refusal("old", &refusals[_i]);
}
END_TEST

/* Canned responses of the token endpoint and the status each must give.
 * lifetime is the expected expires_at - now for an accepted response. */
struct canned_response {
	const char *name;
	int http_status;
	const char *headers;
	const char *body;
	const char *extra;
	flowcred_status expected;
	int lifetime;
};

static const struct canned_response canned_responses[] = {
	{ "HTTP 429", 429, JSON_HEADERS,
	  "{\"error\":\"too_many_requests\"}", NULL, FLOWCRED_TRY_AGAIN, 0 },
	{ "HTTP 429 with Retry-After", 429,
	  "{\"Retry-After\":\"30\",\"Content-Type\":\"text/plain\"}",
	  "Too Many Requests", NULL, FLOWCRED_TRY_AGAIN, 0 },
	{ "HTTP 500", 500, JSON_HEADERS, "{\"error\":\"unknown_error\"}", NULL,
	  FLOWCRED_UNAVAILABLE, 0 },
	{ "HTTP 503", 503, "{\"Content-Type\":\"text/html\"}",
	  "<html><body>Service Unavailable</body></html>", NULL,
	  FLOWCRED_UNAVAILABLE, 0 },
	{ "access_token missing", 200, JSON_HEADERS,
	  "{\"token_type\":\"Bearer\",\"expires_in\":180}", NULL,
	  FLOWCRED_PROTOCOL, 0 },
	{ "access_token null", 200, JSON_HEADERS,
	  "{\"access_token\":null,\"token_type\":\"Bearer\",\"expires_in\":180}",
	  NULL, FLOWCRED_PROTOCOL, 0 },
	{ "access_token empty", 200, JSON_HEADERS,
	  "{\"access_token\":\"\",\"token_type\":\"Bearer\",\"expires_in\":180}",
	  NULL, FLOWCRED_PROTOCOL, 0 },
	{ "access_token number", 200, JSON_HEADERS,
	  "{\"access_token\":42,\"token_type\":\"Bearer\",\"expires_in\":180}",
	  NULL, FLOWCRED_PROTOCOL, 0 },
	{ "access_token object", 200, JSON_HEADERS,
	  "{\"access_token\":{},\"token_type\":\"Bearer\",\"expires_in\":180}",
	  NULL, FLOWCRED_PROTOCOL, 0 },
	{ "token_type mac", 200, JSON_HEADERS,
	  "{\"access_token\":\"" CANNED_TOKEN "\",\"token_type\":\"mac\","
	  "\"expires_in\":180}", NULL, FLOWCRED_PROTOCOL, 0 },
	{ "token_type lower case", 200, JSON_HEADERS,
	  "{\"access_token\":\"" CANNED_TOKEN "\",\"token_type\":\"bearer\","
	  "\"expires_in\":180}", NULL, FLOWCRED_OK, 180 },
	{ "expires_in string", 200, JSON_HEADERS,
	  "{\"access_token\":\"" CANNED_TOKEN "\",\"token_type\":\"Bearer\","
	  "\"expires_in\":\"300\"}", NULL, FLOWCRED_OK, 300 },
	{ "expires_in absent", 200, JSON_HEADERS,
	  "{\"access_token\":\"" CANNED_TOKEN "\",\"token_type\":\"Bearer\"}",
	  "default_expires_in = 77\n", FLOWCRED_OK, 77 },
	{ "expires_in zero", 200, JSON_HEADERS,
	  "{\"access_token\":\"" CANNED_TOKEN "\",\"token_type\":\"Bearer\","
	  "\"expires_in\":0}", NULL, FLOWCRED_PROTOCOL, 0 },
	{ "expires_in negative", 200, JSON_HEADERS,
	  "{\"access_token\":\"" CANNED_TOKEN "\",\"token_type\":\"Bearer\","
	  "\"expires_in\":-5}", NULL, FLOWCRED_PROTOCOL, 0 },
	{ "expires_in not a number", 200, JSON_HEADERS,
	  "{\"access_token\":\"" CANNED_TOKEN "\",\"token_type\":\"Bearer\","
	  "\"expires_in\":\"abc\"}", NULL, FLOWCRED_PROTOCOL, 0 },
	{ "HTML page with 200", 200, "{\"Content-Type\":\"text/html\"}",
	  "<!DOCTYPE html><html><body>Sign in</body></html>", NULL,
	  FLOWCRED_UNAVAILABLE, 0 },
};

#define CANNED_COUNT \
	((int)(sizeof(canned_responses) / sizeof(canned_responses[0])))

START_TEST(test_canned_response)
{
	const struct canned_response *c = &canned_responses[_i];
	char *realm = tu_unique("canned");
	struct grant g;

	tu_server_put_canned(realm, c->http_status, c->headers, c->body);
	grant_init(&g, realm);
	g.extra = c->extra;
	run_grant(&g);

	ck_assert_msg(g.status == c->expected,
		      "%s: expected \"%s\", got \"%s\": %s", c->name,
		      flowcred_strerror(c->expected),
		      flowcred_strerror(g.status), g.detail);
	if (c->expected == FLOWCRED_OK) {
		ck_assert_str_eq(g.token, CANNED_TOKEN);
		ck_assert_uint_eq(g.token_len, strlen(CANNED_TOKEN));
		ck_assert_str_eq(g.token_type, "Bearer");
		ck_assert_int_ge(g.expires_at, (int64_t)g.started +
				 c->lifetime - CLOCK_SLACK);
		ck_assert_int_le(g.expires_at, (int64_t)g.finished +
				 c->lifetime + CLOCK_SLACK);
	} else {
		ck_assert_msg(g.token[0] == 'X',
			      "%s: token buffer written on failure", c->name);
		ck_assert_msg(strstr(g.detail, CANNED_TOKEN) == NULL,
			      "%s: detail contains the token", c->name);
	}
	free(realm);
}
END_TEST

START_TEST(test_connection_refused_unavailable)
{
	char url[256];
	char *path;
	struct grant g;

	snprintf(url, sizeof(url),
		 "https://127.0.0.1:%d/auth/realms/test/protocol/openid-connect/token",
		 tu_closed_port());
	path = write_endpoint_config(url, tu_env("FLOWCRED_TEST_CA"), NULL);
	grant_init(&g, "test");
	g.config_path = path;
	run_grant(&g);
	ck_assert_int_eq(g.status, FLOWCRED_UNAVAILABLE);
	free(path);
}
END_TEST

START_TEST(test_hang_times_out)
{
	char *realm = tu_unique("hang");
	struct grant g;

	tu_server_put_hang(realm);
	grant_init(&g, realm);
	g.extra = "timeout = 2\n";
	run_grant(&g);
	ck_assert_int_eq(g.status, FLOWCRED_UNAVAILABLE);
	ck_assert_msg(g.elapsed < 2.0 + TIMEOUT_MARGIN,
		      "the call took %.1f s with timeout = 2", g.elapsed);
	free(realm);
}
END_TEST

START_TEST(test_unknown_ca_unavailable)
{
	char ca_file[1024];
	char *url = tu_token_url("test");
	char *path;
	struct grant g;

	snprintf(ca_file, sizeof(ca_file), "%s/other-ca.pem",
		 tu_env("FLOWCRED_TEST_CERTS"));
	path = write_endpoint_config(url, ca_file, NULL);
	grant_init(&g, "test");
	g.config_path = path;
	run_grant(&g);
	ck_assert_int_eq(g.status, FLOWCRED_UNAVAILABLE);
	free(path);
	free(url);
}
END_TEST

START_TEST(test_system_ca_rejects_test_server)
{
	char *url = tu_token_url("test");
	char *path;
	struct grant g;

	/* Without ca_file the system's CAs apply, and none signed the test
	 * server's certificate. */
	path = write_endpoint_config(url, NULL, NULL);
	grant_init(&g, "test");
	g.config_path = path;
	run_grant(&g);
	ck_assert_int_eq(g.status, FLOWCRED_UNAVAILABLE);
	free(path);
	free(url);
}
END_TEST

START_TEST(test_redirect_not_followed)
{
	char *realm = tu_unique("redirect");
	char *target = tu_token_url("test");
	struct json_object *location = json_object_new_object();
	struct json_object *requests;
	struct grant g;

	json_object_object_add(location, "Location",
			       json_object_new_string(target));
	tu_server_put_canned(realm, 302,
			     json_object_to_json_string(location), "");
	grant_init(&g, realm);
	run_grant(&g);

	ck_assert_int_eq(g.status, FLOWCRED_UNAVAILABLE);
	ck_assert_msg(strstr(g.detail, target) != NULL,
		      "detail does not name the location: %s", g.detail);
	/* Following the redirect would add a request to realm "test". */
	requests = tu_server_requests();
	ck_assert_uint_eq(tu_count_token_requests(requests), 1);
	ck_assert_str_eq(tu_json_string(tu_only_token_request(requests),
					"realm"),
			 realm);
	json_object_put(requests);
	json_object_put(location);
	free(target);
	free(realm);
}
END_TEST

START_TEST(test_buffer_too_small_reports_size)
{
	char *realm = tu_unique("fixed-token");
	char *path;
	char token[256];
	char detail[FLOWCRED_DETAIL_MAX];
	size_t token_len = 0;
	size_t i;
	flowcred_ctx *ctx;
	char *flow_user = tu_unique("small");
	flowcred_status status;

	tu_server_put_canned(realm, 200, JSON_HEADERS,
			     "{\"access_token\":\"" CANNED_TOKEN "\","
			     "\"token_type\":\"Bearer\",\"expires_in\":180}");
	path = tu_write_config(CONNECTOR, realm, TU_CLIENT_ID,
			       TU_CLIENT_SECRET, NULL);
	ctx = tu_open(path);
	tu_store(ctx, CONNECTOR, flow_user, TU_USER, TU_PASSWORD);

	/* One byte short: the token fits but its NUL does not. */
	memset(token, 'X', sizeof(token));
	status = flowcred_get_token(ctx, CONNECTOR, flow_user, NULL, token,
				    strlen(CANNED_TOKEN), &token_len, NULL,
				    NULL, detail, sizeof(detail));
	ck_assert_int_eq(status, FLOWCRED_BUFFER_TOO_SMALL);
	ck_assert_uint_eq(token_len, strlen(CANNED_TOKEN) + 1);
	for (i = 0; i < sizeof(token); i++)
		ck_assert_msg(token[i] == 'X' || token[i] == '\0',
			      "byte %zu of the buffer was overwritten with token data",
			      i);

	status = flowcred_get_token(ctx, CONNECTOR, flow_user, NULL, token,
				    token_len, &token_len, NULL, NULL, detail,
				    sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK, "second call: %s: %s",
		      flowcred_strerror(status), detail);
	ck_assert_str_eq(token, CANNED_TOKEN);
	ck_assert_uint_eq(token_len, strlen(CANNED_TOKEN));

	flowcred_close(ctx);
	free(flow_user);
	free(path);
	free(realm);
}
END_TEST

START_TEST(test_buffer_too_small_real_token)
{
	char *path = tu_write_config(CONNECTOR, "test", TU_CLIENT_ID,
				     TU_CLIENT_SECRET, NULL);
	char *flow_user = tu_unique("small-real");
	char detail[FLOWCRED_DETAIL_MAX];
	char small[16];
	char *token;
	size_t needed = 0;
	size_t token_len = 0;
	flowcred_status status;
	flowcred_ctx *ctx;

	ctx = tu_open(path);
	tu_store(ctx, CONNECTOR, flow_user, TU_USER, TU_PASSWORD);

	status = flowcred_get_token(ctx, CONNECTOR, flow_user, NULL, small,
				    sizeof(small), &needed, NULL, NULL, detail,
				    sizeof(detail));
	ck_assert_int_eq(status, FLOWCRED_BUFFER_TOO_SMALL);
	ck_assert_uint_gt(needed, sizeof(small));

	/* The fixture issues tokens of one length for one user, so a
	 * second grant fits the size the first reported. */
	token = malloc(needed);
	ck_assert_ptr_nonnull(token);
	status = flowcred_get_token(ctx, CONNECTOR, flow_user, NULL, token,
				    needed, &token_len, NULL, NULL, detail,
				    sizeof(detail));
	ck_assert_msg(status == FLOWCRED_OK, "second call: %s: %s",
		      flowcred_strerror(status), detail);
	ck_assert_uint_eq(strlen(token) + 1, needed);
	ck_assert_uint_eq(token_len, strlen(token));

	explicit_bzero(token, needed);
	free(token);
	flowcred_close(ctx);
	free(flow_user);
	free(path);
}
END_TEST

static void grant_through_proxy_variables(struct tu_child_result *result,
					  void *arg)
{
	struct grant *g = arg;
	char proxy[64];
	struct timespec start;

	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d",
		 tu_closed_port());
	setenv("https_proxy", proxy, 1);
	setenv("HTTPS_PROXY", proxy, 1);
	setenv("all_proxy", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");

	clock_gettime(CLOCK_MONOTONIC, &start);
	run_grant(g);
	result->elapsed = tu_elapsed(&start);
	result->status = g->status;
	snprintf(result->detail, sizeof(result->detail), "%s", g->detail);
}

START_TEST(test_proxy_environment_ignored)
{
	struct tu_child_result result;
	struct grant g;

	grant_init(&g, "test");
	tu_run_in_child(grant_through_proxy_variables, &g, &result);
	ck_assert_msg(result.status == FLOWCRED_OK, "get_token: %s: %s",
		      flowcred_strerror(result.status), result.detail);
}
END_TEST

static Suite *grant_suite(void)
{
	Suite *s = suite_create("grant");
	TCase *tc;

	tc = tcase_create("request");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_post_fields_byte_exact);
	tcase_add_test(tc, test_post_is_default);
	tcase_add_test(tc, test_basic_fields_byte_exact);
	tcase_add_test(tc, test_default_scope_sent);
	tcase_add_test(tc, test_configured_scope_sent);
	tcase_add_test(tc, test_grant_type_password);
	tcase_add_test(tc, test_proxy_environment_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_token_type_bearer);
	tcase_add_test(tc, test_token_returned_whole);
	tcase_add_test(tc, test_expiry_from_expires_in);
	tcase_add_test(tc, test_log_and_detail_hold_no_secret);
	tcase_add_loop_test(tc, test_canned_response, 0, CANNED_COUNT);
	tcase_add_test(tc, test_buffer_too_small_reports_size);
	tcase_add_test(tc, test_buffer_too_small_real_token);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_keycloak_refusal, 0, REFUSAL_COUNT);
	tcase_add_loop_test(tc, test_old_keycloak_refusal, 0, REFUSAL_COUNT);
	suite_add_tcase(s, tc);

	tc = tcase_create("transport");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_connection_refused_unavailable);
	tcase_add_test(tc, test_hang_times_out);
	tcase_add_test(tc, test_unknown_ca_unavailable);
	tcase_add_test(tc, test_system_ca_rejects_test_server);
	tcase_add_test(tc, test_redirect_not_followed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_run_suite(grant_suite());
}
