/* updraft-bridge: CoAP in, MQTT out (docs/coap.md). bridge_run owns the one thread. */
#ifndef UPDRAFT_BRIDGE_BRIDGE_H
#define UPDRAFT_BRIDGE_BRIDGE_H

#include <signal.h>

#include "bridge/bridge_config.h"

struct bridge;

/* Opens the CoAP endpoints and the broker connection (which retries in the background when
 * the broker is not there yet). -EADDRINUSE, -EINVAL (bad address, PSK file) with a logged
 * reason, -ENOMEM. */
int bridge_new(struct bridge_config *cfg, struct bridge **out) __attribute__((warn_unused_result));

/* Serves until one of stop_signals (blocked by the caller) arrives. 0 or -errno. */
int bridge_run(struct bridge *b, const sigset_t *stop_signals);

/* Answers what still waits with 5.03, disconnects, frees. Accepts NULL. */
void bridge_free(struct bridge *b);

#endif
