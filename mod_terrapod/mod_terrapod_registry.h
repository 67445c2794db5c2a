/* The private provider registry's handlers (api/registry_providers.c,
 * api/gpg_keys.c) and what they share. */
#ifndef MOD_TERRAPOD_REGISTRY_H
#define MOD_TERRAPOD_REGISTRY_H

#include "mod_terrapod.h"

/* the one namespace of the private registry */
#define TP_REGISTRY_NAMESPACE "default"

/* 403 unless the caller is a platform admin or holds a role with
 * registry-permission admin; doing says what was refused. */
tp_err_t *tp_registry_admin(tp_req_t *req, const char *doing);

/* Row i of the gpg_keys columns as a "gpg-keys" resource. */
tp_json_t *tp_gpg_key_resource(tp_req_t *req, const tp_rows_t *rows, int i);

tp_err_t *tp_api_gpg_key_list(tp_req_t *req);
tp_err_t *tp_api_gpg_key_create(tp_req_t *req);
tp_err_t *tp_api_gpg_key_show(tp_req_t *req);
tp_err_t *tp_api_gpg_key_delete(tp_req_t *req);

tp_err_t *tp_api_provider_list(tp_req_t *req);
tp_err_t *tp_api_provider_create(tp_req_t *req);
tp_err_t *tp_api_provider_show(tp_req_t *req);
tp_err_t *tp_api_provider_update(tp_req_t *req);
tp_err_t *tp_api_provider_delete(tp_req_t *req);
tp_err_t *tp_api_provider_versions(tp_req_t *req);
tp_err_t *tp_api_provider_version_delete(tp_req_t *req);
tp_err_t *tp_api_provider_shasums_put(tp_req_t *req);
tp_err_t *tp_api_provider_shasums_sig_put(tp_req_t *req);
tp_err_t *tp_api_provider_platform_put(tp_req_t *req);
/* providers.v1, and the files its download answer points at */
tp_err_t *tp_api_providers_v1_versions(tp_req_t *req);
tp_err_t *tp_api_providers_v1_download(tp_req_t *req);
tp_err_t *tp_api_provider_file(tp_req_t *req);

#endif
