/* The engine's Node-API bindings, for the ring's bindings (ring.c). */
#ifndef RINGFLOW_ENGINE_NAPI_H
#define RINGFLOW_ENGINE_NAPI_H

#include "common.h"
#include "engine.h"

/* Frees a ring's engine and the bindings' state for it (env NULL at environment teardown). */
void rf_engine_free(rf_engine *e, napi_env env);
void rf_engine_register(napi_env env, napi_value exports);
void rf_policy_register(napi_env env, napi_value exports); /* policy_napi.c */

#endif
