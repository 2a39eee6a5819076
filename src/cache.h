/* The token cache of a context: one entry per (connector, Flow user,
 * password), single-flight renewal, the lockout guard for rejected stored
 * passwords and the back-off after 5xx and 429 responses. */
#ifndef FC_CACHE_H
#define FC_CACHE_H

#include <pthread.h>
#include <stdint.h>

#include <glib.h>

#include "flowcred.h"

/* Length of a password fingerprint in hex, without the NUL. */
#define FC_FINGERPRINT_LEN 64

struct fc_entry {
	char *connector;
	char *flow_user;
	char *ifs_user;		/* NULL until the keyring was read */
	/* Fingerprint of the stored password behind the token, "" for a
	 * typed one. */
	char fingerprint[FC_FINGERPRINT_LEN + 1];
	char *access_token;	/* NULL when none is cached */
	size_t access_token_len;
	char *refresh_token;
	char token_type[FLOWCRED_TOKEN_TYPE_MAX];
	int64_t renew_ns;	/* monotonic: renew from here on */
	int64_t expires_ns;	/* monotonic: the access token's expiry */
	int64_t refresh_renew_ns;	/* monotonic; INT64_MAX: no expiry */
	int64_t expires_at;	/* wall clock, seconds since the Epoch */
	int shared;		/* also cached in the kernel keyring */
	int in_flight;		/* a caller is renewing the token */
	unsigned int waiters;	/* callers waiting for that renewal */
	unsigned long flights;	/* renewals finished */
	flowcred_status last_status;
	char last_detail[FLOWCRED_DETAIL_MAX];
};

/* A stored password that IFS rejected, not to be sent again before
 * until_ns unless it changes. */
struct fc_guard {
	char fingerprint[FC_FINGERPRINT_LEN + 1];
	int64_t until_ns;
};

/* A pause in requests to one connector's endpoint. */
struct fc_backoff {
	int64_t until_ns;
	flowcred_status status;
	char detail[FLOWCRED_DETAIL_MAX];
};

struct fc_cache {
	pthread_mutex_t lock;
	pthread_cond_t landed;	/* broadcast when a renewal finishes */
	GHashTable *entries;	/* key -> struct fc_entry */
	GHashTable *guards;	/* connector, IFS user -> struct fc_guard */
	GHashTable *backoffs;	/* connector -> struct fc_backoff */
	unsigned char hmac_key[32];
	unsigned int sweep_at;	/* entry count that triggers a sweep */
};

/* Returns the monotonic clock in nanoseconds. */
int64_t fc_now_ns(void);

/* Initialises cache. Returns 0, or -1 when the random key or memory
 * cannot be had. */
int fc_cache_init(struct fc_cache *cache);

/* Wipes every token and frees everything. */
void fc_cache_destroy(struct fc_cache *cache);

/* Reinitialises the locks in a child process after fork(), where a lock
 * held by a parent thread would never be released, and clears the renewals
 * that parent threads had in flight. */
void fc_cache_after_fork(struct fc_cache *cache);

/* Writes the keyed hash of password into fingerprint, which needs
 * FC_FINGERPRINT_LEN + 1 bytes. The key is random per context, so the
 * fingerprint identifies a password only inside this process. */
void fc_cache_fingerprint(const struct fc_cache *cache, const char *password,
			  char *fingerprint);

/* Finds or, with create, adds the entry of key. The cache lock must be
 * held. Returns NULL when out of memory or not found. */
struct fc_entry *fc_cache_entry(struct fc_cache *cache, const char *key,
				const char *connector, const char *flow_user,
				int create);

/* Stores a new token in entry, wiping the old one. Takes ownership of
 * access_token and refresh_token (NULL keeps the old refresh token). The
 * cache lock must be held. */
void fc_entry_set_token(struct fc_entry *entry, char *access_token,
			char *refresh_token, const char *token_type,
			long long expires_in, long long refresh_expires_in,
			long margin);

/* Wipes and frees the entry's tokens. */
void fc_entry_drop_token(struct fc_entry *entry);

/* Removes entries whose tokens are all expired and that have no renewal
 * in flight, once the table has doubled since the last sweep. */
void fc_cache_sweep(struct fc_cache *cache);

#endif
