/* Fault tests of the token endpoint: redirects, proxy pages, broken,
 * oversized, slow and compressed bodies, JSON of the wrong shape, cut
 * connections, TLS failures, refused, silent and unresolvable hosts.
 *
 * Each case must end in a classified status (or a token where the response
 * is valid after all) within the configured timeout, with the HTTP status
 * and a printable preview in the detail where there is one, and with no
 * password, client secret or token in the detail or the debug log.
 * Answers come from canned realms of the harness's token server and from
 * tests/fault/fault-server.js.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "faultutil.h"

#define TOKEN_BUFFER_SIZE 8192

/* A bearer token of RFC 6750 b64token characters, long enough that any
 * 16-byte run of it identifies it. */
static char canned_token[301];
static char token_body[1024];

/* Result of one flowcred_get_token() call on a fresh context. */
struct outcome {
	flowcred_status status;
	double elapsed;
	char detail[FLOWCRED_DETAIL_MAX];
	char token[TOKEN_BUFFER_SIZE];
};

static void make_canned_token(void)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned long state = 0x5eed1234UL;
	size_t i;

	for (i = 0; i < sizeof(canned_token) - 1; i++) {
		state = state * 1103515245UL + 12345UL;
		canned_token[i] = alphabet[(state >> 16) % 64];
	}
	canned_token[sizeof(canned_token) - 1] = '\0';
	snprintf(token_body, sizeof(token_body),
		 "{\"access_token\":\"%s\",\"expires_in\":300,"
		 "\"refresh_expires_in\":1800,\"token_type\":\"Bearer\","
		 "\"not-before-policy\":0,\"scope\":\"openid microprofile-jwt\"}",
		 canned_token);
}

static void setup(void)
{
	make_canned_token();
	fu_add_secret(canned_token);
}

/* Calls flowcred_get_token() once with a typed password on a fresh
 * context whose connector uses url, then checks the detail and the log
 * for secrets. extra goes into the connector group. */
static void fetch(const char *url, const char *extra, struct outcome *o)
{
	char *config = fu_write_config(url, extra);
	char *flow_user = tu_unique("flow");
	flowcred_ctx *ctx = fu_open(config);
	struct timespec start;
	size_t token_len = 0;

	memset(o, 0, sizeof(*o));
	tu_store(ctx, FU_CONNECTOR, flow_user, TU_USER, NULL);
	start = fu_start();
	o->status = flowcred_get_token(ctx, FU_CONNECTOR, flow_user,
				       TU_PASSWORD, o->token, sizeof(o->token),
				       &token_len, NULL, NULL, o->detail,
				       sizeof(o->detail));
	o->elapsed = fu_elapsed(start);
	fprintf(stderr, "fetch: %s after %.3f s: %s\n",
		flowcred_strerror(o->status), o->elapsed, o->detail);
	fu_assert_clean(o->detail);
	flowcred_close(ctx);
	fu_assert_no_secret(fu_log_text(), "the log");
	free(flow_user);
	free(config);
}

/* Installs a canned realm and fetches a token from it. headers is a JSON
 * object text or NULL. */
static void fetch_canned(int status, const char *headers, const char *body,
			 const char *extra, struct outcome *o)
{
	char *realm = tu_unique("canned");
	char *url = tu_token_url(realm);

	tu_server_put_canned(realm, status, headers, body);
	fetch(url, extra, o);
	free(url);
	free(realm);
}

static void fetch_fault(const char *mode, int status, const char *type,
			const char *body, const char *query,
			const char *extra, struct outcome *o)
{
	char *url = fu_fault_url(mode, status, type, body, query);

	fetch(url, extra, o);
	free(url);
}

static void assert_within_timeout(const struct outcome *o)
{
	ck_assert_msg(o->elapsed < FU_TIMEOUT_S + FU_SLACK_S,
		      "the call took %.2f s, more than timeout %d s + %.1f s",
		      o->elapsed, FU_TIMEOUT_S, FU_SLACK_S);
}

