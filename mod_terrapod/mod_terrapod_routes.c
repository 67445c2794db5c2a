/* The route table: every API path this module serves, with how a caller
 * authenticates, what platform role it needs, and the level a resource
 * handler demands on the workspace it touches. It is the API index
 * (docs/api.md is checked against it); the first matching row wins. */
#include "mod_terrapod.h"

#define OPEN  TP_AUTH_NONE, TP_PERM_NONE
/* open; a valid API token, if sent, makes the request its owner's */
#define ANYONE TP_AUTH_OPTIONAL, TP_PERM_NONE
#define USER  TP_AUTH_USER, TP_PERM_AUTHENTICATED
#define ADMIN TP_AUTH_USER, TP_PERM_ADMIN
#define AUDIT TP_AUTH_USER, TP_PERM_AUDIT
#define CAP   TP_AUTH_CAPABILITY, TP_PERM_NONE
#define LISTENER TP_AUTH_LISTENER, TP_PERM_NONE
#define RUNNER TP_AUTH_RUNNER, TP_PERM_NONE     /* runtok: for {run_id} */
#define JOIN  TP_AUTH_NONE, TP_PERM_NONE   /* the join token is the body */
/* open to the addresses of TerrapodMetricsAllow; from elsewhere, the
 * handler wants the API token of a platform admin or auditor */
#define SCRAPE TP_AUTH_OPTIONAL, TP_PERM_AUDIT

/* level a handler demands on its workspace */
#define READ  NULL, TP_LEVEL_READ
/* READ, and the read cache keeps its answers: the reads terraform and
 * browsers repeat */
#define KEPT  NULL, TP_LEVEL_READ, 0, 1
#define PLAN  NULL, TP_LEVEL_PLAN
#define WRITE NULL, TP_LEVEL_WRITE
#define WSADM NULL, TP_LEVEL_ADMIN
/* level a handler demands on its agent pool */
#define POOLRD  NULL, TP_LEVEL_READ
#define POOLADM NULL, TP_LEVEL_ADMIN
/* changes who may do what: cached token lookups are dropped after it */
#define PRINCIPALS NULL, TP_LEVEL_NONE, 1
/* held open long (event streams, long polls): their database connection
 * is only borrowed; a stream of a workspace or a pool demands read on it
 * as it opens */
#define HELD       .stream = 1
#define WSSTREAM   READ, .stream = 1
#define POOLSTREAM POOLRD, .stream = 1

#define V2 "/api/v2"
#define NATIVE "/api/terrapod/v1"
#define ORG_WS V2 "/organizations/{org}/workspaces"

