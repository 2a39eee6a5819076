#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "text.h"

void fc_detail(char *detail, size_t detail_size, const char *fmt, ...)
{
	va_list ap;

	if (detail == NULL || detail_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, detail_size, fmt, ap);
	va_end(ap);
}

int fc_name_valid(const char *s)
{
	size_t len;
	const unsigned char *p;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len == 0 || len > FC_NAME_MAX)
		return 0;
	if (!g_utf8_validate(s, (gssize)len, NULL))
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	}
	return 1;
}

void fc_preview(const char *in, size_t len, char *out, size_t out_size)
{
	const char ellipsis[] = "...";
	size_t room;
	size_t i;

	if (out == NULL || out_size == 0)
		return;
	room = out_size - 1;
	if (len > room && room >= sizeof(ellipsis) - 1)
		room -= sizeof(ellipsis) - 1;
	for (i = 0; i < len && i < room; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	out[i] = '\0';
	if (i < len && i + sizeof(ellipsis) <= out_size)
		memcpy(out + i, ellipsis, sizeof(ellipsis));
}

int fc_ascii_equal_nocase(const char *s, const char *t)
{
	return g_ascii_strcasecmp(s, t) == 0;
}
