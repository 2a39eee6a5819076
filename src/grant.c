#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <glib.h>
#include <json-c/json.h>

#include "form.h"
#include "grant.h"
#include "text.h"
#include "wipe.h"

/* Maximum lifetime accepted in expires_in, in seconds (one year). A
 * larger value is taken for a broken response, not for a token. */
#define FC_LIFETIME_MAX (366LL * 24 * 3600)

/* Deepest JSON nesting parsed; a token response is one flat object. */
#define FC_JSON_DEPTH 16

/* Characters of untrusted text quoted in a detail message. */
#define FC_PREVIEW_MAX 120

/* Maximum back-off taken from a Retry-After header, in seconds. */
#define FC_RETRY_AFTER_MAX 3600

/* The secrets of the request in flight on this thread, NULL-terminated,
 * or NULL. Per thread, because one context serves many threads. */
static __thread const char *const *sent_secrets;

/* Tells whether text contains secret as sent, or percent-encoded as the
 * request body carries it. */
static int contains_secret(const char *text, size_t len, const char *secret)
{
	char *escaped;
	int found;

	if (secret == NULL || secret[0] == '\0')
		return 0;
	found = memmem(text, len, secret, strlen(secret)) != NULL;
	escaped = curl_easy_escape(NULL, secret, (int)strlen(secret));
	if (escaped != NULL) {
		found = found ||
			memmem(text, len, escaped, strlen(escaped)) != NULL;
		fc_wipe(escaped, strlen(escaped));
		curl_free(escaped);
	}
	return found;
}

/* Writes a preview of text the server sent, as fc_preview() does, unless
 * it contains a secret of the request in flight: a proxy page or an
 * error description may echo the request. Then the whole preview is
 * withheld, since masking only the secret would show where it was. */
