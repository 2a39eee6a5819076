/* Logging through the host's log function, syslog by default. */
#ifndef FC_LOG_H
#define FC_LOG_H

#include <syslog.h>

#include "flowcred.h"

struct fc_logger {
	flowcred_log_func func;
	void *userdata;
	int max_priority;
};

/* Sets logger to the default: syslog(3) with LOG_AUTHPRIV, up to
 * LOG_INFO. */
void fc_logger_init_default(struct fc_logger *logger);

/* Formats and sends one message. Callers never pass a secret. A NULL
 * logger or one without a function drops the message. */
void fc_log(const struct fc_logger *logger, int priority, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));

#endif
