#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <glib.h>

#include "kcache.h"
#include "kkey.h"
#include "text.h"
#include "wipe.h"

/* Maximum time a record stays in the kernel keyring, in seconds. */
#define FC_KCACHE_TIMEOUT_MAX (24 * 3600)

static int describe(flowcred_ctx *ctx, const struct fc_connector *c,
		    const char *flow_user, char *description)
{
	return fc_kkey_describe(description, FC_KKEY_DESCRIPTION_MAX,
				ctx->config_realpath, c->name, flow_user);
}

static void report_failure(flowcred_ctx *ctx, const char *action)
{
	int first;

	pthread_mutex_lock(&ctx->cache.lock);
	first = !ctx->kernel_cache_failed;
	ctx->kernel_cache_failed = 1;
	pthread_mutex_unlock(&ctx->cache.lock);
	if (first)
		fc_log(&ctx->logger, LOG_WARNING,
		       "the kernel key cache is unavailable (%s failed: %s); "
		       "tokens are not shared between processes",
		       action, strerror(errno));
}

void fc_kcache_store(flowcred_ctx *ctx, const struct fc_connector *c,
		     const char *flow_user, const char *ifs_user,
		     const struct fc_token *token)
{
	char description[FC_KKEY_DESCRIPTION_MAX];
	struct fc_kkey_record record = { 0 };
	long long margin = c->expiry_margin;
	long long lifetime = token->expires_in;
	int64_t now = fc_kkey_boot_ns();

	if (margin > token->expires_in / 2)
		margin = token->expires_in / 2;
	if (describe(ctx, c, flow_user, description) != 0)
		return;
	fc_kkey_file_id_from_stat(&record.config, &ctx->config->file_stat);
	record.expires_boot_ns = now + (int64_t)token->expires_in * 1000000000;
	record.renew_boot_ns = record.expires_boot_ns -
			       (int64_t)margin * 1000000000;
	record.expires_at = (int64_t)time(NULL) + token->expires_in;
	memcpy(record.token_type, token->token_type, sizeof(record.token_type));
	record.access_token = token->access_token;
	record.refresh_token = token->refresh_token;
	record.ifs_user = (char *)ifs_user;
	if (token->refresh_token != NULL && token->refresh_expires_in == 0) {
		record.refresh_renew_boot_ns = INT64_MAX;
		lifetime = FC_KCACHE_TIMEOUT_MAX;
	} else if (token->refresh_token != NULL) {
		record.refresh_renew_boot_ns =
			now + ((int64_t)token->refresh_expires_in - margin) *
				      1000000000;
		if (token->refresh_expires_in > lifetime)
			lifetime = token->refresh_expires_in;
	}
	if (lifetime > FC_KCACHE_TIMEOUT_MAX)
		lifetime = FC_KCACHE_TIMEOUT_MAX;
	if (fc_kkey_store(description, &record, (unsigned int)lifetime) != 0)
		report_failure(ctx, "add_key");
}

int fc_kcache_adopt(flowcred_ctx *ctx, const struct fc_connector *c,
		    const char *flow_user, struct fc_entry *entry)
{
	char description[FC_KKEY_DESCRIPTION_MAX];
	struct fc_kkey_file_id config;
	struct fc_kkey_record record;
	int64_t boot_now;
	int64_t now;
	int fresh;

	if (describe(ctx, c, flow_user, description) != 0 ||
	    fc_kkey_load(description, &record) != 0)
		return 0;
	fc_kkey_file_id_from_stat(&config, &ctx->config->file_stat);
	if (memcmp(&config, &record.config, sizeof(config)) != 0) {
		/* Made under another version of the configuration. */
		fc_kkey_record_clear(&record);
		return 0;
	}
	boot_now = fc_kkey_boot_ns();
	now = fc_now_ns();
	fresh = boot_now < record.renew_boot_ns;
	if (!fresh && (record.refresh_token == NULL ||
		       boot_now >= record.refresh_renew_boot_ns)) {
		fc_kkey_record_clear(&record);
		return 0;
	}
	fc_entry_drop_token(entry);
	if (fresh) {
		entry->access_token = record.access_token;
		entry->access_token_len = strlen(record.access_token);
		record.access_token = NULL;
		g_strlcpy(entry->token_type, record.token_type,
			  sizeof(entry->token_type));
		entry->renew_ns = now + (record.renew_boot_ns - boot_now);
		entry->expires_ns = now + (record.expires_boot_ns - boot_now);
		entry->expires_at = record.expires_at;
	}
	if (record.refresh_token != NULL) {
		entry->refresh_token = record.refresh_token;
		record.refresh_token = NULL;
		entry->refresh_renew_ns =
			record.refresh_renew_boot_ns == INT64_MAX ?
				INT64_MAX :
				now + (record.refresh_renew_boot_ns - boot_now);
	}
	/* The IFS user lets the next renewal see that the keyring item
	 * now names another one. */
	if (record.ifs_user[0] != '\0') {
		free(entry->ifs_user);
		entry->ifs_user = record.ifs_user;
		record.ifs_user = NULL;
	}
	entry->shared = 1;
	fc_kkey_record_clear(&record);
	return fresh;
}