static void preview_untrusted(const char *text, size_t len, char *out,
			      size_t out_size)
{
	size_t i;

	for (i = 0; sent_secrets != NULL && sent_secrets[i] != NULL; i++) {
		if (contains_secret(text, len, sent_secrets[i])) {
			g_strlcpy(out, "(not shown: it contains a credential "
				  "of the request)", out_size);
			return;
		}
	}
	fc_preview(text, len, out, out_size);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void init_curl(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

flowcred_status fc_grant_global_init(char *detail, size_t detail_size)
{
	pthread_once(&curl_once, init_curl);
	if (curl_init_result != CURLE_OK) {
		fc_detail(detail, detail_size, "libcurl initialisation failed: %s",
			  curl_easy_strerror(curl_init_result));
		return FLOWCRED_INTERNAL;
	}
	return FLOWCRED_OK;
}

/* Idle easy handles kept per context: creating one per request costs
 * tens of microseconds, a tenth of a grant on a reused connection. */
#define FC_HTTP_POOL_MAX 8

struct fc_http {
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	CURL *pool[FC_HTTP_POOL_MAX];	/* guarded by pool_lock */
	size_t pooled;
};

/* Takes an easy handle from the pool, or makes one. */
static CURL *take_handle(struct fc_http *http)
{
	CURL *curl = NULL;

	if (http == NULL)
		return curl_easy_init();
	pthread_mutex_lock(&http->pool_lock);
	if (http->pooled > 0)
		curl = http->pool[--http->pooled];
	pthread_mutex_unlock(&http->pool_lock);
	return curl != NULL ? curl : curl_easy_init();
}

/* Returns an easy handle to the pool, reset so that it keeps no pointer
 * to the request's buffers, or frees it when the pool is full. */
static void give_handle(struct fc_http *http, CURL *curl)
{
	if (curl == NULL)
		return;
	curl_easy_reset(curl);
	if (http != NULL) {
		pthread_mutex_lock(&http->pool_lock);
		if (http->pooled < FC_HTTP_POOL_MAX) {
			http->pool[http->pooled++] = curl;
			curl = NULL;
		}
		pthread_mutex_unlock(&http->pool_lock);
	}
	if (curl != NULL)
		curl_easy_cleanup(curl);
}

static void lock_share(CURL *curl, curl_lock_data data,
		       curl_lock_access access, void *userptr)
{
	struct fc_http *http = userptr;

	(void)curl;
	(void)access;
	pthread_mutex_lock(&http->locks[data]);
}

static void unlock_share(CURL *curl, curl_lock_data data, void *userptr)
{
	struct fc_http *http = userptr;

	(void)curl;
	pthread_mutex_unlock(&http->locks[data]);
}

struct fc_http *fc_http_new(void)
{
	struct fc_http *http = calloc(1, sizeof(*http));
	size_t i;

	if (http == NULL)
		return NULL;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&http->locks[i], NULL);
	pthread_mutex_init(&http->pool_lock, NULL);
	http->share = curl_share_init();
	if (http->share == NULL) {
		fc_http_free(http);
		return NULL;
	}
	curl_share_setopt(http->share, CURLSHOPT_LOCKFUNC, lock_share);
	curl_share_setopt(http->share, CURLSHOPT_UNLOCKFUNC, unlock_share);
	curl_share_setopt(http->share, CURLSHOPT_USERDATA, http);
	curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(http->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(http->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	return http;
}

void fc_http_free(struct fc_http *http)
{
	size_t i;

	if (http == NULL)
		return;
	/* Easy handles go before the share they use. */
	while (http->pooled > 0)
		curl_easy_cleanup(http->pool[--http->pooled]);
	pthread_mutex_destroy(&http->pool_lock);
	if (http->share != NULL)
		curl_share_cleanup(http->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&http->locks[i]);
	free(http);
}

void fc_token_clear(struct fc_token *token)
{
	if (token == NULL)
		return;
	fc_clear_string(&token->access_token);
	fc_clear_string(&token->refresh_token);
	memset(token, 0, sizeof(*token));
}

/* A response of the token endpoint as received. */
struct http_response {
	long status;
	char *content_type;
	char *location;
	char *retry_after;
	struct fc_buf body;	/* wiped: it may carry tokens */
	int no_memory;
};

static void http_response_clear(struct http_response *response)
{
	free(response->content_type);
	free(response->location);
	free(response->retry_after);
	fc_buf_clear(&response->body);
	memset(response, 0, sizeof(*response));
}

static size_t receive_body(char *data, size_t size, size_t count,
			   void *userdata)
{
	struct http_response *response = userdata;
	size_t n = size * count;
	int rc = fc_buf_append(&response->body, data, n);

	if (rc == -1)
		response->no_memory = 1;
	/* Returning less than n makes libcurl abort with CURLE_WRITE_ERROR;
	 * body.len past body.max is not possible, so the caller tells the
	 * bound from no_memory. */
	return rc == 0 ? n : 0;
}

static char *strdup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Wipes every string value inside a parsed response, so the tokens it
 * carried do not stay in memory that json-c frees without wiping. */
static void wipe_json_strings(json_object *value)
{
	size_t i;
	size_t n;

	switch (json_object_get_type(value)) {
	case json_type_string:
		fc_wipe((char *)json_object_get_string(value),
			(size_t)json_object_get_string_len(value));
		break;
	case json_type_object: {
		json_object_object_foreach(value, key, member) {
			(void)key;
			wipe_json_strings(member);
		}
		break;
	}
	case json_type_array:
		n = json_object_array_length(value);
		for (i = 0; i < n; i++)
			wipe_json_strings(json_object_array_get_idx(value, i));
		break;
	default:
		break;
	}
}

static void release_json(json_object *value)
{
	if (value == NULL)
		return;
	wipe_json_strings(value);
	json_object_put(value);
}

/* Parses body as one strict JSON value followed only by white space.
 * Returns NULL when it is not JSON. */
static json_object *parse_json(const char *body, size_t len)
{
	struct json_tokener *tokener;
	json_object *value;
	size_t end;

	if (len == 0 || len > (size_t)INT32_MAX)
		return NULL;
	tokener = json_tokener_new_ex(FC_JSON_DEPTH);
	if (tokener == NULL)
		return NULL;
	json_tokener_set_flags(tokener, JSON_TOKENER_STRICT);
	value = json_tokener_parse_ex(tokener, body, (int)len);
	if (json_tokener_get_error(tokener) != json_tokener_success) {
		release_json(value);
		value = NULL;
	} else {
		for (end = json_tokener_get_parse_end(tokener); end < len; end++) {
			if (!g_ascii_isspace(body[end])) {
				release_json(value);
				value = NULL;
				break;
			}
		}
	}
	json_tokener_free(tokener);
	return value;
}

/* Returns the member's string, or NULL when absent, not a string, or
 * holding a NUL character (JSON's \u0000), which C strings would cut. */
static const char *member_string(json_object *object, const char *name)
{
	json_object *member;
	const char *value;

	if (!json_object_object_get_ex(object, name, &member) ||
	    !json_object_is_type(member, json_type_string))
		return NULL;
	value = json_object_get_string(member);
	if (strlen(value) != (size_t)json_object_get_string_len(member))
		return NULL;
	return value;
}

/* Checks RFC 6750 section 2.1 b64token syntax, the characters a bearer
 * token may have in an Authorization header. */
static int b64token_valid(const char *s)
{
	const char *p = s;

	while (g_ascii_isalnum(*p) || strchr("-._~+/", *p) != NULL) {
		if (*p == '\0')
			break;
		p++;
	}
	if (p == s)
		return 0;
	while (*p == '=')
		p++;
	return *p == '\0';
}

/* Reads a lifetime in seconds: a JSON integer, a whole-valued number or a
 * numeric string. Returns 1 and sets *seconds, or 0 when invalid. */
static int read_lifetime(json_object *value, long long min,
			 long long *seconds)
{
	const char *text;
	char *end = NULL;
	long long n;
	double d;

	switch (json_object_get_type(value)) {
	case json_type_int:
		errno = 0;
		n = json_object_get_int64(value);
		if (errno != 0)
			return 0;
		break;
	case json_type_double:
		d = json_object_get_double(value);
		if (!isfinite(d) || d != floor(d) || d < (double)min ||
		    d > (double)FC_LIFETIME_MAX)
			return 0;
		n = (long long)d;
		break;
	case json_type_string:
		text = json_object_get_string(value);
		errno = 0;
		n = strtoll(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0' ||
		    !g_ascii_isdigit(text[0]))
			return 0;
		break;
	default:
		return 0;
	}
	if (n < min || n > FC_LIFETIME_MAX)
		return 0;
	*seconds = n;
	return 1;
}

static flowcred_status read_token(json_object *response, long default_expires_in,
				  struct fc_token *token,
				  char *detail, size_t detail_size)
{
	json_object *member;
	const char *access_token;
	const char *token_type;
	const char *refresh_token;

	if (!json_object_object_get_ex(response, "access_token", &member)) {
		fc_detail(detail, detail_size,
			  "the token endpoint's response has no access_token");
		return FLOWCRED_PROTOCOL;
	}
	access_token = member_string(response, "access_token");
	if (access_token == NULL || access_token[0] == '\0') {
		fc_detail(detail, detail_size,
			  "the token endpoint's access_token is %s, not a "
			  "non-empty string without NUL characters",
			  access_token != NULL ? "empty" :
			  json_object_is_type(member, json_type_string) ?
				  "a string with a NUL character" :
				  json_type_to_name(json_object_get_type(member)));
		return FLOWCRED_PROTOCOL;
	}
	if (!b64token_valid(access_token)) {
		fc_detail(detail, detail_size,
			  "the token endpoint's access_token has characters a "
			  "bearer token cannot have (RFC 6750 section 2.1)");
		return FLOWCRED_PROTOCOL;
	}
	token_type = member_string(response, "token_type");
	if (token_type == NULL || !fc_ascii_equal_nocase(token_type, "Bearer")) {
		char preview[32];

		preview_untrusted(token_type != NULL ? token_type : "(missing)",
			   strlen(token_type != NULL ? token_type : "(missing)"),
			   preview, sizeof(preview));
		fc_detail(detail, detail_size,
			  "the token endpoint's token_type is '%s', not Bearer",
			  preview);
		return FLOWCRED_PROTOCOL;
	}

	token->expires_in = default_expires_in;
	if (json_object_object_get_ex(response, "expires_in", &member) &&
	    !read_lifetime(member, 1, &token->expires_in)) {
		fc_detail(detail, detail_size,
			  "the token endpoint's expires_in is not a positive "
			  "number of seconds up to %lld", FC_LIFETIME_MAX);
		return FLOWCRED_PROTOCOL;
	}
	token->refresh_expires_in = 0;
	if (json_object_object_get_ex(response, "refresh_expires_in", &member) &&
	    !read_lifetime(member, 0, &token->refresh_expires_in)) {
		fc_detail(detail, detail_size,
			  "the token endpoint's refresh_expires_in is not a "
			  "number of seconds");
		return FLOWCRED_PROTOCOL;
	}

	refresh_token = member_string(response, "refresh_token");
	if (refresh_token == NULL &&
	    json_object_object_get_ex(response, "refresh_token", &member) &&
	    json_object_is_type(member, json_type_string)) {
		fc_detail(detail, detail_size,
			  "the token endpoint's refresh_token has a NUL "
			  "character");
		return FLOWCRED_PROTOCOL;
	}
	token->access_token = fc_strdup_secret(access_token);
	if (refresh_token != NULL && refresh_token[0] != '\0')
		token->refresh_token = fc_strdup_secret(refresh_token);
	if (token->access_token == NULL ||
	    (refresh_token != NULL && refresh_token[0] != '\0' &&
	     token->refresh_token == NULL)) {
		fc_token_clear(token);
		return FLOWCRED_NO_MEMORY;
	}
	g_strlcpy(token->token_type, "Bearer", sizeof(token->token_type));
	return FLOWCRED_OK;
}

static int contains_nocase(const char *haystack, const char *needle)
{
	gchar *lower = g_ascii_strdown(haystack, -1);
	int found = strstr(lower, needle) != NULL;

	g_free(lower);
	return found;
}

/* Classifies an OAuth error response on its error code and description,
 * not on the HTTP status, which differs between Keycloak versions. */
static flowcred_status classify_oauth_error(long http_status,
					    const char *error,
					    const char *description,
					    char *detail, size_t detail_size)
{
	char code[64];
	char text[FC_PREVIEW_MAX + 4];

	preview_untrusted(error, strlen(error), code, sizeof(code));
	preview_untrusted(description, strlen(description), text, sizeof(text));

	if (strcmp(error, "invalid_grant") == 0) {
		if (contains_nocase(description, "not fully set up")) {
			fc_detail(detail, detail_size,
				  "the IFS account is not fully set up: it has "
				  "required actions pending, such as a password "
				  "update; complete them with an interactive "
				  "login (%s: %s, HTTP %ld)", code, text,
				  http_status);
			return FLOWCRED_ACCOUNT;
		}
		if (contains_nocase(description, "disabled") &&
		    !contains_nocase(description, "temporarily")) {
			fc_detail(detail, detail_size,
				  "the IFS account is disabled; an IFS "
				  "administrator must enable it (%s: %s, HTTP %ld)",
				  code, text, http_status);
			return FLOWCRED_ACCOUNT;
		}
		fc_detail(detail, detail_size,
			  "IFS rejected the user name or password (%s: %s, "
			  "HTTP %ld); Keycloak returns the same for an unknown "
			  "user, a wrong password, a missing one-time code and "
			  "an account locked after failed logins", code, text,
			  http_status);
		return FLOWCRED_DENIED;
	}
	if (strcmp(error, "unauthorized_client") == 0 ||
	    strcmp(error, "invalid_client") == 0) {
		if (contains_nocase(description, "direct access grant")) {
			fc_detail(detail, detail_size,
				  "IFS IAM does not allow the password grant for "
				  "this client: enable Direct Access Grants on "
				  "the IAM client (%s: %s, HTTP %ld)", code, text,
				  http_status);
			return FLOWCRED_CLIENT_REJECTED;
		}
		fc_detail(detail, detail_size,
			  "IFS IAM rejected the client: check client_id "
			  "(case-sensitive) and the client secret (%s: %s, "
			  "HTTP %ld)", code, text, http_status);
		return FLOWCRED_CLIENT_REJECTED;
	}
	if (strcmp(error, "invalid_scope") == 0) {
		fc_detail(detail, detail_size,
			  "IFS IAM rejected the scope: set scope to scopes the "
			  "IAM client allows (%s: %s, HTTP %ld)", code, text,
			  http_status);
		return FLOWCRED_CLIENT_REJECTED;
	}
	if (strcmp(error, "unsupported_grant_type") == 0) {
		fc_detail(detail, detail_size,
			  "the token endpoint does not support the password "
			  "grant (%s: %s, HTTP %ld)", code, text, http_status);
		return FLOWCRED_CLIENT_REJECTED;
	}
	if (strcmp(error, "temporarily_unavailable") == 0 ||
	    strcmp(error, "server_error") == 0) {
		fc_detail(detail, detail_size,
			  "the token endpoint is unavailable (%s: %s, HTTP %ld)",
			  code, text, http_status);
		return FLOWCRED_UNAVAILABLE;
	}
	if (strcmp(error, "slow_down") == 0) {
		fc_detail(detail, detail_size,
			  "the token endpoint asks to slow down (%s: %s, "
			  "HTTP %ld)", code, text, http_status);
		return FLOWCRED_TRY_AGAIN;
	}
	fc_detail(detail, detail_size,
		  "the token endpoint returned an unexpected error (%s: %s, "
		  "HTTP %ld)", code, text, http_status);
	return FLOWCRED_PROTOCOL;
}

/* Tells whether body starts, after white space, like a JSON object or
 * array. */
static int looks_like_json(const char *body, size_t len)
{
	size_t i = 0;

	while (i < len && g_ascii_isspace(body[i]))
		i++;
	return i < len && (body[i] == '{' || body[i] == '[');
}

flowcred_status fc_grant_parse_answer(long http_status,
				      const char *content_type,
				      const char *body, size_t len,
				      long default_expires_in,
				      struct fc_token *token,
				      struct fc_oauth_error *oauth_error,
				      char *detail, size_t detail_size)
{
	char preview[FC_PREVIEW_MAX + 4];
	char type_preview[64];
	flowcred_status status;
	json_object *response;
	const char *error;
	const char *description;

	memset(token, 0, sizeof(*token));
	if (oauth_error != NULL)
		memset(oauth_error, 0, sizeof(*oauth_error));
	response = parse_json(body, len);
	if (response == NULL || !json_object_is_type(response, json_type_object)) {
		if (looks_like_json(body, len))
			/* A token response cut short or broken: quoting it
			 * would quote the token. */
			g_strlcpy(preview, "(JSON, not shown)", sizeof(preview));
		else
			preview_untrusted(body, len, preview, sizeof(preview));
		preview_untrusted(content_type != NULL ? content_type : "none",
			   strlen(content_type != NULL ? content_type : "none"),
			   type_preview, sizeof(type_preview));
		fc_detail(detail, detail_size,
			  "the token endpoint's response is not a JSON object "
			  "(HTTP %ld, Content-Type %s, %zu bytes): %s%s%s; check "
			  "token_url and any proxy in between", http_status,
			  type_preview, len,
			  response != NULL ? "JSON of another type" : "\"",
			  response != NULL ? "" : preview,
			  response != NULL ? "" : "\"");
		release_json(response);
		return http_status >= 200 && http_status < 300 && response != NULL ?
			       FLOWCRED_PROTOCOL : FLOWCRED_UNAVAILABLE;
	}

	error = member_string(response, "error");
	if (error != NULL) {
		description = member_string(response, "error_description");
		if (oauth_error != NULL) {
			g_strlcpy(oauth_error->error, error,
				  sizeof(oauth_error->error));
			g_strlcpy(oauth_error->description,
				  description != NULL ? description : "",
				  sizeof(oauth_error->description));
		}
		status = classify_oauth_error(http_status, error,
					      description != NULL ? description : "",
					      detail, detail_size);
	} else if (http_status == 200) {
		status = read_token(response, default_expires_in, token, detail,
				    detail_size);
	} else {
		fc_detail(detail, detail_size,
			  "the token endpoint returned HTTP %ld without an OAuth "
			  "error code", http_status);
		status = FLOWCRED_PROTOCOL;
	}
	release_json(response);
	return status;
}

/* Turns a libcurl failure into a status and a detail that names the
 * endpoint and, where there is one, the setting to change. */
static flowcred_status classify_transfer_error(const struct fc_connector *c,
					       CURLcode rc,
					       const struct http_response *response,
					       const char *error_buffer,
					       char *detail, size_t detail_size)
{
	const char *reason = error_buffer[0] != '\0' ? error_buffer :
			     curl_easy_strerror(rc);

	switch (rc) {
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (response->no_memory)
			return FLOWCRED_NO_MEMORY;
		fc_detail(detail, detail_size,
			  "the response of %s is larger than max_response_size "
			  "(%zu bytes)", c->token_url, c->max_response_size);
		return FLOWCRED_PROTOCOL;
	case CURLE_OPERATION_TIMEDOUT:
		fc_detail(detail, detail_size,
			  "request to %s timed out (connect_timeout %ld ms, "
			  "timeout %ld ms): %s", c->token_url,
			  c->connect_timeout_ms, c->timeout_ms, reason);
		return FLOWCRED_UNAVAILABLE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
		fc_detail(detail, detail_size,
			  "TLS with %s failed: %s; if the server's certificate "
			  "is signed by a private CA, set ca_file", c->token_url,
			  reason);
		return FLOWCRED_UNAVAILABLE;
	case CURLE_SSL_CACERT_BADFILE:
		fc_detail(detail, detail_size,
			  "cannot load the CA certificates in ca_file '%s': %s",
			  c->ca_file != NULL ? c->ca_file : "(default)", reason);
		return FLOWCRED_CONFIG;
	case CURLE_OUT_OF_MEMORY:
		return FLOWCRED_NO_MEMORY;
	default:
		fc_detail(detail, detail_size, "request to %s failed: %s",
			  c->token_url, reason);
		return FLOWCRED_UNAVAILABLE;
	}
}

static void read_response_headers(CURL *curl, struct http_response *response)
{
	struct curl_header *header = NULL;
	char *value = NULL;

	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
	if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &value) == CURLE_OK)
		response->content_type = strdup_or_null(value);
	value = NULL;
	if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &value) == CURLE_OK)
		response->location = strdup_or_null(value);
	if (curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1,
			     &header) == CURLHE_OK)
		response->retry_after = strdup_or_null(header->value);
}

