// Shared declarations of the rawnet addon's parts: rawnet.c (sockets for VRRP/GARP/netlink),
// relay.c (the engine's native TCP relay) and probe.c (the health checker's native TCP probes).
// Each part adds its exports to the module object from rawnet.c's Init.
#ifndef DIRECTORD_ADDON_H
#define DIRECTORD_ADDON_H
#include <node_api.h>
#include <stdint.h>
#include <sys/socket.h>

// An Error with code = errno name (uv_err_name), errno and syscall: the shape src/sys expects.
napi_value addon_errno_error(napi_env env, const char *syscall_name, int err);

// Returns NULL from the calling N-API function, with a JS error naming the part and the call,
// when an N-API call fails (`env` must be in scope).
#define ADDON_CHECK(part, call)                                  \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error(env, NULL, part ": " #call " failed");    \
      return NULL;                                               \
    }                                                            \
  } while (0)

// Parses a numeric IPv4 or IPv6 address (no zone) into `ss` with `port` and, for IPv6, `scope`;
// returns the sockaddr length, or 0 if the text is not an address.
socklen_t addon_parse_sockaddr(const char *text, uint16_t port, uint32_t scope, struct sockaddr_storage *ss);

napi_value relay_init(napi_env env, napi_value exports);
napi_value probe_init(napi_env env, napi_value exports);

#endif
