/* The OAuth 2.0 password grant (RFC 6749 section 4.3) against a
 * Keycloak token endpoint, and the parsing of its answers. */
#ifndef FC_GRANT_H
#define FC_GRANT_H

#include <stddef.h>

#include "conf.h"
#include "flowcred.h"
#include "log.h"

/* A token answer that passed validation. */
struct fc_token {
	char *access_token;	/* wiped by fc_token_clear() */
	char *refresh_token;	/* NULL when none was issued */
	char token_type[FLOWCRED_TOKEN_TYPE_MAX];
	long long expires_in;	/* seconds */
	long long refresh_expires_in;	/* seconds, 0 when absent */
};

/* The error code and description of an OAuth error answer, as sent. */
struct fc_oauth_error {
	char error[64];
	char description[160];
};

/* Wipes and frees the token's secrets and zeroes the structure. */
void fc_token_clear(struct fc_token *token);

/* Initialises libcurl once per process; safe from any thread. */
flowcred_status fc_grant_global_init(char *detail, size_t detail_size);

/* Performs the password grant for the IFS user username. On FLOWCRED_OK
 * *token receives the validated answer, to release with
 * fc_token_clear(). */
flowcred_status fc_grant_password(const struct fc_connector *connector,
				  const char *username, const char *password,
				  const struct fc_logger *logger,
				  struct fc_token *token,
				  char *detail, size_t detail_size);

/* Sends a password grant without user name. Keycloak authenticates the
 * client and checks Direct Access Grants before it looks for the user
 * name, so invalid_request "Missing parameter: username" proves that the
 * endpoint accepts the client; FLOWCRED_OK stands for that answer. */
flowcred_status fc_grant_probe(const struct fc_connector *connector,
			       const struct fc_logger *logger,
			       char *detail, size_t detail_size);

/* Classifies one answer of the token endpoint: http_status, its
 * Content-Type (may be NULL) and body[0..len). On FLOWCRED_OK *token is
 * filled; expires_in falls back to default_expires_in when absent.
 * oauth_error, if not NULL, receives the error fields of an error
 * answer and is emptied otherwise. */
flowcred_status fc_grant_parse_answer(long http_status,
				      const char *content_type,
				      const char *body, size_t len,
				      long default_expires_in,
				      struct fc_token *token,
				      struct fc_oauth_error *oauth_error,
				      char *detail, size_t detail_size);

#endif
