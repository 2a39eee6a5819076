/* libFuzzer target for fc_grant_parse_answer(): token responses, OAuth
 * error responses and whatever a proxy or a broken server may send.
 *
 * Input format, so that seeds stay readable: an optional first line
 * "STATUS CONTENT-TYPE\n" followed by the body. STATUS is decimal digits;
 * a missing CONTENT-TYPE is passed as NULL. An input whose first line
 * does not start with a digit is a whole body answered with HTTP 200 and
 * no Content-Type.
 *
 * The Content-Type text is also parsed as a Retry-After value with
 * fc_parse_retry_after(), whose result must be -1 or 0 to one hour.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grant.h"

/* Same value the library uses when a connector sets none. */
#define DEFAULT_EXPIRES_IN 60
#define LIFETIME_MAX (366LL * 24 * 3600)
#define RETRY_AFTER_MAX 3600
/* A fixed "now" (2026-01-01T00:00:00Z) keeps runs reproducible. */
#define FIXED_NOW ((time_t)1767225600)

/* Aborts when s has no NUL within size bytes. */
static void require_terminated(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

/* Splits the optional "STATUS CONTENT-TYPE" line off the input. Returns
 * the offset of the body. */
static size_t split_header(const uint8_t *data, size_t size, long *status,
			   char *content_type, size_t content_type_size,
			   int *has_content_type)
{
	const uint8_t *newline;
	size_t line_len;
	size_t i = 0;
	long value = 0;

	*status = 200;
	*has_content_type = 0;
	if (size == 0 || data[0] < '0' || data[0] > '9')
		return 0;
	newline = memchr(data, '\n', size);
	if (newline == NULL)
		return 0;
	line_len = (size_t)(newline - data);
	for (; i < line_len && data[i] >= '0' && data[i] <= '9' && i < 6; i++)
		value = value * 10 + (data[i] - '0');
	*status = value;
	if (i < line_len && data[i] == ' ') {
		size_t n = line_len - i - 1;

		if (n >= content_type_size)
			n = content_type_size - 1;
		memcpy(content_type, data + i + 1, n);
		content_type[n] = '\0';
		/* A Content-Type with a NUL cannot come from libcurl. */
		*has_content_type = strlen(content_type) == n;
	}
	return line_len + 1;
}

static void check_token(const struct fc_token *token)
{
	const char *p;

	if (token->access_token == NULL || token->access_token[0] == '\0')
		abort();
	/* RFC 6750 section 2.1 b64token: what may follow "Bearer ". */
	for (p = token->access_token; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || strchr("-._~+/=", *p) != NULL))
			abort();
	}
	if (strcmp(token->token_type, "Bearer") != 0)
		abort();
	if (token->expires_in < 1 || token->expires_in > LIFETIME_MAX)
		abort();
	if (token->refresh_expires_in < 0 ||
	    token->refresh_expires_in > LIFETIME_MAX)
		abort();
	if (token->refresh_token != NULL && token->refresh_token[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char detail[FLOWCRED_DETAIL_MAX];
	char small_detail[24];
	char content_type[128];
	struct fc_oauth_error oauth_error;
	struct fc_token token;
	flowcred_status status;
	flowcred_status again;
	int has_content_type;
	size_t offset;
	long http_status;
	char *body;
	size_t len;

	offset = split_header(data, size, &http_status, content_type,
			      sizeof(content_type), &has_content_type);
	len = size - offset;
	/* An exact-size copy, so ASan reports any read past the body. */
	body = malloc(len != 0 ? len : 1);
	if (body == NULL)
		return 0;
	if (len != 0)
		memcpy(body, data + offset, len);

	memset(detail, 'x', sizeof(detail));
	status = fc_grant_parse_answer(http_status,
				       has_content_type ? content_type : NULL,
				       body, len, DEFAULT_EXPIRES_IN, &token,
				       &oauth_error, detail, sizeof(detail));
	if (status > FLOWCRED_INTERNAL)
		abort();
	require_terminated(oauth_error.error, sizeof(oauth_error.error));
	require_terminated(oauth_error.description,
			   sizeof(oauth_error.description));
	if (status == FLOWCRED_OK) {
		check_token(&token);
		if (http_status != 200)
			abort();
	} else {
		require_terminated(detail, sizeof(detail));
		if (detail[0] == '\0')
			abort();
		if (token.access_token != NULL || token.refresh_token != NULL)
			abort();
	}
	fc_token_clear(&token);

	/* A small detail buffer and no oauth_error: same status, the
	 * message truncated but terminated. */
	again = fc_grant_parse_answer(http_status,
				      has_content_type ? content_type : NULL,
				      body, len, DEFAULT_EXPIRES_IN, &token,
				      NULL, small_detail,
				      sizeof(small_detail));
	if (again != status)
		abort();
	if (again != FLOWCRED_OK)
		require_terminated(small_detail, sizeof(small_detail));
	fc_token_clear(&token);

	if (has_content_type) {
		long retry_after = fc_parse_retry_after(content_type, FIXED_NOW);

		if (retry_after < -1 || retry_after > RETRY_AFTER_MAX)
			abort();
	}
	free(body);
	return 0;
}
