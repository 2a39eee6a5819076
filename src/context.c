#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "grant.h"
#include "text.h"
#include "wipe.h"

FLOWCRED_EXPORT flowcred_status
flowcred_open(const char *config_path, flowcred_ctx **ctx_out,
	      char *detail, size_t detail_size)
{
	flowcred_ctx *ctx = NULL;
	flowcred_status status;
	const char *path = config_path != NULL ? config_path :
			   FLOWCRED_DEFAULT_CONFIG;

	fc_detail(detail, detail_size, "%s", "");
	if (ctx_out == NULL) {
		fc_detail(detail, detail_size, "ctx_out is NULL");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	*ctx_out = NULL;
	if (path[0] == '\0') {
		fc_detail(detail, detail_size,
			  "the configuration path is empty; pass NULL for %s",
			  FLOWCRED_DEFAULT_CONFIG);
		return FLOWCRED_INVALID_ARGUMENT;
	}
	status = fc_grant_global_init(detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;

	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return FLOWCRED_NO_MEMORY;
	fc_logger_init_default(&ctx->logger);
	status = fc_config_load(path, &ctx->logger, &ctx->config, detail,
				detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	ctx->keyring = fc_keyring_new(ctx->config->keyring_timeout_ms,
				      &ctx->logger);
	if (ctx->keyring == NULL) {
		status = FLOWCRED_NO_MEMORY;
		goto out;
	}
	*ctx_out = ctx;
	ctx = NULL;
out:
	flowcred_close(ctx);
	return status;
}

FLOWCRED_EXPORT void flowcred_close(flowcred_ctx *ctx)
{
	if (ctx == NULL)
		return;
	fc_keyring_free(ctx->keyring);
	fc_config_free(ctx->config);
	free(ctx);
}

FLOWCRED_EXPORT void flowcred_set_log_func(flowcred_ctx *ctx,
					   flowcred_log_func func,
					   void *userdata, int max_priority)
{
	if (ctx == NULL)
		return;
	ctx->logger.func = func;
	ctx->logger.userdata = userdata;
	ctx->logger.max_priority = max_priority;
}

/* Checks a name argument; what names the argument in the detail. */
static flowcred_status check_name(const char *name, const char *what,
				  char *detail, size_t detail_size)
{
	if (fc_name_valid(name))
		return FLOWCRED_OK;
	fc_detail(detail, detail_size,
		  "invalid %s: expected 1 to %d bytes of UTF-8 without control "
		  "characters", what, FC_NAME_MAX);
	return FLOWCRED_INVALID_ARGUMENT;
}

/* Checks the arguments every call shares and finds the connector. With
 * require_valid, a connector whose group is invalid is an error. */
static flowcred_status find_connector(flowcred_ctx *ctx, const char *name,
				      const char *flow_user, int require_valid,
				      const struct fc_connector **connector,
				      char *detail, size_t detail_size)
{
	flowcred_status status;

	fc_detail(detail, detail_size, "%s", "");
	if (ctx == NULL) {
		fc_detail(detail, detail_size, "ctx is NULL");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	status = check_name(name, "connector name", detail, detail_size);
	if (status == FLOWCRED_OK && flow_user != NULL)
		status = check_name(flow_user, "Flow user", detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;
	*connector = fc_config_find(ctx->config, name);
	if (*connector == NULL) {
		fc_detail(detail, detail_size,
			  "no connector '%s' in %s; add a [%s] group", name,
			  ctx->config->path, name);
		return FLOWCRED_NOT_FOUND;
	}
	if (require_valid && (*connector)->error != NULL) {
		fc_detail(detail, detail_size, "%s", (*connector)->error);
		return FLOWCRED_CONFIG;
	}
	return FLOWCRED_OK;
}

/* Copies s into buf when it fits; *len receives its length, or the size
 * buf needs when it does not fit. */
static flowcred_status copy_out(const char *s, char *buf, size_t size,
				size_t *len)
{
	size_t n = strlen(s);

	if (buf == NULL || n + 1 > size) {
		*len = n + 1;
		return FLOWCRED_BUFFER_TOO_SMALL;
	}
	memcpy(buf, s, n + 1);
	*len = n;
	return FLOWCRED_OK;
}

/* Reads the IFS user, and the stored password when password is NULL. */
static flowcred_status read_credentials(flowcred_ctx *ctx,
					const char *connector,
					const char *flow_user,
					const char *password, char **ifs_user,
					char **stored_password,
					char *detail, size_t detail_size)
{
	flowcred_status status;

	status = fc_keyring_lookup(ctx->keyring, connector, flow_user, ifs_user,
				   password == NULL ? stored_password : NULL,
				   detail, detail_size);
	if (status != FLOWCRED_OK || password != NULL)
		return status;
	if (*stored_password == NULL) {
		fc_detail(detail, detail_size,
			  "no password stored for Flow user '%s' on connector "
			  "'%s': it is an interactive user; pass the password, "
			  "or store one with: flowcred store %s %s --ifs-user %s "
			  "--password-stdin", flow_user, connector, connector,
			  flow_user, *ifs_user);
		return FLOWCRED_NOT_FOUND;
	}
	return FLOWCRED_OK;
}

FLOWCRED_EXPORT flowcred_status
flowcred_get_token(flowcred_ctx *ctx, const char *connector,
		   const char *flow_user, const char *password,
		   char *token, size_t token_size, size_t *token_len,
		   char *token_type, int64_t *expires_at,
		   char *detail, size_t detail_size)
{
	const struct fc_connector *c = NULL;
	struct fc_token answer = { 0 };
	char *stored_password = NULL;
	char *ifs_user = NULL;
	flowcred_status status;
	const char *mode = password != NULL ? "interactive" : "stored password";

	status = find_connector(ctx, connector, flow_user, 1, &c, detail,
				detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	if (token_len == NULL || (password != NULL && password[0] == '\0')) {
		fc_detail(detail, detail_size, "%s",
			  token_len == NULL ? "token_len is NULL" :
					      "the password is empty");
		status = FLOWCRED_INVALID_ARGUMENT;
		goto out;
	}
	status = read_credentials(ctx, connector, flow_user, password,
				  &ifs_user, &stored_password, detail,
				  detail_size);
	if (status != FLOWCRED_OK)
		goto out;

	status = fc_grant_password(c, ifs_user,
				   password != NULL ? password : stored_password,
				   &ctx->logger, &answer, detail, detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	status = copy_out(answer.access_token, token, token_size, token_len);
	if (status != FLOWCRED_OK) {
		fc_detail(detail, detail_size,
			  "the token needs a buffer of %zu bytes, not %zu",
			  *token_len, token_size);
		goto out;
	}
	if (token_type != NULL)
		memcpy(token_type, answer.token_type, sizeof(answer.token_type));
	if (expires_at != NULL)
		*expires_at = (int64_t)time(NULL) + answer.expires_in;
	fc_detail(detail, detail_size,
		  "token issued for IFS user '%s', valid for %lld s", ifs_user,
		  answer.expires_in);
out:
	if (status == FLOWCRED_OK)
		fc_log(&ctx->logger, LOG_INFO,
		       "connector '%s': token issued for Flow user '%s' (IFS "
		       "user '%s', %s), valid for %lld s", connector, flow_user,
		       ifs_user, mode, answer.expires_in);
	else if (ctx != NULL && status != FLOWCRED_INVALID_ARGUMENT)
		fc_log(&ctx->logger,
		       status == FLOWCRED_DENIED ? LOG_NOTICE : LOG_ERR,
		       "connector '%s': no token for Flow user '%s' (%s): %s: %s",
		       connector, flow_user, mode, flowcred_strerror(status),
		       detail != NULL ? detail : "");
	fc_token_clear(&answer);
	fc_clear_string(&stored_password);
	free(ifs_user);
	return status;
}

FLOWCRED_EXPORT flowcred_status
flowcred_store_credentials(flowcred_ctx *ctx, const char *connector,
			   const char *flow_user, const char *ifs_user,
			   const char *password,
			   char *detail, size_t detail_size)
{
	const struct fc_connector *c;
	flowcred_status status;

	status = find_connector(ctx, connector, flow_user, 0, &c, detail,
				detail_size);
	if (status == FLOWCRED_OK)
		status = check_name(ifs_user, "IFS user", detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;
	if (password != NULL && password[0] == '\0') {
		fc_detail(detail, detail_size,
			  "the password is empty; pass NULL to store an "
			  "interactive user without a password");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	status = fc_keyring_store(ctx->keyring, connector, flow_user, ifs_user,
				  password, detail, detail_size);
	if (status == FLOWCRED_OK)
		fc_log(&ctx->logger, LOG_NOTICE,
		       "connector '%s': stored credentials of Flow user '%s' "
		       "(IFS user '%s', %s)", connector, flow_user, ifs_user,
		       password != NULL ? "with password" : "interactive");
	return status;
}

FLOWCRED_EXPORT flowcred_status
flowcred_lookup_credentials(flowcred_ctx *ctx, const char *connector,
			    const char *flow_user,
			    char *ifs_user, size_t ifs_user_size,
			    size_t *ifs_user_len, int *has_password,
			    char *detail, size_t detail_size)
{
	const struct fc_connector *c;
	flowcred_status status;
	char *password = NULL;
	char *stored_user = NULL;

	status = find_connector(ctx, connector, flow_user, 0, &c, detail,
				detail_size);
	if (status != FLOWCRED_OK)
		return status;
	if (ifs_user_len == NULL || has_password == NULL) {
		fc_detail(detail, detail_size,
			  "ifs_user_len and has_password must not be NULL");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	status = fc_keyring_lookup(ctx->keyring, connector, flow_user,
				   &stored_user, &password, detail,
				   detail_size);
	if (status != FLOWCRED_OK)
		return status;
	status = copy_out(stored_user, ifs_user, ifs_user_size, ifs_user_len);
	if (status == FLOWCRED_OK)
		*has_password = password != NULL;
	else
		fc_detail(detail, detail_size,
			  "the IFS user needs a buffer of %zu bytes",
			  *ifs_user_len);
	fc_clear_string(&password);
	free(stored_user);
	return status;
}

FLOWCRED_EXPORT flowcred_status
flowcred_clear_credentials(flowcred_ctx *ctx, const char *connector,
			   const char *flow_user,
			   char *detail, size_t detail_size)
{
	const struct fc_connector *c;
	flowcred_status status;

	status = find_connector(ctx, connector, flow_user, 0, &c, detail,
				detail_size);
	if (status != FLOWCRED_OK)
		return status;
	status = fc_keyring_clear(ctx->keyring, connector, flow_user, detail,
				  detail_size);
	if (status == FLOWCRED_OK)
		fc_log(&ctx->logger, LOG_NOTICE,
		       "connector '%s': cleared credentials of Flow user '%s'",
		       connector, flow_user);
	return status;
}

FLOWCRED_EXPORT flowcred_status
flowcred_list_credentials(flowcred_ctx *ctx, const char *connector,
			  flowcred_list_func func, void *userdata,
			  char *detail, size_t detail_size)
{
	fc_detail(detail, detail_size, "%s", "");
	if (ctx == NULL || func == NULL) {
		fc_detail(detail, detail_size, "ctx and func must not be NULL");
		return FLOWCRED_INVALID_ARGUMENT;
	}
	if (connector != NULL && !fc_name_valid(connector))
		return check_name(connector, "connector name", detail,
				  detail_size);
	return fc_keyring_list(ctx->keyring, connector, func, userdata, detail,
			       detail_size);
}

static int count_item(const char *connector, const char *flow_user,
		      const char *ifs_user, int has_password, void *userdata)
{
	(void)connector;
	(void)flow_user;
	(void)ifs_user;
	(void)has_password;
	(*(size_t *)userdata)++;
	return 0;
}

FLOWCRED_EXPORT flowcred_status
flowcred_check_connector(flowcred_ctx *ctx, const char *connector,
			 char *detail, size_t detail_size)
{
	char keyring_detail[FLOWCRED_DETAIL_MAX] = "";
	char endpoint_detail[FLOWCRED_DETAIL_MAX] = "";
	const struct fc_connector *c;
	flowcred_status keyring_status;
	flowcred_status status;
	size_t items = 0;

	status = find_connector(ctx, connector, NULL, 1, &c, detail,
				detail_size);
	if (status != FLOWCRED_OK)
		return status;
	keyring_status = fc_keyring_list(ctx->keyring, connector, count_item,
					 &items, keyring_detail,
					 sizeof(keyring_detail));
	if (keyring_status == FLOWCRED_OK)
		snprintf(keyring_detail, sizeof(keyring_detail),
			 "%zu credential item%s", items,
			 items == 1 ? "" : "s");
	status = fc_grant_probe(c, &ctx->logger, endpoint_detail,
				sizeof(endpoint_detail));
	fc_detail(detail, detail_size,
		  "configuration valid; keyring: %s; token endpoint: %s",
		  keyring_detail, endpoint_detail);
	return keyring_status != FLOWCRED_OK ? keyring_status : status;
}