long fc_parse_retry_after(const char *value, time_t now)
{
	char *end = NULL;
	long long seconds;
	time_t when;

	if (value == NULL)
		return -1;
	if (g_ascii_isdigit(value[0])) {
		errno = 0;
		seconds = strtoll(value, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
	} else {
		when = curl_getdate(value, NULL);
		if (when == -1)
			return -1;
		seconds = when > now ? (long long)(when - now) : 0;
	}
	return seconds > FC_RETRY_AFTER_MAX ? FC_RETRY_AFTER_MAX : (long)seconds;
}

/* POSTs form to the connector's token endpoint. authorization is a
 * complete header line or NULL. */
static flowcred_status post_form(struct fc_http *http,
				 const struct fc_connector *c, const char *url,
				 const struct fc_buf *form,
				 const char *authorization,
				 const struct fc_logger *logger,
				 struct http_response *response,
				 char *detail, size_t detail_size)
{
	char error_buffer[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct curl_slist *item;
	flowcred_status status;
	CURL *curl = NULL;
	CURLcode rc;

	status = fc_grant_global_init(detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;
	curl = take_handle(http);
	if (curl == NULL)
		return FLOWCRED_NO_MEMORY;
	headers = curl_slist_append(headers, "Accept: application/json");
	if (headers != NULL && authorization != NULL) {
		item = curl_slist_append(headers, authorization);
		if (item == NULL) {
			status = FLOWCRED_NO_MEMORY;
			goto out;
		}
	}
	if (headers == NULL) {
		status = FLOWCRED_NO_MEMORY;
		goto out;
	}
	response->body.max = c->max_response_size;

	curl_easy_setopt(curl, CURLOPT_URL, url);
	if (http != NULL)
		curl_easy_setopt(curl, CURLOPT_SHARE, http->share);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->ca_file);
	/* The configured proxy, or none, whatever the proxy variables in
	 * the host's environment contain. An empty CURLOPT_PROXY disables
	 * proxies and an empty CURLOPT_NOPROXY overrides no_proxy. */
	curl_easy_setopt(curl, CURLOPT_PROXY, c->proxy != NULL ? c->proxy : "");
	curl_easy_setopt(curl, CURLOPT_NOPROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)c->max_response_size);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "flowcred/" PACKAGE_VERSION);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form->data);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)form->len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, receive_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, response);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);

	fc_log(logger, LOG_DEBUG, "POST %s (client authentication %s)", url,
	       c->client_auth == FC_CLIENT_AUTH_BASIC ? "client_secret_basic" :
							 "client_secret_post");
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK) {
		status = classify_transfer_error(c, rc, response, error_buffer,
						 detail, detail_size);
		goto out;
	}
	read_response_headers(curl, response);
	fc_log(logger, LOG_DEBUG, "%s returned HTTP %ld, %zu bytes", url,
	       response->status, response->body.len);
	status = FLOWCRED_OK;
