#include "config.h"

#include <errno.h>
#include <keyutils.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kkey.h"
#include "wipe.h"

/* Payload: magic, the configuration file's identity, renew times,
 * expiry, token type, the three lengths, then the IFS user and
 * the access token and the refresh token without NULs. */
static const char payload_magic[4] = { 'F', 'C', 'K', '3' };

struct payload_header {
	char magic[4];
	struct fc_kkey_file_id config;
	uint32_t access_len;
	uint32_t refresh_len;
	uint32_t ifs_user_len;
	int64_t renew_boot_ns;
	int64_t expires_boot_ns;
	int64_t refresh_renew_boot_ns;
	int64_t expires_at;
	char token_type[FC_KKEY_TOKEN_TYPE_MAX];
};

int fc_kkey_describe(char *description, size_t size, const char *config_path,
		     const char *connector, const char *flow_user)
{
	/* Lengths make the description unambiguous whatever the names
	 * contain. */
	int n = snprintf(description, size, "flowcred:2:%u:%zu:%s:%zu:%s:%zu:%s",
			 (unsigned int)geteuid(), strlen(config_path),
			 config_path, strlen(connector), connector,
			 strlen(flow_user), flow_user);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

void fc_kkey_file_id_from_stat(struct fc_kkey_file_id *id,
			       const struct stat *st)
{
	memset(id, 0, sizeof(*id));
	id->device = (uint64_t)st->st_dev;
	id->inode = (uint64_t)st->st_ino;
	id->size = (int64_t)st->st_size;
	id->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
		       st->st_mtim.tv_nsec;
	id->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
		       st->st_ctim.tv_nsec;
}

int64_t fc_kkey_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int fc_kkey_store(const char *description,
		  const struct fc_kkey_record *record, unsigned int timeout_seconds)
{
	struct payload_header header = { 0 };
	size_t access_len = strlen(record->access_token);
	size_t refresh_len = record->refresh_token != NULL ?
				     strlen(record->refresh_token) : 0;
	size_t user_len = record->ifs_user != NULL ?
				  strlen(record->ifs_user) : 0;
	size_t size = sizeof(header) + access_len + refresh_len + user_len;
	char *payload;
	int saved;
	int rc;

	payload = malloc(size);
	if (payload == NULL)
		return -1;
	memcpy(header.magic, payload_magic, sizeof(header.magic));
	header.access_len = (uint32_t)access_len;
	header.refresh_len = (uint32_t)refresh_len;
	header.ifs_user_len = (uint32_t)user_len;
	header.config = record->config;
	header.renew_boot_ns = record->renew_boot_ns;
	header.expires_boot_ns = record->expires_boot_ns;
	header.refresh_renew_boot_ns = record->refresh_renew_boot_ns;
	header.expires_at = record->expires_at;
	memcpy(header.token_type, record->token_type, sizeof(header.token_type));
	memcpy(payload, &header, sizeof(header));
	memcpy(payload + sizeof(header), record->access_token, access_len);
	if (refresh_len > 0)
		memcpy(payload + sizeof(header) + access_len,
		       record->refresh_token, refresh_len);
	if (user_len > 0)
		memcpy(payload + sizeof(header) + access_len + refresh_len,
		       record->ifs_user, user_len);

	rc = fc_kkey_store_raw(description, payload, size, timeout_seconds);
	saved = errno;
	fc_wipe(payload, size);
	free(payload);
	errno = saved;
	return rc;
}

int fc_kkey_store_raw(const char *description, const void *payload,
		      size_t size, unsigned int timeout_seconds)
{
	key_serial_t key;
	int saved;

	key = add_key("user", description, payload, size,
		      KEY_SPEC_USER_KEYRING);
	if (key < 0)
		return -1;
	/* Only this user's processes may find and read the key. */
	if (keyctl_setperm(key, KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ |
				KEY_USR_WRITE | KEY_USR_SEARCH |
				KEY_USR_SETATTR) < 0 ||
	    keyctl_set_timeout(key, timeout_seconds) < 0) {
		saved = errno;
		keyctl_invalidate(key);
		errno = saved;
		return -1;
	}
	return 0;
}

int fc_kkey_load_raw(const char *description, void **payload, size_t *size)
{
	key_serial_t key;
	long n;

	*payload = NULL;
	*size = 0;
	key = keyctl_search(KEY_SPEC_USER_KEYRING, "user", description, 0);
	if (key < 0)
		return -1;
	n = keyctl_read_alloc(key, payload);
	if (n < 0)
		return -1;
	*size = (size_t)n;
	return 0;
}

static char *copy_bytes(const char *p, size_t n)
{
	char *copy = malloc(n + 1);

	if (copy != NULL) {
		memcpy(copy, p, n);
		copy[n] = '\0';
	}
	return copy;
}

int fc_kkey_load(const char *description, struct fc_kkey_record *record)
{
	struct payload_header header;
	void *buffer = NULL;
	const char *payload;
	size_t size;
	int rc = -1;

	memset(record, 0, sizeof(*record));
	if (fc_kkey_load_raw(description, &buffer, &size) != 0)
		return -1;
	payload = buffer;
	errno = EINVAL;
	if (size < sizeof(header))
		goto out;
	memcpy(&header, payload, sizeof(header));
	if (memcmp(header.magic, payload_magic, sizeof(payload_magic)) != 0 ||
	    header.access_len == 0 ||
	    size != sizeof(header) + (size_t)header.access_len +
				    header.refresh_len + header.ifs_user_len ||
	    memchr(header.token_type, '\0', sizeof(header.token_type)) == NULL)
		goto out;
	record->config = header.config;
	record->renew_boot_ns = header.renew_boot_ns;
	record->expires_boot_ns = header.expires_boot_ns;
	record->refresh_renew_boot_ns = header.refresh_renew_boot_ns;
	record->expires_at = header.expires_at;
	memcpy(record->token_type, header.token_type,
	       sizeof(record->token_type));
	record->access_token = copy_bytes(payload + sizeof(header),
					  header.access_len);
	if (header.refresh_len > 0)
		record->refresh_token = copy_bytes(payload + sizeof(header) +
						   header.access_len,
						   header.refresh_len);
	record->ifs_user = copy_bytes(payload + sizeof(header) +
				      header.access_len + header.refresh_len,
				      header.ifs_user_len);
	if (record->access_token == NULL || record->ifs_user == NULL ||
	    (header.refresh_len > 0 && record->refresh_token == NULL)) {
		fc_kkey_record_clear(record);
		errno = ENOMEM;
		goto out;
	}
	rc = 0;
out:
	fc_wipe(buffer, size);
	free(buffer);
	return rc;
}

int fc_kkey_remove(const char *description)
{
	key_serial_t key = keyctl_search(KEY_SPEC_USER_KEYRING, "user",
					 description, 0);

	if (key < 0)
		return -1;
	return keyctl_invalidate(key) < 0 ? -1 : 0;
}

void fc_kkey_record_clear(struct fc_kkey_record *record)
{
	fc_clear_string(&record->access_token);
	fc_clear_string(&record->refresh_token);
	free(record->ifs_user);
	memset(record, 0, sizeof(*record));
}
