#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "grant.h"
#include "kcache.h"
#include "text.h"
#include "wipe.h"

/* Maximum length of a cache key: two names, the separators and a fingerprint. */
#define FC_KEY_MAX (2 * FC_NAME_MAX + FC_FINGERPRINT_LEN + 8)

/* Separator inside cache keys; fc_name_valid() rejects it in names. */
#define FC_KEY_SEPARATOR '\x1f'

/* Builds the cache key of a Flow user of a connector: for a typed
 * password its fingerprint is part of the key, so a token is only ever
 * returned to a caller who knows the password that obtained it. */
static void build_key(char *key, const char *connector, const char *flow_user,
		      const char *fingerprint)
{
	size_t c = strlen(connector);
	size_t f = strlen(flow_user);
	char *p = key;

	memcpy(p, connector, c);
	p += c;
	*p++ = FC_KEY_SEPARATOR;
	memcpy(p, flow_user, f);
	p += f;
	*p++ = FC_KEY_SEPARATOR;
	if (fingerprint == NULL) {
		*p++ = 's';
	} else {
		*p++ = 'p';
		memcpy(p, fingerprint, FC_FINGERPRINT_LEN);
		p += FC_FINGERPRINT_LEN;
	}
	*p = '\0';
}

/* Copies the entry's token to the caller. The cache lock must be held. */
static flowcred_status serve(const struct fc_entry *entry, char *token,
			     size_t token_size, size_t *token_len,
			     char *token_type, int64_t *expires_at,
			     char *detail, size_t detail_size)
{
	if (token == NULL || entry->access_token_len + 1 > token_size) {
		*token_len = entry->access_token_len + 1;
		fc_detail(detail, detail_size,
			  "the token needs a buffer of %zu bytes, not %zu",
			  *token_len, token_size);
		return FLOWCRED_BUFFER_TOO_SMALL;
	}
	memcpy(token, entry->access_token, entry->access_token_len + 1);
	*token_len = entry->access_token_len;
	if (token_type != NULL)
		memcpy(token_type, entry->token_type, FLOWCRED_TOKEN_TYPE_MAX);
	if (expires_at != NULL)
		*expires_at = entry->expires_at;
	return FLOWCRED_OK;
}

/* Returns the status of a back-off in force for the connector, or
 * FLOWCRED_OK. */
static flowcred_status check_backoff(flowcred_ctx *ctx,
				     const struct fc_connector *c,
				     char *detail, size_t detail_size)
{
	struct fc_backoff *backoff;
	flowcred_status status = FLOWCRED_OK;
	int64_t now = fc_now_ns();

	pthread_mutex_lock(&ctx->cache.lock);
	backoff = g_hash_table_lookup(ctx->cache.backoffs, c->name);
	if (backoff != NULL && now < backoff->until_ns) {
		status = backoff->status;
		fc_detail(detail, detail_size,
			  "%s; no request to the token endpoint for another "
			  "%lld s", backoff->detail,
			  (long long)((backoff->until_ns - now) / 1000000000 + 1));
	}
	pthread_mutex_unlock(&ctx->cache.lock);
	return status;
}

/* Starts or ends a back-off after a response: 429 and 5xx pause requests
 * for the Retry-After time or retry_backoff seconds. */
static void note_backoff(flowcred_ctx *ctx, const struct fc_connector *c,
			 flowcred_status status,
			 const struct fc_grant_result *result,
			 const char *detail)
{
	struct fc_backoff *backoff;
	long seconds = result->retry_after >= 0 ? result->retry_after :
						  c->retry_backoff;
	int pause = status == FLOWCRED_TRY_AGAIN ||
		    (status == FLOWCRED_UNAVAILABLE && result->http_status >= 500);
	char *name;

	pthread_mutex_lock(&ctx->cache.lock);
	if (!pause || seconds <= 0) {
		if (status == FLOWCRED_OK)
			g_hash_table_remove(ctx->cache.backoffs, c->name);
		goto out;
	}
	backoff = g_hash_table_lookup(ctx->cache.backoffs, c->name);
	if (backoff == NULL) {
		backoff = calloc(1, sizeof(*backoff));
		name = strdup(c->name);
		if (backoff == NULL || name == NULL) {
			free(backoff);
			free(name);
			goto out;
		}
		g_hash_table_insert(ctx->cache.backoffs, name, backoff);
	}
	backoff->until_ns = fc_now_ns() + (int64_t)seconds * 1000000000;
	backoff->status = status;
	g_strlcpy(backoff->detail, detail, sizeof(backoff->detail));
	fc_log(&ctx->logger, LOG_NOTICE,
	       "connector '%s': pausing requests to the token endpoint for "
	       "%ld s after HTTP %ld", c->name, seconds, result->http_status);
out:
	pthread_mutex_unlock(&ctx->cache.lock);
}