out:
	for (item = headers; item != NULL; item = item->next)
		fc_wipe(item->data, strlen(item->data));
	give_handle(http, curl);
	curl_slist_free_all(headers);
	return status;
}

/* Classifies what the HTTP status alone decides: redirects, rate limits
 * and server errors. Returns FLOWCRED_OK when the body must decide. */
static flowcred_status classify_http_status(const struct fc_connector *c,
					    const struct http_response *response,
					    char *detail, size_t detail_size)
{
	char preview[FC_PREVIEW_MAX + 4];
	const char *location = response->location;

	if (response->status >= 300 && response->status < 400) {
		location = location != NULL ? location : "(no Location)";
		preview_untrusted(location, strlen(location), preview,
				  sizeof(preview));
		fc_detail(detail, detail_size,
			  "%s returned HTTP %ld redirecting to %s; redirects are "
			  "not followed: set token_url to the token endpoint "
			  "itself", c->token_url, response->status, preview);
		return FLOWCRED_UNAVAILABLE;
	}
	if (response->status == 429) {
		const char *after = response->retry_after;

		preview_untrusted(after != NULL ? after : "not given",
			   strlen(after != NULL ? after : "not given"), preview,
			   sizeof(preview));
		fc_detail(detail, detail_size,
			  "%s is rate limiting requests (HTTP 429, Retry-After "
			  "%s); try again later", c->token_url, preview);
		return FLOWCRED_TRY_AGAIN;
	}
	if (response->status >= 500 || response->status < 200) {
		fc_detail(detail, detail_size,
			  "%s is unavailable (HTTP %ld)", c->token_url,
			  response->status);
		return FLOWCRED_UNAVAILABLE;
	}
	return FLOWCRED_OK;
}