flowcred_status fc_kcache_take_refresh(flowcred_ctx *ctx,
				       const struct fc_connector *c,
				       const char *flow_user,
				       char **refresh_token)
{
	char description[FC_KKEY_DESCRIPTION_MAX];
	struct fc_kkey_record record;

	*refresh_token = NULL;
	if (describe(ctx, c, flow_user, description) != 0 ||
	    fc_kkey_load(description, &record) != 0)
		return FLOWCRED_NOT_FOUND;
	fc_kkey_remove(description);
	*refresh_token = record.refresh_token;
	record.refresh_token = NULL;
	fc_kkey_record_clear(&record);
	return FLOWCRED_OK;
}

void fc_kcache_remove(flowcred_ctx *ctx, const struct fc_connector *c,
		      const char *flow_user)
{
	char description[FC_KKEY_DESCRIPTION_MAX];

	if (describe(ctx, c, flow_user, description) == 0)
		fc_kkey_remove(description);
}

/* A rejected password in the kernel keyring: a keyed hash with a salt of
 * its own, so every process of the user can compare its stored password
 * without the record revealing it. */
struct guard_payload {
	char magic[4];
	unsigned char salt[16];
	char mac[65];		/* hex HMAC-SHA256 of the password */
	int64_t until_boot_ns;
};

static const char guard_magic[4] = { 'F', 'C', 'G', '1' };

static int describe_guard(flowcred_ctx *ctx, const struct fc_connector *c,
			  const char *ifs_user, char *description)
{
	char key[FC_KKEY_DESCRIPTION_MAX];

	if (fc_kkey_describe(key, sizeof(key), ctx->config_realpath, c->name,
			     ifs_user) != 0)
		return -1;
	return snprintf(description, FC_KKEY_DESCRIPTION_MAX, "guard:%s",
			key) < FC_KKEY_DESCRIPTION_MAX ? 0 : -1;
}

static void guard_mac(const unsigned char *salt, size_t salt_size,
		      const char *password, char *mac)
{
	gchar *hex = g_compute_hmac_for_data(G_CHECKSUM_SHA256, salt, salt_size,
					     (const guchar *)password,
					     strlen(password));

	g_strlcpy(mac, hex, 65);
	g_free(hex);
}

long fc_kcache_guard_left(flowcred_ctx *ctx, const struct fc_connector *c,
			  const char *ifs_user, const char *password)
{
	char description[FC_KKEY_DESCRIPTION_MAX];
	struct guard_payload guard;
	char mac[65];
	void *payload;
	size_t size;
	int64_t now;
	long left = 0;

	if (describe_guard(ctx, c, ifs_user, description) != 0 ||
	    fc_kkey_load_raw(description, &payload, &size) != 0)
		return 0;
	if (size == sizeof(guard)) {
		memcpy(&guard, payload, sizeof(guard));
		guard_mac(guard.salt, sizeof(guard.salt), password, mac);
		now = fc_kkey_boot_ns();
		if (memcmp(guard.magic, guard_magic, sizeof(guard_magic)) == 0 &&
		    memchr(guard.mac, '\0', sizeof(guard.mac)) != NULL &&
		    strcmp(guard.mac, mac) == 0 && now < guard.until_boot_ns)
			left = (long)((guard.until_boot_ns - now) / 1000000000 + 1);
	}
	free(payload);
	return left;
}

void fc_kcache_note_guard(flowcred_ctx *ctx, const struct fc_connector *c,
			  const char *ifs_user, const char *password,
			  flowcred_status status)
{
	char description[FC_KKEY_DESCRIPTION_MAX];
	struct guard_payload guard;

	if (describe_guard(ctx, c, ifs_user, description) != 0)
		return;
	if (status != FLOWCRED_DENIED || c->denied_backoff == 0) {
		if (status == FLOWCRED_OK)
			fc_kkey_remove(description);
		return;
	}
	memset(&guard, 0, sizeof(guard));
	memcpy(guard.magic, guard_magic, sizeof(guard_magic));
	if (getrandom(guard.salt, sizeof(guard.salt), 0) !=
	    (ssize_t)sizeof(guard.salt))
		return;
	guard_mac(guard.salt, sizeof(guard.salt), password, guard.mac);
	guard.until_boot_ns = fc_kkey_boot_ns() +
			      (int64_t)c->denied_backoff * 1000000000;
	if (fc_kkey_store_raw(description, &guard, sizeof(guard),
			      (unsigned int)c->denied_backoff) != 0)
		report_failure(ctx, "add_key");
}
