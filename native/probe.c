// probe: the health checker's native TCP probes (placeholder; filled in by the health work).
#define _GNU_SOURCE
#include "addon.h"

napi_value probe_init(napi_env env, napi_value exports) {
  (void)env;
  return exports;
}
