/* Text helpers shared by the library: detail messages, name checks and
 * previews of untrusted text. */
#ifndef FC_TEXT_H
#define FC_TEXT_H

#include <stddef.h>

/* Maximum length of a connector, Flow user or IFS user name, in bytes. */
#define FC_NAME_MAX 256

/* Formats a message into detail, truncating it to detail_size. Does
 * nothing when detail is NULL or detail_size is 0. */
void fc_detail(char *detail, size_t detail_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Empties detail without formatting anything: the cached path of
 * flowcred_get_token() runs in a few hundred nanoseconds. */
static inline void fc_detail_clear(char *detail, size_t detail_size)
{
	if (detail != NULL && detail_size > 0)
		detail[0] = '\0';
}

/* Returns 1 when s is a usable name: valid UTF-8, 1 to FC_NAME_MAX bytes,
 * no control characters. Returns 0 otherwise, NULL included. */
int fc_name_valid(const char *s);

/* Writes into out a printable preview of at most out_size - 1 bytes of
 * the untrusted text in[0..len): control characters and bytes outside
 * printable ASCII become '?', and "..." marks truncation. */
void fc_preview(const char *in, size_t len, char *out, size_t out_size);

/* Returns 1 when s equals t ignoring ASCII case. */
int fc_ascii_equal_nocase(const char *s, const char *t);

#endif
