/*
 * policyserver.h - the Postfix socketmap service on policy_socket.
 *
 * Serves the maps "tlspolicy" and "transport" from the active
 * configuration snapshot (confref.h), so a reload changes delivery policy
 * for the next lookup.
 */
#ifndef FORCETLS_POLICYSERVER_H
#define FORCETLS_POLICYSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Open and listen on spec ("unix:/path", "local:/path", "inet:port@host",
 * "inet6:port@host"), replacing a stale unix socket and giving it mode and
 * group (group may be NULL). Called before privileges are dropped.
 * Returns the listening fd, or -1 after logging why.
 */
int policyserver_open(const char *spec, mode_t mode, const char *group);

/* Serve on the listening fd in a thread of its own. */
bool policyserver_start(int listen_fd);

/* Stop serving and close every connection (graceful stop). */
void policyserver_stop(void);

#endif
