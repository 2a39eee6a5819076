/* Token records in the calling user's kernel keyring (keyrings(7)),
 * shared by the processes of one user without a daemon. This file needs
 * only libc and libkeyutils, so the CLI reads a cached token without
 * loading GLib, libsecret or libcurl. */
#ifndef FC_KKEY_H
#define FC_KKEY_H

#include <stddef.h>
#include <stdint.h>

/* Maximum length of a key description, in bytes with the NUL. */
#define FC_KKEY_DESCRIPTION_MAX 4096

/* Size of the token type field, as FLOWCRED_TOKEN_TYPE_MAX. */
#define FC_KKEY_TOKEN_TYPE_MAX 16

/* The identity of one version of the configuration file. A record made
 * under another version is not used, so a changed mode, a renamed
 * connector or a new token_url takes effect at once. */
struct fc_kkey_file_id {
	uint64_t device;
	uint64_t inode;
	int64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
};

/* Fills id from st. */
struct stat;
void fc_kkey_file_id_from_stat(struct fc_kkey_file_id *id,
			       const struct stat *st);

struct fc_kkey_record {
	struct fc_kkey_file_id config;	/* the file the token came from */
	int64_t renew_boot_ns;	/* CLOCK_BOOTTIME: renew from here on */
	int64_t expires_boot_ns;	/* CLOCK_BOOTTIME: the token's expiry */
	int64_t refresh_renew_boot_ns;	/* 0: none; INT64_MAX: no expiry */
	int64_t expires_at;	/* wall clock, seconds since the Epoch */
	char token_type[FC_KKEY_TOKEN_TYPE_MAX];
	char *access_token;	/* malloc'd, wiped by fc_kkey_record_clear() */
	char *refresh_token;	/* NULL when none */
	char *ifs_user;		/* the IFS user the token belongs to */
};

/* Builds the key description of a Flow user of a connector read from
 * config_path, which must be an absolute path without symbolic links.
 * Returns 0, or -1 when it does not fit into size bytes. */
int fc_kkey_describe(char *description, size_t size, const char *config_path,
		     const char *connector, const char *flow_user);

/* Returns CLOCK_BOOTTIME in nanoseconds: it never steps and counts time
 * in suspend, the same in every process. */
int64_t fc_kkey_boot_ns(void);

/* Adds or replaces the record under description in the user keyring,
 * readable by the user's processes only, with a kernel timeout of
 * timeout_seconds. Returns 0, or -1 with errno set. */
int fc_kkey_store(const char *description,
		  const struct fc_kkey_record *record, unsigned int timeout_seconds);

/* Adds or replaces a raw payload under description, like
 * fc_kkey_store(). */
int fc_kkey_store_raw(const char *description, const void *payload,
		      size_t size, unsigned int timeout_seconds);

/* Reads the raw payload under description into *payload (free() after
 * wiping) and its size into *size. Returns 0 or -1 with errno. */
int fc_kkey_load_raw(const char *description, void **payload, size_t *size);

/* Reads the record under description. Returns 0, or -1 with errno set
 * (ENOKEY when there is none, EINVAL when it is malformed). */
int fc_kkey_load(const char *description, struct fc_kkey_record *record);

/* Removes the record under description. Returns 0 or -1 with errno. */
int fc_kkey_remove(const char *description);

void fc_kkey_record_clear(struct fc_kkey_record *record);

#endif
