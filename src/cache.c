#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cache.h"
#include "wipe.h"

int64_t fc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fc_entry_drop_token(struct fc_entry *entry)
{
	if (entry->access_token != NULL)
		fc_wipe(entry->access_token, entry->access_token_len);
	free(entry->access_token);
	entry->access_token = NULL;
	entry->access_token_len = 0;
	fc_clear_string(&entry->refresh_token);
	entry->renew_ns = 0;
	entry->expires_ns = 0;
	entry->refresh_renew_ns = 0;
}

static void free_entry(gpointer data)
{
	struct fc_entry *entry = data;

	fc_entry_drop_token(entry);
	free(entry->connector);
	free(entry->flow_user);
	free(entry->ifs_user);
	free(entry);
}

static void free_key(gpointer data)
{
	char *key = data;

	fc_clear_string(&key);
}

/* Waits on the condition measure time on the monotonic clock, like the
 * deadlines callers compute. */
static void init_landed(struct fc_cache *cache)
{
	pthread_condattr_t attributes;

	pthread_condattr_init(&attributes);
	pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	pthread_cond_init(&cache->landed, &attributes);
	pthread_condattr_destroy(&attributes);
}

int fc_cache_init(struct fc_cache *cache)
{
	memset(cache, 0, sizeof(*cache));
	if (getrandom(cache->hmac_key, sizeof(cache->hmac_key), 0) !=
	    (ssize_t)sizeof(cache->hmac_key))
		return -1;
	pthread_mutex_init(&cache->lock, NULL);
	init_landed(cache);
	cache->entries = g_hash_table_new_full(g_str_hash, g_str_equal,
					       free_key, free_entry);
	cache->guards = g_hash_table_new_full(g_str_hash, g_str_equal, free,
					      free);
	cache->backoffs = g_hash_table_new_full(g_str_hash, g_str_equal, free,
						free);
	cache->sweep_at = 64;
	return 0;
}

void fc_cache_destroy(struct fc_cache *cache)
{
	if (cache->entries == NULL)
		return;
	g_hash_table_destroy(cache->entries);
	g_hash_table_destroy(cache->guards);
	g_hash_table_destroy(cache->backoffs);
	pthread_cond_destroy(&cache->landed);
	pthread_mutex_destroy(&cache->lock);
	fc_wipe(cache->hmac_key, sizeof(cache->hmac_key));
	cache->entries = NULL;
}

void fc_cache_after_fork(struct fc_cache *cache)
{
	GHashTableIter iter;
	gpointer value;

	pthread_mutex_init(&cache->lock, NULL);
	init_landed(cache);
	g_hash_table_iter_init(&iter, cache->entries);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct fc_entry *entry = value;

		entry->in_flight = 0;
	}
}

void fc_cache_fingerprint(const struct fc_cache *cache, const char *password,
			  char *fingerprint)
{
	gchar *hex = g_compute_hmac_for_data(G_CHECKSUM_SHA256, cache->hmac_key,
					     sizeof(cache->hmac_key),
					     (const guchar *)password,
					     strlen(password));

	g_strlcpy(fingerprint, hex, FC_FINGERPRINT_LEN + 1);
	g_free(hex);
}

struct fc_entry *fc_cache_entry(struct fc_cache *cache, const char *key,
				const char *connector, const char *flow_user,
				int create)
{
	struct fc_entry *entry = g_hash_table_lookup(cache->entries, key);
	char *key_copy;

	if (entry != NULL || !create)
		return entry;
	entry = calloc(1, sizeof(*entry));
	key_copy = fc_strdup_secret(key);
	if (entry == NULL || key_copy == NULL)
		goto fail;
	entry->connector = strdup(connector);
	entry->flow_user = strdup(flow_user);
	if (entry->connector == NULL || entry->flow_user == NULL)
		goto fail;
	g_hash_table_insert(cache->entries, key_copy, entry);
	return entry;
fail:
	if (entry != NULL)
		free_entry(entry);
	free(key_copy);
	return NULL;
}

void fc_entry_set_token(struct fc_entry *entry, char *access_token,
			char *refresh_token, const char *token_type,
			long long expires_in, long long refresh_expires_in,
			long margin)
{
	int64_t now = fc_now_ns();
	long long effective_margin = margin;
	char *old_refresh = entry->refresh_token;
	int64_t old_refresh_renew_ns = entry->refresh_renew_ns;

	/* The margin never takes more than half of a token's life, so a
	 * short-lived token is still reused. */
	if (effective_margin > expires_in / 2)
		effective_margin = expires_in / 2;
	entry->refresh_token = NULL;
	fc_entry_drop_token(entry);
	entry->access_token = access_token;
	entry->access_token_len = strlen(access_token);
	g_strlcpy(entry->token_type, token_type, sizeof(entry->token_type));
	entry->expires_ns = now + (int64_t)expires_in * 1000000000;
	entry->renew_ns = entry->expires_ns -
			  (int64_t)effective_margin * 1000000000;
	entry->expires_at = (int64_t)time(NULL) + expires_in;

	if (refresh_token == NULL) {
		/* An response without a refresh token leaves the old one in
		 * use, with its own expiry. */
		entry->refresh_token = old_refresh;
		entry->refresh_renew_ns = old_refresh != NULL ?
						  old_refresh_renew_ns : 0;
		return;
	}
	fc_clear_string(&old_refresh);
	entry->refresh_token = refresh_token;
	if (refresh_expires_in == 0)
		/* Keycloak's offline tokens report no expiry. */
		entry->refresh_renew_ns = INT64_MAX;
	else
		entry->refresh_renew_ns = now +
			((int64_t)refresh_expires_in - effective_margin) *
				1000000000;
}

void fc_cache_sweep(struct fc_cache *cache)
{
	GHashTableIter iter;
	gpointer value;
	int64_t now;

	if (g_hash_table_size(cache->entries) < cache->sweep_at)
		return;
	now = fc_now_ns();
	g_hash_table_iter_init(&iter, cache->entries);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct fc_entry *entry = value;

		if (!entry->in_flight && entry->waiters == 0 &&
		    now >= entry->expires_ns &&
		    now >= entry->refresh_renew_ns && entry->refresh_renew_ns
		    != INT64_MAX)
			g_hash_table_iter_remove(&iter);
	}
	cache->sweep_at = 2 * g_hash_table_size(cache->entries);
	if (cache->sweep_at < 64)
		cache->sweep_at = 64;
}