static void assert_fast(const struct outcome *o)
{
	ck_assert_msg(o->elapsed < FU_FAST_S,
		      "the call took %.2f s, more than %.1f s", o->elapsed,
		      FU_FAST_S);
}

static void assert_canned_token(const struct outcome *o)
{
	ck_assert_msg(o->status == FLOWCRED_OK, "expected a token, got %s: %s",
		      flowcred_strerror(o->status), o->detail);
	ck_assert_str_eq(o->token, canned_token);
}

static void assert_unavailable(const struct outcome *o)
{
	ck_assert_msg(o->status == FLOWCRED_UNAVAILABLE,
		      "expected UNAVAILABLE, got %s: %s",
		      flowcred_strerror(o->status), o->detail);
}

static void assert_detail_has(const struct outcome *o, const char *needle)
{
	ck_assert_msg(tu_contains_nocase(o->detail, needle),
		      "the detail does not mention '%s': %s", needle, o->detail);
}

static void assert_http_status_named(const struct outcome *o, int status)
{
	char text[32];

	snprintf(text, sizeof(text), "HTTP %d", status);
	assert_detail_has(o, text);
}

/* Counts the recorded requests to the fixture realm "test". */
static size_t requests_to_test_realm(void)
{
	struct json_object *requests = tu_server_requests();
	size_t count = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(requests); i++) {
		const char *realm = tu_json_string(
			json_object_array_get_idx(requests, i), "realm");

		if (realm != NULL && strcmp(realm, "test") == 0)
			count++;
	}
	json_object_put(requests);
	return count;
}

/* --- redirects --------------------------------------------------------- */

static const int redirect_codes[] = { 301, 302, 303, 307, 308 };

/* The Location is the fixture realm's real token endpoint: following it,
 * with 307 and 308 even as a POST, would return a token. */
START_TEST(test_redirect_not_followed)
{
	int code = redirect_codes[_i];
	char *target = tu_token_url("test");
	char *headers;
	struct outcome o;

	ck_assert_int_ne(asprintf(&headers, "{\"Location\":\"%s\"}", target), -1);
	tu_server_reset();
	fetch_canned(code, headers, "", NULL, &o);
	assert_unavailable(&o);
	assert_http_status_named(&o, code);
	assert_detail_has(&o, "/auth/realms/test/protocol/openid-connect/token");
	ck_assert_uint_eq(requests_to_test_realm(), 0);
	assert_fast(&o);
	free(headers);
	free(target);
}
END_TEST

START_TEST(test_redirect_without_location)
{
	struct outcome o;

	fetch_canned(302, NULL, "", NULL, &o);
	assert_unavailable(&o);
	assert_http_status_named(&o, 302);
}
END_TEST

/* --- proxy pages --------------------------------------------------------- */

struct proxy_page {
	int status;
	const char *type;
	const char *body;
	const char *preview;	/* expected in the detail, or NULL */
};

static const struct proxy_page proxy_pages[] = {
	{ 200, "{\"Content-Type\":\"text/html\"}",
	  "<html><head><title>Proxy login</title></head><body>Sign in to "
	  "the corporate proxy</body></html>", "Proxy login" },
	{ 403, "{\"Content-Type\":\"text/plain\"}",
	  "Forbidden by proxy policy\r\n", "Forbidden by proxy policy" },
	{ 502, "{\"Content-Type\":\"text/html\"}",
	  "<html><body><h1>502 Bad Gateway</h1></body></html>", NULL },
	{ 200, "{\"Content-Type\":\"text/plain; charset=utf-8\"}",
	  "Terminal \x1b[2J\x1b[31mred\r\nsecond line\x7f\x01", "Terminal" },
	{ 403, NULL, "blocked\n", "blocked" },
};

START_TEST(test_proxy_page_unavailable)
{
	const struct proxy_page *page = &proxy_pages[_i];
	struct outcome o;

	fetch_canned(page->status, page->type, page->body, NULL, &o);
	assert_unavailable(&o);
	assert_http_status_named(&o, page->status);
	if (page->preview != NULL)
		assert_detail_has(&o, page->preview);
	ck_assert(fu_printable(o.detail));
	assert_fast(&o);
}
END_TEST

