/* The context behind the public API. */
#ifndef FC_CONTEXT_H
#define FC_CONTEXT_H

#include "conf.h"
#include "flowcred.h"
#include "keyring.h"
#include "log.h"

struct flowcred_ctx {
	struct fc_config *config;	/* read-only after flowcred_open() */
	struct fc_logger logger;
	struct fc_keyring *keyring;
};

#endif
