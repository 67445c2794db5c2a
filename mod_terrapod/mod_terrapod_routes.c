/* The route table: every API path this module serves, with how a caller
 * authenticates and what it must be allowed. It is the API index; the
 * first matching row wins. */
#include "mod_terrapod.h"

#define OPEN TP_AUTH_NONE, TP_PERM_NONE
#define USER TP_AUTH_USER, TP_PERM_AUTHENTICATED
#define ADMIN TP_AUTH_USER, TP_PERM_ADMIN

const tp_route_t tp_routes[] = {
    /* probes and protocol discovery */
    {"GET", "/health", OPEN, tp_api_health},
    {"GET", "/ready", OPEN, tp_api_ready},
    {"GET", "/.well-known/terraform.json", OPEN, tp_api_discovery},
    {"GET", "/api/v2/ping", OPEN, tp_api_ping},

    /* account and the single organization */
    {"GET", "/api/v2/account/details", USER, tp_api_account_details},
    {"GET", "/api/v2/organizations/{org}", USER, tp_api_organization_show},
    {"GET", "/api/terrapod/v1/organizations/{org}", USER,
     tp_api_organization_show},
    {"GET", "/api/v2/organizations/{org}/entitlement-set", USER,
     tp_api_entitlement_set},

    /* users */
    {"POST", "/api/terrapod/v1/users", ADMIN, tp_api_user_create},
    {"GET", "/api/terrapod/v1/users/{email}", USER, tp_api_user_show},

    {NULL, NULL, OPEN, NULL}
};