static void build_guard_key(char *key, const char *connector,
			    const char *ifs_user)
{
	size_t c = strlen(connector);

	memcpy(key, connector, c);
	key[c] = FC_KEY_SEPARATOR;
	memcpy(key + c + 1, ifs_user, strlen(ifs_user) + 1);
}

/* Rejects a stored password that IFS rejected less than denied_backoff
 * seconds ago: Keycloak counts every failure toward its brute-force
 * lockout, so resending it would lock the IFS account. */
static flowcred_status check_guard(flowcred_ctx *ctx,
				   const struct fc_connector *c,
				   const char *flow_user, const char *ifs_user,
				   const char *password, const char *fingerprint,
				   char *detail, size_t detail_size)
{
	char key[FC_KEY_MAX];
	struct fc_guard *guard;
	int64_t now = fc_now_ns();
	long long left = 0;

	build_guard_key(key, c->name, ifs_user);
	pthread_mutex_lock(&ctx->cache.lock);
	guard = g_hash_table_lookup(ctx->cache.guards, key);
	if (guard != NULL && now < guard->until_ns &&
	    strcmp(guard->fingerprint, fingerprint) == 0)
		left = (guard->until_ns - now) / 1000000000 + 1;
	pthread_mutex_unlock(&ctx->cache.lock);
	/* Other processes of this user, such as earlier runs of the
	 * flowcred CLI, record their rejections in the kernel keyring. */
	if (left == 0 && ctx->kernel_cache)
		left = fc_kcache_guard_left(ctx, c, ifs_user, password);
	if (left > 0) {
		fc_detail(detail, detail_size,
			  "IFS rejected the stored password of IFS user '%s'; "
			  "it is not sent again for another %lld s so that the "
			  "IFS account is not locked; store the right password "
			  "with: flowcred store %s %s --ifs-user %s "
			  "--password-stdin", ifs_user, left, c->name,
			  flow_user, ifs_user);
		return FLOWCRED_DENIED;
	}
	return FLOWCRED_OK;
}

/* Records the outcome of a grant with a stored password: a rejection
 * starts the guard, a success lifts it. */