/* A proxy or a server that echoes the request it rejected: the password
 * the library just sent must not be quoted back. */
struct echo_page {
	int status;
	const char *headers;
	const char *body;
};

static const struct echo_page echo_pages[] = {
	{ 400, "{\"Content-Type\":\"text/html\"}",
	  "<html>Request rejected: username=" TU_USER " password=" TU_PASSWORD
	  "</html>" },
	{ 400, "{\"Content-Type\":\"application/json\"}",
	  "{\"error\":\"invalid_request\",\"error_description\":\"client "
	  TU_CLIENT_SECRET " password " TU_PASSWORD "\"}" },
};

START_TEST(test_echoed_secret_not_quoted)
{
	const struct echo_page *page = &echo_pages[_i];
	struct outcome o;

	fetch_canned(page->status, page->headers, page->body, NULL, &o);
	ck_assert_msg(o.status == FLOWCRED_UNAVAILABLE ||
		      o.status == FLOWCRED_PROTOCOL,
		      "expected UNAVAILABLE or PROTOCOL, got %s: %s",
		      flowcred_strerror(o.status), o.detail);
	assert_http_status_named(&o, page->status);
}
END_TEST

/* --- bodies -------------------------------------------------------------- */

START_TEST(test_empty_body_unavailable)
{
	struct outcome o;

	fetch_canned(200, "{\"Content-Type\":\"application/json\"}", "", NULL,
		     &o);
	assert_unavailable(&o);
	assert_http_status_named(&o, 200);
}
END_TEST

/* The body breaks off inside the token: no part of it may be quoted. */
START_TEST(test_truncated_json_hides_token)
{
	char body[sizeof(token_body)];
	struct outcome o;

	snprintf(body, sizeof(body), "%.*s", 120, token_body);
	fetch_canned(200, "{\"Content-Type\":\"application/json\"}", body,
		     NULL, &o);
	assert_unavailable(&o);
	assert_http_status_named(&o, 200);
}
END_TEST

/* All of the token, then the JSON breaks off: still no token quoted. */
START_TEST(test_unterminated_json_hides_token)
{
	char body[sizeof(token_body)];
	struct outcome o;

	snprintf(body, sizeof(body), "%.*s", (int)strlen(token_body) - 1,
		 token_body);
	fetch_canned(200, "{\"Content-Type\":\"application/json\"}", body,
		     NULL, &o);
	assert_unavailable(&o);
}
END_TEST

/* A valid token response padded past max_response_size, with
 * Content-Length. */
START_TEST(test_oversized_body_rejected)
{
	char body[4096];
	struct outcome o;

	snprintf(body, sizeof(body),
		 "{\"access_token\":\"%s\",\"token_type\":\"Bearer\","
		 "\"padding\":\"%0*d\"}", canned_token, 2048, 0);
	fetch_canned(200, "{\"Content-Type\":\"application/json\"}", body,
		     "max_response_size = 1024\n", &o);
	ck_assert_msg(o.status == FLOWCRED_PROTOCOL ||
		      o.status == FLOWCRED_UNAVAILABLE,
		      "expected PROTOCOL or UNAVAILABLE, got %s: %s",
		      flowcred_strerror(o.status), o.detail);
	assert_detail_has(&o, "max_response_size");
	assert_fast(&o);
}
END_TEST

/* 4 MiB streamed without Content-Length: only the running count can
 * stop it. */
START_TEST(test_streamed_body_bounded)
{
	struct outcome o;

	fetch_fault("stream", 200, "application/json", NULL, "size=4194304",
		    "max_response_size = 1024\n", &o);
	ck_assert_msg(o.status == FLOWCRED_PROTOCOL ||
		      o.status == FLOWCRED_UNAVAILABLE,
		      "expected PROTOCOL or UNAVAILABLE, got %s: %s",
		      flowcred_strerror(o.status), o.detail);
	assert_detail_has(&o, "max_response_size");
	assert_within_timeout(&o);
}
END_TEST

/* A few KiB of gzip that inflate to 4 MiB: the bound applies to the
 * decoded body. */
