/* The OAuth 2.0 password grant (RFC 6749 section 4.3) against a
 * Keycloak token endpoint, and the parsing of its responses. */
#ifndef FC_GRANT_H
#define FC_GRANT_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "flowcred.h"
#include "log.h"

/* A token response that passed validation. */
struct fc_token {
	char *access_token;	/* wiped by fc_token_clear() */
	char *refresh_token;	/* NULL when none was issued */
	char token_type[FLOWCRED_TOKEN_TYPE_MAX];
	long long expires_in;	/* seconds */
	long long refresh_expires_in;	/* seconds, 0 when absent */
};

/* The error code and description of an OAuth error response, as sent. */
struct fc_oauth_error {
	char error[64];
	char description[160];
};

/* Wipes and frees the token's secrets and zeroes the structure. */
void fc_token_clear(struct fc_token *token);

/* Initialises libcurl once per process; safe from any thread. */
flowcred_status fc_grant_global_init(char *detail, size_t detail_size);

/* Connections, TLS sessions and DNS lookups shared by every request of
 * a context, with the locks libcurl's share interface needs. */
struct fc_http;

/* Returns a new share, or NULL when out of memory. */
struct fc_http *fc_http_new(void);

void fc_http_free(struct fc_http *http);

/* One request to the token endpoint, or to the logout endpoint when
 * grant_type is NULL. Unset fields are not sent. Client authentication
 * and, for the password grant, the scope come from the connector. */
struct fc_grant_request {
	const char *grant_type;
	const char *username;
	const char *password;
	const char *refresh_token;
	const char *url;	/* NULL: the connector's token_url */
};

/* The outcome of one request. */
struct fc_grant_result {
	struct fc_token token;	/* filled on FLOWCRED_OK for a grant */
	struct fc_oauth_error oauth_error;
	long http_status;	/* 0 when no response arrived */
	long retry_after;	/* seconds from Retry-After, or -1 */
};

/* Sends request and classifies the response. http may be NULL for a
 * connection of its own. The caller releases *result with
 * fc_grant_result_clear() whatever the status. */
flowcred_status fc_grant_send(struct fc_http *http,
			      const struct fc_connector *connector,
			      const struct fc_grant_request *request,
			      const struct fc_logger *logger,
			      struct fc_grant_result *result,
			      char *detail, size_t detail_size);

void fc_grant_result_clear(struct fc_grant_result *result);

/* Sends a password grant without user name. Keycloak authenticates the
 * client and checks Direct Access Grants before it looks for the user
 * name, so invalid_request "Missing parameter: username" proves that the
 * endpoint accepts the client; FLOWCRED_OK stands for that response. */
flowcred_status fc_grant_probe(struct fc_http *http,
			       const struct fc_connector *connector,
			       const struct fc_logger *logger,
			       char *detail, size_t detail_size);

/* Returns in *url_out (free()) the connector's logout endpoint:
 * logout_url, or token_url with its final "/token" replaced by
 * "/logout". FLOWCRED_CONFIG when token_url does not end in "/token". */
flowcred_status fc_logout_url(const struct fc_connector *connector,
			      char **url_out);

/* Converts a Retry-After value, seconds or an HTTP date, into seconds
 * from now, capped at one hour. Returns -1 when value is NULL or
 * invalid. */
long fc_parse_retry_after(const char *value, time_t now);

/* Classifies one response of the token endpoint: http_status, its
 * Content-Type (may be NULL) and body[0..len). On FLOWCRED_OK *token is
 * filled; expires_in falls back to default_expires_in when absent.
 * oauth_error, if not NULL, receives the error fields of an error
 * response and is emptied otherwise. */
flowcred_status fc_grant_parse_answer(long http_status,
				      const char *content_type,
				      const char *body, size_t len,
				      long default_expires_in,
				      struct fc_token *token,
				      struct fc_oauth_error *oauth_error,
				      char *detail, size_t detail_size);

#endif