static void note_guard(flowcred_ctx *ctx, const struct fc_connector *c,
		       const char *ifs_user, const char *fingerprint,
		       flowcred_status status)
{
	char key[FC_KEY_MAX];
	struct fc_guard *guard;
	char *key_copy;

	build_guard_key(key, c->name, ifs_user);
	pthread_mutex_lock(&ctx->cache.lock);
	if (status != FLOWCRED_DENIED || c->denied_backoff == 0) {
		if (status == FLOWCRED_OK)
			g_hash_table_remove(ctx->cache.guards, key);
		goto out;
	}
	guard = g_hash_table_lookup(ctx->cache.guards, key);
	if (guard == NULL) {
		guard = calloc(1, sizeof(*guard));
		key_copy = strdup(key);
		if (guard == NULL || key_copy == NULL) {
			free(guard);
			free(key_copy);
			goto out;
		}
		g_hash_table_insert(ctx->cache.guards, key_copy, guard);
	}
	g_strlcpy(guard->fingerprint, fingerprint, sizeof(guard->fingerprint));
	guard->until_ns = fc_now_ns() + (int64_t)c->denied_backoff * 1000000000;
	fc_log(&ctx->logger, LOG_WARNING,
	       "connector '%s': IFS rejected the stored password of IFS user "
	       "'%s'; it is not sent again for %ld s unless a new one is stored",
	       c->name, ifs_user, c->denied_backoff);
out:
	pthread_mutex_unlock(&ctx->cache.lock);
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

	free(*ifs_user);
	*ifs_user = NULL;
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

/* Uses the refresh token. Returns FLOWCRED_OK with the new token, or the
 * failure; *fall_back is set when a password grant may follow. */
static flowcred_status refresh(flowcred_ctx *ctx, const struct fc_connector *c,
			       const char *refresh_token,
			       struct fc_grant_result *result, int *fall_back,
			       char *detail, size_t detail_size)
{
	struct fc_grant_request request = {
		.grant_type = "refresh_token",
		.refresh_token = refresh_token,
	};
	flowcred_status status;

	status = fc_grant_send(ctx->http, c, &request, &ctx->logger, result,
			       detail, detail_size);
	note_backoff(ctx, c, status, result, detail);
	*fall_back = status != FLOWCRED_OK &&
		     strcmp(result->oauth_error.error, "invalid_grant") == 0;
	if (*fall_back)
		fc_log(&ctx->logger, LOG_INFO,
		       "connector '%s': the refresh token was refused (%s); "
		       "using the password grant", c->name,
		       result->oauth_error.description);
	return status;
}

/* Obtains a new token for a cache entry: with the refresh token while it
 * is valid, else, or when IFS refuses it, with the password grant. Only
 * one caller per entry runs this at a time.
 *
 * On entry *ifs_user and fingerprint describe the cached token: its IFS
 * user (NULL for none) and the fingerprint of the stored password that
 * obtained it ("" for none). The keyring is read first, so a changed IFS
 * user or stored password ends the old session instead of refreshing
 * it. On success both describe the new token. */
static flowcred_status renew(flowcred_ctx *ctx, const struct fc_connector *c,
			     const char *flow_user, const char *password,
			     const char *refresh_token, char **ifs_user,
			     char *fingerprint, struct fc_grant_result *result,
			     char *detail, size_t detail_size)
{
	struct fc_grant_request request = { .grant_type = "password" };
	char current_fingerprint[FC_FINGERPRINT_LEN + 1] = "";
	char *stored_password = NULL;
	char *current_user = NULL;
	flowcred_status status;
	int fall_back = 1;

	status = check_backoff(ctx, c, detail, detail_size);
	if (status != FLOWCRED_OK)
		return status;
	if (password != NULL && *ifs_user != NULL) {
		/* IFS checks a typed password at every password grant, so
		 * the IFS user it was sent for needs no second keyring
		 * read, which would cost milliseconds. */
		current_user = strdup(*ifs_user);
		status = current_user != NULL ? FLOWCRED_OK : FLOWCRED_NO_MEMORY;
		if (status != FLOWCRED_OK)
			goto out;
	} else {
		status = read_credentials(ctx, c->name, flow_user, password,
					  &current_user, &stored_password,
					  detail, detail_size);
	}
	if (status == FLOWCRED_OK) {
		if (password == NULL)
			fc_cache_fingerprint(&ctx->cache, stored_password,
					     current_fingerprint);
		/* A token adopted from the kernel key cache comes without
		 * a fingerprint; flowcred store removes such tokens, so
		 * only its IFS user is compared. */
		if (refresh_token != NULL && *ifs_user != NULL &&
		    (strcmp(*ifs_user, current_user) != 0 ||
		     (fingerprint[0] != '\0' &&
		      strcmp(fingerprint, current_fingerprint) != 0))) {
			fc_log(&ctx->logger, LOG_INFO,
			       "connector '%s': the keyring item of Flow user "
			       "'%s' changed; starting a new session", c->name,
			       flow_user);
			refresh_token = NULL;
		}
	} else if (refresh_token == NULL || status != FLOWCRED_UNAVAILABLE) {
		/* No credentials, or none any more: a cleared item ends
		 * the user's tokens. Only a keyring outage lets a refresh
		 * go ahead unchecked. */
		goto out;
	}

	if (refresh_token != NULL) {
		status = refresh(ctx, c, refresh_token, result, &fall_back,
				 detail, detail_size);
		if (status == FLOWCRED_OK || !fall_back || current_user == NULL)
			goto out;
		fc_grant_result_clear(result);
	}

	if (password == NULL) {
		status = check_guard(ctx, c, flow_user, current_user,
				     stored_password, current_fingerprint,
				     detail, detail_size);
		if (status != FLOWCRED_OK)
			goto out;
	}
	request.username = current_user;
	request.password = password != NULL ? password : stored_password;
	status = fc_grant_send(ctx->http, c, &request, &ctx->logger, result,
			       detail, detail_size);
	note_backoff(ctx, c, status, result, detail);
	if (password == NULL)
		note_guard(ctx, c, current_user, current_fingerprint, status);
	if (password == NULL && ctx->kernel_cache)
		fc_kcache_note_guard(ctx, c, current_user, stored_password,
				     status);
	if (status == FLOWCRED_OK) {
		free(*ifs_user);
		*ifs_user = current_user;
		current_user = NULL;
		memcpy(fingerprint, current_fingerprint,
		       sizeof(current_fingerprint));
	}
out:
	free(current_user);
	fc_clear_string(&stored_password);
	return status;
}

/* Waits while another caller renews the entry of key. Returns 1 when
 * the caller must renew it itself, or 0 with *status set: FLOWCRED_OK
 * once a token was served. The cache lock must be held. */
static int wait_for_token(flowcred_ctx *ctx, const struct fc_connector *c,
			  const char *key, flowcred_status *status,
			  char *token, size_t token_size, size_t *token_len,
			  char *token_type, int64_t *expires_at,
			  char *detail, size_t detail_size)
{
	struct fc_entry *entry;
	struct timespec deadline;
	unsigned long flights;
	int64_t wait_ns;
	int landed = 0;
	int rc = 0;

	for (;;) {
		entry = fc_cache_entry(&ctx->cache, key, NULL, NULL, 0);
		if (entry != NULL && entry->access_token != NULL &&
		    fc_now_ns() < (landed ? entry->expires_ns : entry->renew_ns)) {
			*status = serve(entry, token, token_size, token_len,
					token_type, expires_at, detail,
					detail_size);
			return 0;
		}
		if (landed && entry != NULL && entry->last_status != FLOWCRED_OK) {
			*status = entry->last_status;
			fc_detail(detail, detail_size, "%s", entry->last_detail);
			return 0;
		}
		if (entry == NULL || !entry->in_flight)
			return 1;

		/* The renewal in flight is bounded by the connector's
		 * timeouts and the keyring's; wait a little longer. */
		wait_ns = ((int64_t)c->connect_timeout_ms + c->timeout_ms) *
				  2000000 +
			  (int64_t)ctx->config->keyring_timeout_ms * 4000000;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += (time_t)(wait_ns / 1000000000);
		flights = entry->flights;
		entry->waiters++;
		while (entry->in_flight && entry->flights == flights && rc == 0)
			rc = pthread_cond_timedwait(&ctx->cache.landed,
						    &ctx->cache.lock, &deadline);
		entry->waiters--;
		if (rc == ETIMEDOUT) {
			*status = FLOWCRED_UNAVAILABLE;
			fc_detail(detail, detail_size,
				  "a concurrent request for the same token did "
				  "not finish within %lld s",
				  (long long)(wait_ns / 1000000000));
			return 0;
		}
		landed = 1;
	}
}

/* Stores the outcome of a renewal in its entry and wakes the waiters.
 * A cached token that has not expired yet outlives a failure to reach
 * the endpoint. The cache lock must be held. */
static flowcred_status land(flowcred_ctx *ctx, const struct fc_connector *c,
			    struct fc_entry *entry, flowcred_status status,
			    struct fc_grant_result *result, char **ifs_user,
			    char *detail, size_t detail_size)
{
	if (status == FLOWCRED_OK) {
		fc_entry_set_token(entry, result->token.access_token,
				   result->token.refresh_token,
				   result->token.token_type,
				   result->token.expires_in,
				   result->token.refresh_expires_in,
				   c->expiry_margin);
		result->token.access_token = NULL;
		result->token.refresh_token = NULL;
		if (*ifs_user != NULL) {
			free(entry->ifs_user);
			entry->ifs_user = *ifs_user;
			*ifs_user = NULL;
		}
	} else if ((status == FLOWCRED_UNAVAILABLE ||
		    status == FLOWCRED_TRY_AGAIN) &&
		   entry->access_token != NULL &&
		   fc_now_ns() < entry->expires_ns) {
		fc_log(&ctx->logger, LOG_NOTICE,
		       "connector '%s': keeping the cached token of Flow user "
		       "'%s' until it expires: %s", c->name, entry->flow_user,
		       detail);
		status = FLOWCRED_OK;
	} else if (status != FLOWCRED_UNAVAILABLE &&
		   status != FLOWCRED_TRY_AGAIN) {
		fc_entry_drop_token(entry);
	}
	entry->last_status = status;
	g_strlcpy(entry->last_detail, detail, sizeof(entry->last_detail));
	entry->in_flight = 0;
	entry->flights++;
	pthread_cond_broadcast(&ctx->cache.landed);
	return status;
}

/* Renews the entry of key as the one caller that does so, then serves
 * the result. Called with the cache lock held; returns with it held. */
static flowcred_status lead(flowcred_ctx *ctx, const struct fc_connector *c,
			    const char *key, const char *flow_user,
			    const char *password, char *token,
			    size_t token_size, size_t *token_len,
			    char *token_type, int64_t *expires_at,
			    char *detail, size_t detail_size)
{
	char fingerprint[FC_FINGERPRINT_LEN + 1];
	struct fc_grant_result result = { 0 };
	struct fc_entry *entry;
	flowcred_status status;
	char *refresh_token = NULL;
	char *ifs_user = NULL;

	fc_cache_sweep(&ctx->cache);
	entry = fc_cache_entry(&ctx->cache, key, c->name, flow_user, 1);
	if (entry == NULL)
		return FLOWCRED_NO_MEMORY;
	/* Another process of this user may have a fresh token already. */
	if (ctx->kernel_cache && password == NULL &&
	    fc_kcache_adopt(ctx, c, flow_user, entry))
		return serve(entry, token, token_size, token_len, token_type,
			     expires_at, detail, detail_size);
	if (entry->refresh_token != NULL &&
	    fc_now_ns() < entry->refresh_renew_ns)
		refresh_token = fc_strdup_secret(entry->refresh_token);
	if (entry->ifs_user != NULL)
		ifs_user = strdup(entry->ifs_user);
	memcpy(fingerprint, entry->fingerprint, sizeof(fingerprint));
	entry->in_flight = 1;
	pthread_mutex_unlock(&ctx->cache.lock);

	status = renew(ctx, c, flow_user, password, refresh_token, &ifs_user,
		       fingerprint, &result, detail, detail_size);
	if (status == FLOWCRED_OK && ctx->kernel_cache && password == NULL)
		fc_kcache_store(ctx, c, flow_user, ifs_user, &result.token);

	pthread_mutex_lock(&ctx->cache.lock);
	entry = fc_cache_entry(&ctx->cache, key, NULL, NULL, 0);
	if (status == FLOWCRED_OK)
		memcpy(entry->fingerprint, fingerprint, sizeof(fingerprint));
	status = land(ctx, c, entry, status, &result, &ifs_user, detail,
		      detail_size);
	if (status == FLOWCRED_OK) {
		entry->shared = ctx->kernel_cache && password == NULL;
		status = serve(entry, token, token_size, token_len, token_type,
			       expires_at, detail, detail_size);
	}
	fc_grant_result_clear(&result);
	fc_clear_string(&refresh_token);
	free(ifs_user);
	return status;
}

/* The work of flowcred_get_token(), with a detail buffer of the library's
 * own, so a message can be read back for logging and for waiters. */
static flowcred_status get_token(flowcred_ctx *ctx, const char *connector,
				 const char *flow_user, const char *password,
				 char *token, size_t token_size,
				 size_t *token_len, char *token_type,
				 int64_t *expires_at, char *detail,
				 size_t detail_size)
{
	char fingerprint[FC_FINGERPRINT_LEN + 1];
	const struct fc_connector *c = NULL;
	char key[FC_KEY_MAX];
	flowcred_status status;
	int renewed = 0;

	status = fc_ctx_find_connector(ctx, connector, flow_user, 1, &c,
				       detail, detail_size);
	if (status != FLOWCRED_OK)
		goto out;
	if (token == NULL || token_len == NULL) {
		fc_detail(detail, detail_size, "token and token_len must not "
			  "be NULL");
		status = FLOWCRED_INVALID_ARGUMENT;
		goto out;
	}
	if (password != NULL && password[0] == '\0') {
		fc_detail(detail, detail_size, "the password is empty");
		status = FLOWCRED_INVALID_ARGUMENT;
		goto out;
	}
	fc_ctx_enter(ctx);
	if (password != NULL)
		fc_cache_fingerprint(&ctx->cache, password, fingerprint);
	build_key(key, connector, flow_user,
		  password != NULL ? fingerprint : NULL);

	pthread_mutex_lock(&ctx->cache.lock);
	if (wait_for_token(ctx, c, key, &status, token, token_size, token_len,
			   token_type, expires_at, detail, detail_size)) {
		renewed = 1;
		status = lead(ctx, c, key, flow_user, password, token,
			      token_size, token_len, token_type, expires_at,
			      detail, detail_size);
	}
	pthread_mutex_unlock(&ctx->cache.lock);
	fc_wipe(key, strlen(key));
out:
	if (status == FLOWCRED_OK && renewed)
		fc_log(&ctx->logger, LOG_INFO,
		       "connector '%s': token issued for Flow user '%s' (%s)",
		       connector, flow_user,
		       password != NULL ? "typed password" : "stored password");
	else if (status != FLOWCRED_OK && ctx != NULL &&
		 status != FLOWCRED_INVALID_ARGUMENT &&
		 status != FLOWCRED_BUFFER_TOO_SMALL)
		fc_log(&ctx->logger,
		       status == FLOWCRED_DENIED ? LOG_NOTICE : LOG_ERR,
		       "connector '%s': no token for Flow user '%s' (%s): %s: %s",
		       connector, flow_user,
		       password != NULL ? "typed password" : "stored password",
		       flowcred_strerror(status), detail);
	return status;
}

FLOWCRED_EXPORT flowcred_status
flowcred_get_token(flowcred_ctx *ctx, const char *connector,
		   const char *flow_user, const char *password,
		   char *token, size_t token_size, size_t *token_len,
		   char *token_type, int64_t *expires_at,
		   char *detail, size_t detail_size)
{
	char message[FLOWCRED_DETAIL_MAX];
	flowcred_status status;

	message[0] = '\0';
	status = get_token(ctx, connector, flow_user, password, token,
			   token_size, token_len, token_type, expires_at,
			   message, sizeof(message));
	if (detail != NULL && detail_size > 0)
		g_strlcpy(detail, message, detail_size);
	return status;
}

/* Ends one IAM session at the connector's logout endpoint. */
static flowcred_status end_session(flowcred_ctx *ctx,
				   const struct fc_connector *c,
				   const char *refresh_token,
				   char *detail, size_t detail_size)
{
	struct fc_grant_request request = { .refresh_token = refresh_token };
	struct fc_grant_result result;
	flowcred_status status;
	char *url = NULL;

	status = fc_logout_url(c, &url);
	if (status == FLOWCRED_CONFIG)
		fc_detail(detail, detail_size,
			  "%s: [%s] logout_url: missing, and token_url does not "
			  "end in /token", ctx->config->path, c->name);
	if (status != FLOWCRED_OK)
		return status;
	request.url = url;
	status = fc_grant_send(ctx->http, c, &request, &ctx->logger, &result,
			       detail, detail_size);
	fc_grant_result_clear(&result);
	free(url);
	return status;
}

/* Takes the refresh tokens of the matching entries out of the cache and
 * drops their access tokens. flow_user NULL matches every entry of c that is
 * not shared with other processes. */
static GPtrArray *take_sessions(flowcred_ctx *ctx, const char *connector,
				const char *flow_user)
{
	GPtrArray *tokens = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;

	pthread_mutex_lock(&ctx->cache.lock);
	g_hash_table_iter_init(&iter, ctx->cache.entries);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct fc_entry *entry = value;

		if (entry->in_flight || strcmp(entry->connector, connector) != 0 ||
		    (flow_user != NULL ? strcmp(entry->flow_user, flow_user) != 0 :
					 entry->shared))
			continue;
		if (entry->refresh_token != NULL)
			g_ptr_array_add(tokens, entry->refresh_token);
		entry->refresh_token = NULL;
		fc_entry_drop_token(entry);
	}
	pthread_mutex_unlock(&ctx->cache.lock);
	return tokens;
}