/* Adds client authentication: in the body, or as a Basic header. */
static int add_client_auth(const struct fc_connector *c, struct fc_buf *form,
			   char **authorization)
{
	if (c->client_auth == FC_CLIENT_AUTH_BASIC) {
		*authorization = fc_basic_authorization(c->client_id,
							c->client_secret);
		return *authorization != NULL ? 0 : -1;
	}
	if (fc_form_add(form, "client_id", c->client_id) != 0)
		return -1;
	if (c->client_secret != NULL &&
	    fc_form_add(form, "client_secret", c->client_secret) != 0)
		return -1;
	return 0;
}

/* Builds the form body of a request; unset fields are left out. */
static flowcred_status build_request(const struct fc_connector *c,
				     const struct fc_grant_request *request,
				     struct fc_buf *form, char **authorization)
{
	int rc = 0;

	if (request->grant_type != NULL)
		rc = fc_form_add(form, "grant_type", request->grant_type);
	if (rc == 0 && request->username != NULL)
		rc = fc_form_add(form, "username", request->username);
	if (rc == 0 && request->password != NULL)
		rc = fc_form_add(form, "password", request->password);
	if (rc == 0 && request->refresh_token != NULL)
		rc = fc_form_add(form, "refresh_token", request->refresh_token);
	if (rc == 0 && request->grant_type != NULL &&
	    strcmp(request->grant_type, "password") == 0)
		rc = fc_form_add(form, "scope", c->scope);
	if (rc == 0)
		rc = add_client_auth(c, form, authorization);
	return rc == 0 ? FLOWCRED_OK : FLOWCRED_NO_MEMORY;
}

