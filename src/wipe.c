#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wipe.h"

void fc_wipe(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
#if defined(HAVE_MEMSET_EXPLICIT)
	memset_explicit(p, 0, n);
#else
	explicit_bzero(p, n);
#endif
}

void fc_clear_string(char **s)
{
	if (s == NULL || *s == NULL)
		return;
	fc_wipe(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

void fc_clear_buffer(void **p, size_t n)
{
	if (p == NULL || *p == NULL)
		return;
	fc_wipe(*p, n);
	free(*p);
	*p = NULL;
}

char *fc_strdup_secret(const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);

	if (copy != NULL)
		memcpy(copy, s, n);
	return copy;
}

int fc_buf_append(struct fc_buf *b, const void *p, size_t n)
{
	size_t need;
	size_t cap;
	char *data;

	if (n > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + n;
	if (b->max != 0 && need > b->max)
		return -2;
	if (need + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap : 256;
		while (cap < need + 1)
			cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
		/* A new block and an explicit copy, never realloc(), which
		 * could leave the old contents behind unwiped. */
		data = malloc(cap);
		if (data == NULL)
			return -1;
		if (b->data != NULL) {
			memcpy(data, b->data, b->len);
			fc_wipe(b->data, b->cap);
			free(b->data);
		}
		b->data = data;
		b->cap = cap;
	}
	if (n != 0)
		memcpy(b->data + b->len, p, n);
	b->len = need;
	b->data[b->len] = '\0';
	return 0;
}

void fc_buf_clear(struct fc_buf *b)
{
	if (b->data != NULL) {
		fc_wipe(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