/* Returns 1 when tokens contains a copy of s. The context and the kernel
 * key cache can both contain the same session. */
static int contains_string(GPtrArray *tokens, const char *s)
{
	guint i;

	for (i = 0; i < tokens->len; i++) {
		if (strcmp(g_ptr_array_index(tokens, i), s) == 0)
			return 1;
	}
	return 0;
}

static flowcred_status end_sessions(flowcred_ctx *ctx,
				    const struct fc_connector *c,
				    GPtrArray *tokens, char *detail,
				    size_t detail_size)
{
	flowcred_status status = FLOWCRED_OK;
	flowcred_status session_status;
	guint i;

	for (i = 0; i < tokens->len; i++) {
		char *refresh_token = g_ptr_array_index(tokens, i);

		session_status = end_session(ctx, c, refresh_token, detail,
					     detail_size);
		if (session_status != FLOWCRED_OK)
			status = session_status;
		fc_clear_string(&refresh_token);
	}
	g_ptr_array_free(tokens, TRUE);
	return status;
}

static flowcred_status logout(flowcred_ctx *ctx, const char *connector,
			      const char *flow_user, char *detail,
			      size_t detail_size)
{
	const struct fc_connector *c;
	flowcred_status status;
	GPtrArray *tokens;
	char *shared = NULL;

	status = fc_ctx_find_connector(ctx, connector, flow_user, 1, &c, detail,
				       detail_size);
	if (status != FLOWCRED_OK)
		return status;
	fc_ctx_enter(ctx);
	tokens = take_sessions(ctx, connector, flow_user);
	if (ctx->kernel_cache &&
	    fc_kcache_take_refresh(ctx, c, flow_user, &shared) == FLOWCRED_OK &&
	    shared != NULL) {
		if (!contains_string(tokens, shared))
			g_ptr_array_add(tokens, shared);
		else
			fc_clear_string(&shared);
	}
	if (tokens->len == 0) {
		g_ptr_array_free(tokens, TRUE);
		fc_detail(detail, detail_size,
			  "no IAM session of Flow user '%s' on connector '%s' is "
			  "known to this process%s", flow_user, connector,
			  ctx->kernel_cache ? " or the kernel key cache" : "");
		return FLOWCRED_NOT_FOUND;
	}
	status = end_sessions(ctx, c, tokens, detail, detail_size);
	if (status == FLOWCRED_OK)
		fc_detail(detail, detail_size,
			  "ended the IAM sessions of Flow user '%s' on "
			  "connector '%s'", flow_user, connector);
	fc_log(&ctx->logger, status == FLOWCRED_OK ? LOG_INFO : LOG_ERR,
	       "connector '%s': logout of Flow user '%s': %s", connector,
	       flow_user, detail);
	return status;
}

