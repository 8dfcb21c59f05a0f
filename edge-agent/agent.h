/* The agent's loop: collect every interval, publish one SenML pack per collection (numbered
 * by boot id + sequence), heartbeat every heartbeat interval, until a stop signal. One
 * thread; the publisher's library may run its own. */
#ifndef UPDRAFT_AGENT_AGENT_H
#define UPDRAFT_AGENT_AGENT_H

#include <signal.h>

#include "edge-agent/agent_config.h"

struct agent;

/* Builds the agent from a loaded config: host id, boot id, collectors. Bad values print a
 * one-line reason on stderr and return -EINVAL. */
int agent_new(const struct agent_config *cfg, struct agent **out) __attribute__((warn_unused_result));
void agent_free(struct agent *agent); /* accepts NULL */

/* Prints one collection as SenML JSON on stdout (waiting up to 1 s so rates have a delta). */
int agent_print_once(struct agent *agent) __attribute__((warn_unused_result));

/* Connects and runs until one of stop_signals arrives (they must be blocked in every thread). */
int agent_run(struct agent *agent, const sigset_t *stop_signals) __attribute__((warn_unused_result));

#endif
