#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

/* Maximum length of a delivered message; longer ones are truncated. */
#define FC_LOG_LINE_MAX 1024

static void log_to_syslog(int priority, const char *message, void *userdata)
{
	(void)userdata;
	syslog(LOG_AUTHPRIV | priority, "flowcred: %s", message);
}

void fc_logger_init_default(struct fc_logger *logger)
{
	logger->func = log_to_syslog;
	logger->userdata = NULL;
	logger->max_priority = LOG_INFO;
}

void fc_log(const struct fc_logger *logger, int priority, const char *fmt,
	    ...)
{
	char line[FC_LOG_LINE_MAX];
	va_list ap;

	if (logger == NULL || logger->func == NULL ||
	    priority > logger->max_priority)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	logger->func(priority, line, logger->userdata);
}