START_TEST(test_gzip_bomb_bounded)
{
	struct outcome o;

	fetch_fault("bomb", 200, "application/json", NULL, "size=4194304",
		    "max_response_size = 65536\n", &o);
	ck_assert_msg(o.status == FLOWCRED_PROTOCOL ||
		      o.status == FLOWCRED_UNAVAILABLE,
		      "expected PROTOCOL or UNAVAILABLE, got %s: %s",
		      flowcred_strerror(o.status), o.detail);
	assert_detail_has(&o, "max_response_size");
	assert_within_timeout(&o);
}
END_TEST

/* One byte every 3 ms: slow, but done well within the timeout. */
START_TEST(test_trickled_response_accepted)
{
	struct outcome o;

	fetch_fault("trickle", 200, "application/json", token_body, "every=3",
		    NULL, &o);
	assert_canned_token(&o);
	assert_within_timeout(&o);
}
END_TEST

/* One byte every 100 ms never finishes within the 2 s total timeout,
 * although bytes keep arriving. */
START_TEST(test_slow_trickle_times_out)
{
	struct outcome o;

	fetch_fault("trickle", 200, "application/json", token_body,
		    "every=100", NULL, &o);
	assert_unavailable(&o);
	assert_detail_has(&o, "timed out");
	assert_within_timeout(&o);
}
END_TEST

/* --- content types and encodings ---------------------------------------- */

static const char *const content_types[] = {
	"{\"Content-Type\":\"application/json; charset=utf-8\"}",
	"{\"Content-Type\":\"application/json;charset=UTF-8\"}",
	"{\"Content-Type\":\"text/plain\"}",
	NULL,
};

START_TEST(test_content_type_variant_accepted)
{
	struct outcome o;

	fetch_canned(200, content_types[_i], token_body, NULL, &o);
	assert_canned_token(&o);
}
END_TEST

START_TEST(test_gzip_response_accepted)
{
	struct outcome o;

	fetch_fault("gzip", 200, "application/json", token_body, NULL, NULL,
		    &o);
	assert_canned_token(&o);
}
END_TEST

/* --- JSON of the wrong shape --------------------------------------------- */

struct shape {
	const char *name;
	int http_status;
	const char *body;	/* each "%s" becomes the canned token */
	flowcred_status expected;
};

static const struct shape shapes[] = {
	{ "token is a number", 200,
	  "{\"access_token\":12345,\"token_type\":\"Bearer\"}",
	  FLOWCRED_PROTOCOL },
	{ "token is null", 200,
	  "{\"access_token\":null,\"token_type\":\"Bearer\"}",
	  FLOWCRED_PROTOCOL },
	{ "token is an object", 200,
	  "{\"access_token\":{\"value\":\"%s\"},\"token_type\":\"Bearer\"}",
	  FLOWCRED_PROTOCOL },
	{ "token missing", 200,
	  "{\"token_type\":\"Bearer\",\"expires_in\":60}", FLOWCRED_PROTOCOL },
	{ "token empty", 200,
	  "{\"access_token\":\"\",\"token_type\":\"Bearer\"}",
	  FLOWCRED_PROTOCOL },
	{ "token with CRLF", 200,
	  "{\"access_token\":\"%s\\r\\nX-Injected: 1\",\"token_type\":\"Bearer\"}",
	  FLOWCRED_PROTOCOL },
	{ "token with NUL", 200,
	  "{\"access_token\":\"%s\\u0000tail\",\"token_type\":\"Bearer\"}",
	  FLOWCRED_PROTOCOL },
	{ "token_type null", 200,
	  "{\"access_token\":\"%s\",\"token_type\":null}", FLOWCRED_PROTOCOL },
	{ "token_type MAC", 200,
	  "{\"access_token\":\"%s\",\"token_type\":\"MAC\",\"expires_in\":60}",
	  FLOWCRED_PROTOCOL },
	{ "expires_in 1e400", 200,
	  "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":1e400}",
	  FLOWCRED_PROTOCOL },
	{ "expires_in 99999999999999999999", 200,
	  "{\"access_token\":\"%s\",\"token_type\":\"Bearer\","
	  "\"expires_in\":99999999999999999999}", FLOWCRED_PROTOCOL },
	{ "expires_in negative", 200,
	  "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":-60}",
	  FLOWCRED_PROTOCOL },
	{ "expires_in text", 200,
	  "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":\"soon\"}",
	  FLOWCRED_PROTOCOL },
	{ "expires_in null", 200,
	  "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":null}",
	  FLOWCRED_PROTOCOL },
	{ "expires_in object", 200,
	  "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":{\"s\":60}}",
	  FLOWCRED_PROTOCOL },
	{ "array of responses", 200,
	  "[{\"access_token\":\"%s\",\"token_type\":\"Bearer\"}]",
	  FLOWCRED_PROTOCOL },
	{ "bare string", 200, "\"%s\"", FLOWCRED_PROTOCOL },
	{ "error with wrong types", 400,
	  "{\"error\":42,\"error_description\":[\"x\"]}", FLOWCRED_PROTOCOL },
	{ "error object empty", 401, "{}", FLOWCRED_PROTOCOL },
	{ "error response with status 200", 200,
	  "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid user "
	  "credentials\"}", FLOWCRED_DENIED },
	{ "error response next to a token", 400,
	  "{\"error\":\"invalid_grant\",\"error_description\":\"Account "
	  "disabled\",\"access_token\":\"%s\",\"token_type\":\"Bearer\"}",
	  FLOWCRED_ACCOUNT },
	{ "unknown error code", 400,
	  "{\"error\":\"\\u001b[31mweird\",\"error_description\":\"no\\r\\nsuch\"}",
	  FLOWCRED_PROTOCOL },
};