void fc_grant_result_clear(struct fc_grant_result *result)
{
	fc_token_clear(&result->token);
	memset(result, 0, sizeof(*result));
	result->retry_after = -1;
}

flowcred_status fc_grant_send(struct fc_http *http,
			      const struct fc_connector *c,
			      const struct fc_grant_request *request,
			      const struct fc_logger *logger,
			      struct fc_grant_result *result,
			      char *detail, size_t detail_size)
{
	struct http_response response = { 0 };
	struct fc_buf form = { 0 };
	char *authorization = NULL;
	flowcred_status status;
	const char *url = request->url != NULL ? request->url : c->token_url;

	const char *secrets[] = {
		request->password, request->refresh_token, c->client_secret,
		NULL
	};

	memset(result, 0, sizeof(*result));
	result->retry_after = -1;
	sent_secrets = secrets;
	status = build_request(c, request, &form, &authorization);
	if (status != FLOWCRED_OK)
		goto out;
	status = post_form(http, c, url, &form, authorization, logger, &response,
			   detail, detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	result->http_status = response.status;
	result->retry_after = fc_parse_retry_after(response.retry_after,
						   time(NULL));
	if (response.no_memory) {
		status = FLOWCRED_NO_MEMORY;
		goto out;
	}
	status = classify_http_status(c, &response, detail, detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	if (request->grant_type == NULL) {
		/* Logout: any 2xx ends the session, and an OAuth error
		 * response gives the reason when it does not. */
		if (response.status >= 200 && response.status < 300)
			goto out;
	}
	status = fc_grant_parse_answer(response.status, response.content_type,
				       response.body.data != NULL ? response.body.data : "",
				       response.body.len, c->default_expires_in,
				       &result->token, &result->oauth_error,
				       detail, detail_size);
out:
	sent_secrets = NULL;
	fc_buf_clear(&form);
	fc_clear_string(&authorization);
	http_response_clear(&response);
	return status;
}

flowcred_status fc_grant_probe(struct fc_http *http,
			       const struct fc_connector *connector,
			       const struct fc_logger *logger,
			       char *detail, size_t detail_size)
{
	const struct fc_grant_request request = { .grant_type = "password" };
	char answer_detail[FLOWCRED_DETAIL_MAX] = "";
	struct fc_grant_result result;
	flowcred_status status;

	status = fc_grant_send(http, connector, &request, logger, &result,
			       answer_detail, sizeof(answer_detail));
	if (status == FLOWCRED_OK) {
		fc_grant_result_clear(&result);
		fc_detail(detail, detail_size,
			  "%s issued a token without a user name; it does not "
			  "behave as Keycloak", connector->token_url);
		return FLOWCRED_PROTOCOL;
	}
	if (strcmp(result.oauth_error.error, "invalid_request") == 0 &&
	    strcmp(result.oauth_error.description,
		   "Missing parameter: username") == 0) {
		fc_detail(detail, detail_size,
			  "%s accepted client '%s' for the password grant",
			  connector->token_url, connector->client_id);
		return FLOWCRED_OK;
	}
	fc_detail(detail, detail_size, "%s", answer_detail);
	return status;
}

flowcred_status fc_logout_url(const struct fc_connector *c, char **url_out)
{
	static const char suffix[] = "/token";
	static const char logout[] = "/logout";
	size_t len = strlen(c->token_url);
	char *query = strchr(c->token_url, '?');
	char *url;

	*url_out = NULL;
	if (c->logout_url != NULL) {
		*url_out = strdup(c->logout_url);
		return *url_out != NULL ? FLOWCRED_OK : FLOWCRED_NO_MEMORY;
	}
	if (query != NULL)
		len = (size_t)(query - c->token_url);
	if (len < sizeof(suffix) - 1 ||
	    memcmp(c->token_url + len - (sizeof(suffix) - 1), suffix,
		   sizeof(suffix) - 1) != 0)
		return FLOWCRED_CONFIG;
	len -= sizeof(suffix) - 1;
	url = malloc(len + sizeof(logout));
	if (url == NULL)
		return FLOWCRED_NO_MEMORY;
	memcpy(url, c->token_url, len);
	memcpy(url + len, logout, sizeof(logout));
	*url_out = url;
	return FLOWCRED_OK;
}
