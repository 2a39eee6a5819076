/* The configuration file: one GKeyFile group per connector, plus the
 * reserved group [flowcred] for library-wide settings. */
#ifndef FC_CONF_H
#define FC_CONF_H

#include <stddef.h>
#include <sys/stat.h>

#include "flowcred.h"
#include "log.h"

/* Name of the group that contains library-wide settings. */
#define FC_GLOBAL_GROUP "flowcred"

/* Scope sent when a connector sets none: what IFS Cloud documents for
 * the password grant. */
#define FC_DEFAULT_SCOPE "openid microprofile-jwt"

enum fc_client_auth {
	FC_CLIENT_AUTH_POST,	/* client_secret_post: credentials in the body */
	FC_CLIENT_AUTH_BASIC	/* client_secret_basic: HTTP Basic */
};

struct fc_connector {
	char *name;
	char *token_url;
	char *client_id;
	char *client_secret;	/* NULL for a public client; wiped when freed */
	char *scope;
	enum fc_client_auth client_auth;
	char *ca_file;		/* NULL: the system's CA store */
	char *proxy;		/* NULL: no proxy, whatever the environment */
	long connect_timeout_ms;
	long timeout_ms;
	long default_expires_in;	/* seconds */
	long expiry_margin;	/* seconds before expiry a token is renewed */
	long denied_backoff;	/* seconds a rejected stored password rests */
	long retry_backoff;	/* seconds of pause after 5xx or 429 */
	int logout;		/* end IAM sessions when the context closes */
	char *logout_url;	/* NULL: derived from token_url */
	size_t max_response_size;	/* bytes */
	char *error;		/* why the group is invalid, or NULL */
};

struct fc_config {
	char *path;
	struct stat file_stat;	/* of the file as it was read */
	long keyring_timeout_ms;
	struct fc_connector *connectors;
	size_t n_connectors;
};

/* Loads and checks the file at path. On FLOWCRED_OK *config_out owns a
 * configuration to release with fc_config_free(). Invalid connector
 * groups are kept with their error set and logged at LOG_ERR; only
 * problems with the file as a whole fail the call. */
flowcred_status fc_config_load(const char *path,
			       const struct fc_logger *logger,
			       struct fc_config **config_out,
			       char *detail, size_t detail_size);

/* Returns the connector named name, or NULL. */
const struct fc_connector *fc_config_find(const struct fc_config *config,
					  const char *name);

/* Checks that the file open at fd, named path, is safe to read secrets
 * from: a regular file owned by root or the effective user, not writable
 * by group or others, and not readable by others when holds_secret. */
flowcred_status fc_config_check_file_mode(int fd, const char *path,
					  int holds_secret,
					  char *detail, size_t detail_size);

void fc_config_free(struct fc_config *config);

#endif