/* Copies pattern into out with each "%s" replaced by the canned token. */
static void substitute_token(const char *pattern, char *out, size_t size)
{
	size_t token_len = strlen(canned_token);
	size_t n = 0;

	for (; *pattern != '\0'; pattern++) {
		if (pattern[0] == '%' && pattern[1] == 's') {
			ck_assert_uint_lt(n + token_len, size);
			memcpy(out + n, canned_token, token_len);
			n += token_len;
			pattern++;
			continue;
		}
		ck_assert_uint_lt(n + 1, size);
		out[n++] = *pattern;
	}
	out[n] = '\0';
}

START_TEST(test_wrong_shape_classified)
{
	const struct shape *shape = &shapes[_i];
	char body[2048];
	struct outcome o;

	fprintf(stderr, "shape: %s\n", shape->name);
	substitute_token(shape->body, body, sizeof(body));
	fetch_canned(shape->http_status,
		     "{\"Content-Type\":\"application/json\"}", body, NULL, &o);
	ck_assert_msg(o.status == shape->expected, "%s: expected %s, got %s: %s",
		      shape->name, flowcred_strerror(shape->expected),
		      flowcred_strerror(o.status), o.detail);
	/* A 200 with a broken token is named by what is broken; other
	 * statuses tell the admin more. */
	if (shape->http_status != 200)
		assert_http_status_named(&o, shape->http_status);
}
END_TEST

/* RFC 8259 leaves duplicate names undefined. Either the response is
 * rejected or one of the two tokens is taken whole, never a mix. */
START_TEST(test_duplicate_keys_consistent)
{
	char body[2048];
	struct outcome o;

	snprintf(body, sizeof(body),
		 "{\"access_token\":\"first-%.40s\",\"token_type\":\"Bearer\","
		 "\"access_token\":\"%s\",\"token_type\":\"Bearer\"}",
		 canned_token, canned_token);
	fetch_canned(200, "{\"Content-Type\":\"application/json\"}", body,
		     NULL, &o);
	if (o.status == FLOWCRED_OK) {
		ck_assert_msg(strcmp(o.token, canned_token) == 0 ||
			      strncmp(o.token, "first-", 6) == 0,
			      "the token is neither value: %s", o.token);
	} else {
		ck_assert_msg(o.status == FLOWCRED_PROTOCOL,
			      "expected OK or PROTOCOL, got %s: %s",
			      flowcred_strerror(o.status), o.detail);
	}
}
END_TEST