FLOWCRED_EXPORT flowcred_status
flowcred_logout(flowcred_ctx *ctx, const char *connector,
		const char *flow_user, char *detail, size_t detail_size)
{
	char message[FLOWCRED_DETAIL_MAX] = "";
	flowcred_status status;

	status = logout(ctx, connector, flow_user, message, sizeof(message));
	fc_detail(detail, detail_size, "%s", message);
	return status;
}

void fc_token_forget(flowcred_ctx *ctx, const char *connector,
		     const char *flow_user)
{
	GPtrArray *tokens = take_sessions(ctx, connector, flow_user);
	guint i;

	for (i = 0; i < tokens->len; i++) {
		char *refresh_token = g_ptr_array_index(tokens, i);

		fc_clear_string(&refresh_token);
	}
	g_ptr_array_free(tokens, TRUE);
}

void fc_token_logout_all(flowcred_ctx *ctx)
{
	char detail[FLOWCRED_DETAIL_MAX];
	size_t i;

	if (!ctx->logout_on_close || ctx->cache.entries == NULL)
		return;
	for (i = 0; i < ctx->config->n_connectors; i++) {
		const struct fc_connector *c = &ctx->config->connectors[i];

		if (c->error != NULL || !c->logout)
			continue;
		if (end_sessions(ctx, c, take_sessions(ctx, c->name, NULL),
				 detail, sizeof(detail)) != FLOWCRED_OK)
			fc_log(&ctx->logger, LOG_WARNING,
			       "connector '%s': logout when closing the context "
			       "failed: %s", c->name, detail);
	}
}
