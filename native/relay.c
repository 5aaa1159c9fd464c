// relay: the embedded engine's native TCP relay (placeholder; filled in by the engine work).
#define _GNU_SOURCE
#include "addon.h"

napi_value relay_init(napi_env env, napi_value exports) {
  (void)env;
  return exports;
}