/* 1000 nested arrays: the parser's depth limit must stop it. */
START_TEST(test_deep_nesting_rejected)
{
	char body[2100];
	struct outcome o;

	memset(body, '[', 1000);
	memset(body + 1000, ']', 1000);
	body[2000] = '\0';
	fetch_canned(200, "{\"Content-Type\":\"application/json\"}", body,
		     NULL, &o);
	ck_assert_msg(o.status == FLOWCRED_PROTOCOL ||
		      o.status == FLOWCRED_UNAVAILABLE,
		      "expected PROTOCOL or UNAVAILABLE, got %s: %s",
		      flowcred_strerror(o.status), o.detail);
}
END_TEST

/* --- HTTP statuses that decide alone -------------------------------------- */

START_TEST(test_rate_limit_try_again)
{
	struct outcome o;

	fetch_canned(429, "{\"Retry-After\":\"120\"}", "", NULL, &o);
	ck_assert_msg(o.status == FLOWCRED_TRY_AGAIN,
		      "expected TRY_AGAIN, got %s: %s",
		      flowcred_strerror(o.status), o.detail);
	assert_http_status_named(&o, 429);
}
END_TEST

START_TEST(test_server_error_unavailable)
{
	struct outcome o;

	fetch_canned(503, "{\"Content-Type\":\"application/json\"}",
		     "{\"error\":\"temporarily_unavailable\"}", NULL, &o);
	assert_unavailable(&o);
	assert_http_status_named(&o, 503);
}
END_TEST

/* --- cut connections ----------------------------------------------------- */

static const char *const cut_modes[] = {
	"truncate", "chunked-cut", "headers-cut", "close-early",
};

START_TEST(test_connection_cut_unavailable)
{
	struct outcome o;

	fprintf(stderr, "mode: %s\n", cut_modes[_i]);
	fetch_fault(cut_modes[_i], 200, "application/json", token_body, NULL,
		    NULL, &o);
	assert_unavailable(&o);
	assert_within_timeout(&o);
}
END_TEST

START_TEST(test_dropped_request_unavailable)
{
	char *realm = tu_unique("drop");
	char *url = tu_token_url(realm);
	struct outcome o;

	tu_server_put_realm(realm, "{\"canned\":{\"drop\":true}}");
	fetch(url, NULL, &o);
	assert_unavailable(&o);
	assert_fast(&o);
	free(url);
	free(realm);
}
END_TEST

/* --- TLS ----------------------------------------------------------------- */

static const char *const tls_listeners[] = {
	"other_ca", "wrong_host", "expired",
};

START_TEST(test_tls_failure_unavailable)
{
	char *url;
	struct outcome o;

	fprintf(stderr, "listener: %s\n", tls_listeners[_i]);
	ck_assert_int_ne(asprintf(&url, "https://127.0.0.1:%d/token",
				  fu_fault_port(tls_listeners[_i])), -1);
	fetch(url, NULL, &o);
	assert_unavailable(&o);
	assert_detail_has(&o, "TLS");
	assert_fast(&o);
	free(url);
}
END_TEST

/* --- hosts that do not response -------------------------------------------- */

START_TEST(test_refused_port_fast)
{
	char *url;
	struct outcome o;

	ck_assert_int_ne(asprintf(&url, "https://127.0.0.1:%d/token",
				  tu_closed_port()), -1);
	fetch(url, NULL, &o);
	assert_unavailable(&o);
	assert_fast(&o);
	free(url);
}
END_TEST

/* The kernel completes the TCP handshake into the backlog, but no process
 * ever accepts, so the TLS handshake never starts. */
START_TEST(test_silent_listener_times_out)
{
	struct sockaddr_in address;
	socklen_t length = sizeof(address);
	struct outcome o;
	char *url;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &length), 0);
	ck_assert_int_ne(asprintf(&url, "https://127.0.0.1:%d/token",
				  ntohs(address.sin_port)), -1);
	fetch(url, NULL, &o);
	assert_unavailable(&o);
	assert_detail_has(&o, "timed out");
	assert_within_timeout(&o);
	close(fd);
	free(url);
}
END_TEST