const tp_route_t tp_routes[] = {
    /* probes and protocol discovery */
    {"GET", "/health", OPEN, tp_api_health},
    {"GET", "/ready", OPEN, tp_api_ready},
    {"GET", "/.well-known/terraform.json", OPEN, tp_api_discovery},
    {"GET", V2 "/ping", ANYONE, tp_api_ping},
    /* Prometheus metrics (TerrapodMetrics On) */
    {"GET", "/metrics", SCRAPE, tp_api_metrics},

    /* signing in: terraform login (OAuth 2 + PKCE) and browsers; the
     * sign-in steps check their own credentials (form, cookie, code) */
    {"GET", "/oauth/authorize", OPEN, tp_api_oauth_authorize},
    {"POST", "/oauth/token", OPEN, tp_api_oauth_token},
    {"GET", NATIVE "/auth/providers", OPEN, tp_api_auth_providers},
    {"GET", NATIVE "/auth/authorize", OPEN, tp_api_auth_authorize},
    {"GET", NATIVE "/auth/callback", OPEN, tp_api_auth_callback,
     PRINCIPALS},
    {"POST", NATIVE "/auth/callback", OPEN, tp_api_auth_callback_post,
     PRINCIPALS},
    {"GET", NATIVE "/auth/sessions", USER, tp_api_auth_sessions},
    {"POST", NATIVE "/auth/logout", USER, tp_api_auth_logout},

    /* account, users and the single organization */
    {"GET", V2 "/account/details", USER, tp_api_account_details},
    {"PATCH", V2 "/account/update", USER, tp_api_account_update, PRINCIPALS},
    {"GET", V2 "/users/{id}", USER, tp_api_user_read},
    {"GET", V2 "/organizations", USER, tp_api_organization_list},
    {"GET", V2 "/organizations/{org}", USER, tp_api_organization_show},
    {"GET", NATIVE "/organizations/{org}", USER, tp_api_organization_show},
    {"GET", V2 "/organizations/{org}/entitlement-set", USER,
     tp_api_entitlement_set},

    /* workspaces (any user may create one and owns it) */
    {"GET", ORG_WS, USER, tp_api_workspace_list},
    {"POST", ORG_WS, USER, tp_api_workspace_create},
    {"GET", ORG_WS "/{name}", USER, tp_api_workspace_show, KEPT},
    {"PATCH", ORG_WS "/{name}", USER, tp_api_workspace_update, WSADM},
    {"DELETE", ORG_WS "/{name}", USER, tp_api_workspace_delete, WSADM},
    {"POST", ORG_WS "/{name}/actions/safe-delete", USER,
     tp_api_workspace_safe_delete, WSADM},
    {"GET", V2 "/workspaces/{id}", USER, tp_api_workspace_show, KEPT},
    {"PATCH", V2 "/workspaces/{id}", USER, tp_api_workspace_update, WSADM},
    {"DELETE", V2 "/workspaces/{id}", USER, tp_api_workspace_delete, WSADM},
    {"POST", V2 "/workspaces/{id}/actions/safe-delete", USER,
     tp_api_workspace_safe_delete, WSADM},
    {"POST", V2 "/workspaces/{id}/actions/lock", USER,
     tp_api_workspace_lock, PLAN},
    {"POST", V2 "/workspaces/{id}/actions/unlock", USER,
     tp_api_workspace_unlock, PLAN},
    {"POST", V2 "/workspaces/{id}/actions/force-unlock", USER,
     tp_api_workspace_force_unlock, WSADM},
    {"GET", NATIVE "/workspaces", USER, tp_api_workspace_list},
    {"POST", NATIVE "/workspaces", USER, tp_api_workspace_create},
    {"GET", NATIVE "/workspaces/{id}", USER, tp_api_workspace_show, KEPT},
    {"PATCH", NATIVE "/workspaces/{id}", USER, tp_api_workspace_update,
     WSADM},
    {"DELETE", NATIVE "/workspaces/{id}", USER, tp_api_workspace_delete,
     WSADM},

    /* projects group workspaces; any user reads them, platform admins
     * manage them (a project grants nothing on its workspaces) */
    {"GET", V2 "/organizations/{org}/projects", USER, tp_api_project_list},
    {"POST", V2 "/organizations/{org}/projects", ADMIN,
     tp_api_project_create},
    {"GET", V2 "/projects/{id}", USER, tp_api_project_show},
    {"PATCH", V2 "/projects/{id}", ADMIN, tp_api_project_update},
    {"DELETE", V2 "/projects/{id}", ADMIN, tp_api_project_delete},

    /* tags: views of the workspace's labels */
    {"GET", V2 "/organizations/{org}/tags", USER, tp_api_organization_tags},
    {"GET", V2 "/workspaces/{id}/tag-bindings", USER,
     tp_api_tag_bindings_list, READ},
    {"PATCH", V2 "/workspaces/{id}/tag-bindings", USER,
     tp_api_tag_bindings_update, WSADM},
    {"GET", V2 "/workspaces/{id}/effective-tag-bindings", USER,
     tp_api_effective_tag_bindings_list, READ},
    {"GET", V2 "/workspaces/{id}/relationships/tags", USER,
     tp_api_tags_list, READ},
    {"POST", V2 "/workspaces/{id}/relationships/tags", USER,
     tp_api_tags_add, WSADM},
    {"DELETE", V2 "/workspaces/{id}/relationships/tags", USER,
     tp_api_tags_remove, WSADM},

    /* state versions */
    {"GET", V2 "/workspaces/{id}/state-versions", USER,
     tp_api_state_version_list, READ},
    {"POST", V2 "/workspaces/{id}/state-versions", USER,
     tp_api_state_version_create, WRITE},
    {"GET", V2 "/workspaces/{id}/current-state-version", USER,
     tp_api_state_version_current, KEPT},
    {"GET", V2 "/workspaces/{id}/current-state-version-outputs", USER,
     tp_api_current_state_version_outputs, KEPT},
    {"GET", V2 "/workspaces/{id}/resources", USER,
     tp_api_workspace_resources, READ},
    {"GET", V2 "/state-versions", USER, tp_api_state_version_list_filtered,
     READ},
    {"GET", V2 "/state-versions/{id}", USER, tp_api_state_version_show,
     READ},
    {"GET", V2 "/state-versions/{id}/download", USER,
     tp_api_state_version_download, PLAN},
    {"GET", V2 "/state-versions/{id}/json-download", USER,
     tp_api_state_version_json_download, PLAN},
    {"PUT", V2 "/state-versions/{id}/content", CAP,
     tp_api_state_version_upload, "state-content"},
    {"PUT", V2 "/state-versions/{id}/json-content", CAP,
     tp_api_state_version_json_upload, "state-json"},
    {"GET", V2 "/state-versions/{id}/outputs", USER,
     tp_api_state_version_outputs, READ},
    {"GET", V2 "/state-version-outputs/{id}", USER,
     tp_api_state_version_output_show, READ},
    {"DELETE", NATIVE "/state-versions/{id}/manage", USER,
     tp_api_state_version_delete, WSADM},
    {"POST", NATIVE "/state-versions/{id}/actions/rollback", USER,
     tp_api_state_version_rollback, WRITE},
    {"POST", NATIVE "/workspaces/{id}/state-versions/actions/upload", USER,
     tp_api_state_version_raw_upload, WRITE},

    /* configuration versions */
    {"GET", V2 "/workspaces/{id}/configuration-versions", USER,
     tp_api_cv_list, READ},
    {"POST", V2 "/workspaces/{id}/configuration-versions", USER,
     tp_api_cv_create, WRITE},
    {"POST", NATIVE "/configuration-versions/diff", USER, tp_api_cv_diff,
     READ},
    {"GET", V2 "/configuration-versions/{id}", USER, tp_api_cv_show, READ},
    {"PUT", V2 "/configuration-versions/{id}/upload", CAP, tp_api_cv_upload,
     "cv-upload"},
    {"GET", NATIVE "/configuration-versions/download-by-ticket/{ticket}",
     OPEN, tp_api_cv_download_by_ticket},
    {"GET", NATIVE "/configuration-versions/{id}/download", USER,
     tp_api_cv_download, READ},
    {"POST", NATIVE "/configuration-versions/{id}/download-ticket", USER,
     tp_api_cv_download_ticket, READ},

    /* runs, their plan and apply phases, and the phase logs */
    {"POST", V2 "/runs", USER, tp_api_run_create},
    {"GET", V2 "/runs/{id}", USER, tp_api_run_show, READ},
    {"GET", V2 "/workspaces/{id}/runs", USER, tp_api_run_list, READ},
    {"POST", V2 "/runs/{id}/actions/apply", USER, tp_api_run_apply, WRITE},
    {"POST", V2 "/runs/{id}/actions/confirm", USER, tp_api_run_apply, WRITE},
    {"POST", V2 "/runs/{id}/actions/discard", USER, tp_api_run_discard,
     WRITE},
    {"POST", V2 "/runs/{id}/actions/cancel", USER, tp_api_run_cancel, PLAN},
    {"POST", V2 "/runs/{id}/actions/force-cancel", USER,
     tp_api_run_force_cancel, WSADM},
    {"POST", V2 "/runs/{id}/actions/force-execute", USER,
     tp_api_run_force_execute, WSADM},
    {"POST", NATIVE "/runs/{id}/actions/retry", USER, tp_api_run_retry,
     PLAN},
    {"GET", V2 "/runs/{id}/run-events", USER, tp_api_run_event_list, READ},
    {"GET", V2 "/run-events/{id}", USER, tp_api_run_event_show, READ},
    {"GET", V2 "/runs/{id}/task-stages", USER, tp_api_run_task_stages, READ},
    {"GET", V2 "/organizations/{org}/runs", USER, tp_api_organization_runs},
    {"GET", V2 "/organizations/{org}/runs/queue", USER, tp_api_run_queue},
    {"GET", V2 "/organizations/{org}/capacity", USER,
     tp_api_organization_capacity},
    {"GET", V2 "/plans/{id}", USER, tp_api_plan_show, READ},
    {"GET", V2 "/plans/{id}/json-output", USER, tp_api_plan_json_output,
     READ},
    {"GET", V2 "/plans/{id}/logs/{cap}", CAP, tp_api_plan_logs, "log"},
    {"GET", V2 "/applies/{id}", USER, tp_api_apply_show, READ},
    {"GET", V2 "/applies/{id}/state-versions", USER,
     tp_api_apply_state_versions, READ},
    {"GET", V2 "/applies/{id}/logs/{cap}", CAP, tp_api_apply_logs, "log"},
    {"GET", V2 "/runs/{id}/plan", USER, tp_api_run_plan, READ},
    {"GET", V2 "/runs/{id}/plan/json-output", USER,
     tp_api_run_plan_json_output, READ},
    {"GET", V2 "/runs/{id}/apply", USER, tp_api_run_apply_phase, READ},
    {"GET", NATIVE "/runs/{id}/plan", USER, tp_api_run_plan, READ},
    {"GET", NATIVE "/runs/{id}/apply", USER, tp_api_run_apply_phase, READ},

    /* variables and variable sets */
    {"GET", V2 "/workspaces/{id}/vars", USER, tp_api_var_list, READ},
    {"POST", V2 "/workspaces/{id}/vars", USER, tp_api_var_create, WRITE},
    {"GET", V2 "/workspaces/{id}/vars/{var_id}", USER, tp_api_var_show, READ},
    {"PATCH", V2 "/workspaces/{id}/vars/{var_id}", USER, tp_api_var_update,
     WRITE},
    {"DELETE", V2 "/workspaces/{id}/vars/{var_id}", USER, tp_api_var_delete,
     WRITE},
    {"GET", V2 "/workspaces/{id}/all-vars", USER, tp_api_var_effective_list,
     READ},
    {"GET", V2 "/vars", USER, tp_api_vars_legacy_list, READ},
    {"POST", V2 "/vars", USER, tp_api_vars_legacy_create, WRITE},
    {"PATCH", V2 "/vars/{var_id}", USER, tp_api_vars_legacy_update, WRITE},
    {"DELETE", V2 "/vars/{var_id}", USER, tp_api_vars_legacy_delete, WRITE},
    {"GET", V2 "/organizations/{org}/varsets", AUDIT, tp_api_varset_list},
    {"POST", V2 "/organizations/{org}/varsets", ADMIN, tp_api_varset_create},
    {"GET", V2 "/varsets/{varset_id}", AUDIT, tp_api_varset_show},
    {"PATCH", V2 "/varsets/{varset_id}", ADMIN, tp_api_varset_update},
    {"DELETE", V2 "/varsets/{varset_id}", ADMIN, tp_api_varset_delete},
    {"GET", V2 "/varsets/{varset_id}/relationships/vars", AUDIT,
     tp_api_varset_var_list},
    {"POST", V2 "/varsets/{varset_id}/relationships/vars", ADMIN,
     tp_api_varset_var_create},
    {"GET", V2 "/varsets/{varset_id}/relationships/vars/{var_id}", AUDIT,
     tp_api_varset_var_show},
    {"PATCH", V2 "/varsets/{varset_id}/relationships/vars/{var_id}", ADMIN,
     tp_api_varset_var_update},
    {"DELETE", V2 "/varsets/{varset_id}/relationships/vars/{var_id}", ADMIN,
     tp_api_varset_var_delete},
    {"POST", V2 "/varsets/{varset_id}/relationships/workspaces", ADMIN,
     tp_api_varset_workspaces_add},
    {"DELETE", V2 "/varsets/{varset_id}/relationships/workspaces", ADMIN,
     tp_api_varset_workspaces_remove},

    /* agent pools and listeners (the pools under TFE's paths too) */
    {"GET", V2 "/organizations/{org}/agent-pools", USER,
     tp_api_agent_pool_list},
    {"GET", V2 "/agent-pools/{id}", USER, tp_api_agent_pool_show, POOLRD},
    {"GET", NATIVE "/agent-pools", USER, tp_api_agent_pool_list},
    {"POST", NATIVE "/agent-pools", ADMIN, tp_api_agent_pool_create},
    {"POST", NATIVE "/agent-pools/join", JOIN, tp_api_listener_join},
    {"GET", NATIVE "/agent-pools/{id}", USER, tp_api_agent_pool_show,
     POOLRD},
    {"PATCH", NATIVE "/agent-pools/{id}", USER, tp_api_agent_pool_update,
     POOLADM},
    {"DELETE", NATIVE "/agent-pools/{id}", USER, tp_api_agent_pool_delete,
     POOLADM},
    {"POST", NATIVE "/agent-pools/{id}/authentication-tokens", USER,
     tp_api_pool_tokens_create, POOLADM},
    {"GET", NATIVE "/agent-pools/{id}/authentication-tokens", USER,
     tp_api_pool_tokens_list, POOLADM},
    {"DELETE", NATIVE "/agent-pools/{id}/authentication-tokens/{token_id}",
     USER, tp_api_pool_token_revoke, POOLADM},
    {"GET", NATIVE "/agent-pools/{id}/listeners", USER,
     tp_api_pool_listeners_list, POOLRD},
    {"POST", NATIVE "/agent-pools/{pool_id}/listeners/join", JOIN,
     tp_api_listener_join},
    /* mod_ssl asks for a client certificate only on LISTENER paths (the
     * LocationMatch of conf/httpd.conf.in and conf/terrapod.conf): a new
     * one goes there too, a USER one must not match it */
    {"POST", NATIVE "/listeners/{id}/heartbeat", LISTENER,
     tp_api_listener_heartbeat},
    {"POST", NATIVE "/listeners/{id}/renew", LISTENER,
     tp_api_listener_renew},
    {"POST", NATIVE "/listeners/{id}/actions/revoke", USER,
     tp_api_listener_revoke, POOLADM},
    {"DELETE", NATIVE "/listeners/{id}", USER, tp_api_listener_delete,
     POOLADM},

    /* the listener and runner protocol */
    {"GET", NATIVE "/listeners/{id}/runs/next", LISTENER,
     tp_api_listener_run_next, HELD},
    {"POST", NATIVE "/listeners/{id}/runs/{run_id}/runner-token", LISTENER,
     tp_api_listener_runner_token},
    {"GET", NATIVE "/listeners/{id}/runs/{run_id}", LISTENER,
     tp_api_listener_run_show},
    {"PATCH", NATIVE "/listeners/{id}/runs/{run_id}", LISTENER,
     tp_api_listener_run_update},
    {"GET", NATIVE "/runs/{run_id}/artifacts/config", RUNNER,
     tp_api_artifact_config},
    {"GET", NATIVE "/runs/{run_id}/artifacts/state", RUNNER,
     tp_api_artifact_state},
    {"PUT", NATIVE "/runs/{run_id}/artifacts/state", RUNNER,
     tp_api_artifact_state_upload},
    {"GET", NATIVE "/runs/{run_id}/artifacts/plan-file", RUNNER,
     tp_api_artifact_plan_file},
    {"PUT", NATIVE "/runs/{run_id}/artifacts/plan-file", RUNNER,
     tp_api_artifact_plan_file_upload},
    {"GET", NATIVE "/runs/{run_id}/artifacts/plan-json", RUNNER,
     tp_api_artifact_plan_json},
    {"PUT", NATIVE "/runs/{run_id}/artifacts/plan-json", RUNNER,
     tp_api_artifact_plan_json_upload},
    {"GET", NATIVE "/runs/{run_id}/artifacts/plan-artifacts", RUNNER,
     tp_api_artifact_plan_artifacts},
    {"PUT", NATIVE "/runs/{run_id}/artifacts/plan-artifacts", RUNNER,
     tp_api_artifact_plan_artifacts_upload},
    {"PUT", NATIVE "/runs/{run_id}/artifacts/plan-log", RUNNER,
     tp_api_artifact_log_put},
    {"POST", NATIVE "/runs/{run_id}/artifacts/plan-log", RUNNER,
     tp_api_artifact_log_append},
    {"PUT", NATIVE "/runs/{run_id}/artifacts/apply-log", RUNNER,
     tp_api_artifact_log_put},
    {"POST", NATIVE "/runs/{run_id}/artifacts/apply-log", RUNNER,
     tp_api_artifact_log_append},
    {"POST", NATIVE "/runs/{run_id}/resource-profile", RUNNER,
     tp_api_run_resource_profile},

    /* live events (text/event-stream) */
    {"GET", NATIVE "/workspaces/{id}/runs/events", USER,
     tp_api_workspace_events, WSSTREAM},
    {"GET", NATIVE "/workspace-events", USER, tp_api_workspaces_events,
     HELD},
    {"GET", NATIVE "/agent-pools/{id}/events", AUDIT,
     tp_api_agent_pool_events, POOLSTREAM},

    /* the audit log of every API request */
    {"GET", NATIVE "/admin/audit-log", AUDIT, tp_api_audit_log_list},

    /* roles and who holds them */
    {"GET", NATIVE "/roles", AUDIT, tp_api_role_list},
    {"POST", NATIVE "/roles", ADMIN, tp_api_role_create, PRINCIPALS},
    {"GET", NATIVE "/roles/{name}", AUDIT, tp_api_role_show},
    {"PATCH", NATIVE "/roles/{name}", ADMIN, tp_api_role_update,
     PRINCIPALS},
    {"DELETE", NATIVE "/roles/{name}", ADMIN, tp_api_role_delete,
     PRINCIPALS},
    {"GET", NATIVE "/role-assignments", AUDIT, tp_api_role_assignment_list},
    {"PUT", NATIVE "/role-assignments", ADMIN, tp_api_role_assignment_put,
     PRINCIPALS},
    {"DELETE", NATIVE "/role-assignments/{provider}/{email}/{role}", ADMIN,
     tp_api_role_assignment_delete, PRINCIPALS},

    /* users and their API tokens */
    {"GET", NATIVE "/users", AUDIT, tp_api_user_list},
    {"POST", NATIVE "/users", ADMIN, tp_api_user_create, PRINCIPALS},
    {"GET", NATIVE "/users/{email}", USER, tp_api_user_show},
    {"PATCH", NATIVE "/users/{email}", ADMIN, tp_api_user_update, PRINCIPALS},
    {"DELETE", NATIVE "/users/{email}", ADMIN, tp_api_user_delete, PRINCIPALS},
    {"POST", NATIVE "/users/{user_id}/authentication-tokens", USER,
     tp_api_user_tokens_create},
    {"GET", NATIVE "/users/{user_id}/authentication-tokens", USER,
     tp_api_user_tokens_list},
    {"GET", NATIVE "/admin/authentication-tokens", ADMIN,
     tp_api_token_list_all},
    {"POST", NATIVE "/admin/authentication-tokens/actions/revoke-all", ADMIN,
     tp_api_token_revoke_all, PRINCIPALS},
    /* before {id}, which would take "expiring" for an id */
    {"GET", NATIVE "/authentication-tokens/expiring", USER,
     tp_api_token_expiring},
    {"GET", NATIVE "/authentication-tokens/{id}", USER, tp_api_token_show},
    {"PATCH", NATIVE "/authentication-tokens/{id}", USER,
     tp_api_token_update, PRINCIPALS},
    {"DELETE", NATIVE "/authentication-tokens/{id}", USER,
     tp_api_token_delete, PRINCIPALS},
    {"POST", NATIVE "/authentication-tokens/{id}/actions/rotate", USER,
     tp_api_token_rotate, PRINCIPALS},

    {NULL, NULL, OPEN, NULL}
};

/* The resource types described once (tp_resource.h): what include= can
 * reach, each loaded and rendered as its own endpoints show it. */
const tp_type_t *const tp_types[] = {
    &tp_type_organizations, &tp_type_workspaces, &tp_type_runs,
    &tp_type_plans, &tp_type_applies, &tp_type_configuration_versions,
    &tp_type_state_versions, &tp_type_state_version_outputs, &tp_type_users,
    &tp_type_projects, &tp_type_run_events, NULL
};
