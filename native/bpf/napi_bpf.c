/* placeholder: eBPF engine Node-API bindings */
#include "../common.h"
void rf_bpf_register(napi_env env, napi_value exports) { (void)env; (void)exports; }