/* The token server reads the request and never responds. */
START_TEST(test_hanging_server_times_out)
{
	char *realm = tu_unique("hang");
	char *url = tu_token_url(realm);
	struct outcome o;

	tu_server_put_hang(realm);
	fetch(url, NULL, &o);
	assert_unavailable(&o);
	assert_detail_has(&o, "timed out");
	assert_within_timeout(&o);
	free(url);
	free(realm);
}
END_TEST

/* RFC 2606 reserves .invalid: the name never resolves. */
START_TEST(test_unresolvable_name_unavailable)
{
	struct outcome o;

	fetch("https://flowcred-fault.invalid/auth/realms/test/protocol/"
	      "openid-connect/token", NULL, &o);
	assert_unavailable(&o);
	assert_within_timeout(&o);
}
END_TEST

/* --- the normal path, for contrast ---------------------------------------- */

START_TEST(test_fixture_realm_token)
{
	char *url = tu_token_url("test");
	struct outcome o;

	fetch(url, NULL, &o);
	ck_assert_msg(o.status == FLOWCRED_OK, "expected a token, got %s: %s",
		      flowcred_strerror(o.status), o.detail);
	fu_add_secret(o.token);
	/* The token arrived after the log was checked: check again. */
	fu_assert_no_secret(fu_log_text(), "the log");
	fu_assert_no_secret(o.detail, "the detail");
	free(url);
}
END_TEST

#define N_ITEMS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *endpoint_suite(void)
{
	Suite *suite = suite_create("fault_endpoint");
	TCase *tc;

	tc = tcase_create("redirects");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_redirect_not_followed, 0,
			    N_ITEMS(redirect_codes));
	tcase_add_test(tc, test_redirect_without_location);
	suite_add_tcase(suite, tc);

	tc = tcase_create("proxies");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_proxy_page_unavailable, 0,
			    N_ITEMS(proxy_pages));
	tcase_add_loop_test(tc, test_echoed_secret_not_quoted, 0,
			    N_ITEMS(echo_pages));
	suite_add_tcase(suite, tc);

	tc = tcase_create("bodies");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_empty_body_unavailable);
	tcase_add_test(tc, test_truncated_json_hides_token);
	tcase_add_test(tc, test_unterminated_json_hides_token);
	tcase_add_test(tc, test_oversized_body_rejected);
	tcase_add_test(tc, test_streamed_body_bounded);
	tcase_add_test(tc, test_gzip_bomb_bounded);
	tcase_add_test(tc, test_trickled_response_accepted);
	tcase_add_test(tc, test_slow_trickle_times_out);
	suite_add_tcase(suite, tc);

	tc = tcase_create("content");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_content_type_variant_accepted, 0,
			    N_ITEMS(content_types));
	tcase_add_test(tc, test_gzip_response_accepted);
	suite_add_tcase(suite, tc);

	tc = tcase_create("shapes");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_wrong_shape_classified, 0, N_ITEMS(shapes));
	tcase_add_test(tc, test_duplicate_keys_consistent);
	tcase_add_test(tc, test_deep_nesting_rejected);
	tcase_add_test(tc, test_rate_limit_try_again);
	tcase_add_test(tc, test_server_error_unavailable);
	suite_add_tcase(suite, tc);

	tc = tcase_create("transport");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_connection_cut_unavailable, 0,
			    N_ITEMS(cut_modes));
	tcase_add_test(tc, test_dropped_request_unavailable);
	tcase_add_loop_test(tc, test_tls_failure_unavailable, 0,
			    N_ITEMS(tls_listeners));
	tcase_add_test(tc, test_refused_port_fast);
	tcase_add_test(tc, test_silent_listener_times_out);
	tcase_add_test(tc, test_hanging_server_times_out);
	tcase_add_test(tc, test_unresolvable_name_unavailable);
	tcase_add_test(tc, test_fixture_realm_token);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	int status;

	if (fu_fault_server_start() != 0)
		return 99;
	status = tu_run_suite(endpoint_suite());
	fu_fault_server_stop();
	return status;
}
