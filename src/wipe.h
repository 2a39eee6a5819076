/* Wiping of secrets: passwords, client secrets, tokens and the transport
 * buffers that carry them. */
#ifndef FC_WIPE_H
#define FC_WIPE_H

#include <stddef.h>

/* Overwrites n bytes at p with zeros in a way the compiler may not remove.
 * p may be NULL when n is 0. */
void fc_wipe(void *p, size_t n);

/* Wipes the NUL-terminated string at *s, frees it and sets *s to NULL.
 * Accepts a NULL s or *s. */
void fc_clear_string(char **s);

/* Wipes n bytes at *p, frees the block and sets *p to NULL. */
void fc_clear_buffer(void **p, size_t n);

/* Returns a copy of s that the caller releases with fc_clear_string(), or
 * NULL when out of memory. */
char *fc_strdup_secret(const char *s);

/* A growable byte buffer whose old storage is wiped whenever it moves, so
 * a secret it carries leaves no copy in freed memory. The contents are
 * kept NUL-terminated. */
struct fc_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;	/* 0: unbounded; else the largest len allowed */
};

/* Appends n bytes. Returns 0, -1 when out of memory, or -2 when the
 * buffer would exceed its max. */
int fc_buf_append(struct fc_buf *b, const void *p, size_t n);

/* Wipes and frees the contents and resets the buffer to empty. */
void fc_buf_clear(struct fc_buf *b);

#endif
