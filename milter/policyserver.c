/* TEMPORARY stub until the policy service lands (owned by the policymap helper; overwrite freely). */
#include "policyserver.h"
#include "log.h"
int policyserver_open(const char *spec, mode_t mode, const char *group)
{
    (void)mode; (void)group;
    log_msg(LOG_ERR, "policy_socket %s: policy service not built yet", spec);
    return -1;
}
bool policyserver_start(int listen_fd) { (void)listen_fd; return false; }
void policyserver_stop(void) { }
