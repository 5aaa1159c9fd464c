// rawnet: the small N-API addon behind src/sys/rawnet.ts.
//
// It exposes just enough of the socket API for VRRP (raw IP protocol 112 sockets with
// cmsg-carrying receive), gratuitous ARP (AF_PACKET send), unsolicited NA (raw ICMPv6 with a
// chosen source), rtnetlink (send/recv on NETLINK_ROUTE) and IP_FREEBIND listeners. Everything
// else (packet layouts, netlink message building, policy) lives in TypeScript.
//
// Plain C against N-API only (no node-addon-api, no NAN): the same binary loads in every Node
// version with N-API 8+, and it builds offline against the machine's own headers.
//
// Errors: every failed syscall throws an Error with
//   code    = the errno name ("EPERM", "EADDRNOTAVAIL", ...; from libuv's table)
//   errno   = the positive errno number
//   syscall = the call that failed
// src/sys/rawnet.ts turns these into DirectorError DIR_ERR_SYS_* codes.
#define _GNU_SOURCE
#include <node_api.h>
#include "addon.h"
#include <uv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/icmp6.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#define RECV_BUF_SIZE 65536
#define MAX_PACKETS_PER_WAKEUP 64

#define CHECK(call) ADDON_CHECK("rawnet", call)

napi_value addon_errno_error(napi_env env, const char *syscall_name, int err) {
  char msg[256];
  const char *name = uv_err_name(-err);
  snprintf(msg, sizeof msg, "%s: %s (%s)", syscall_name, strerror(err), name);
  napi_value m, code, num, sc, error;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_int32(env, err, &num);
  napi_create_string_utf8(env, syscall_name, NAPI_AUTO_LENGTH, &sc);
  napi_create_error(env, NULL, m, &error);
  napi_set_named_property(env, error, "code", code);
  napi_set_named_property(env, error, "errno", num);
  napi_set_named_property(env, error, "syscall", sc);
  return error;
}

static napi_value throw_errno(napi_env env, const char *syscall_name) {
  int err = errno;
  napi_throw(env, addon_errno_error(env, syscall_name, err));
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static napi_value make_i32(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

socklen_t addon_parse_sockaddr(const char *text, uint16_t port, uint32_t scope, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *sin = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    return sizeof *sin;
  }
  if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_scope_id = scope;
    return sizeof *sin6;
  }
  return 0;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return 0;
  return len < size - 1;
}

// socket(domain, type, protocol) -> fd (always non-blocking and close-on-exec)
static napi_value js_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t domain, type, proto;
  if (argc < 3 || !get_i32(env, a[0], &domain) || !get_i32(env, a[1], &type) || !get_i32(env, a[2], &proto))
    return throw_type(env, "socket(domain, type, protocol): numbers expected");
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) return throw_errno(env, "socket");
  return make_i32(env, fd);
}

// setsockopt(fd, level, name, number | Buffer)
static napi_value js_setsockopt(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd, level, name;
  if (argc < 4 || !get_i32(env, a[0], &fd) || !get_i32(env, a[1], &level) || !get_i32(env, a[2], &name))
    return throw_type(env, "setsockopt(fd, level, name, value): numbers expected");
  bool isbuf = false;
  napi_is_buffer(env, a[3], &isbuf);
  int rc;
  if (isbuf) {
    void *data;
    size_t len;
    CHECK(napi_get_buffer_info(env, a[3], &data, &len));
    rc = setsockopt(fd, level, name, data, (socklen_t)len);
  } else {
    int32_t v;
    if (!get_i32(env, a[3], &v)) return throw_type(env, "setsockopt value: number or Buffer expected");
    int iv = v;
    rc = setsockopt(fd, level, name, &iv, sizeof iv);
  }
  if (rc < 0) return throw_errno(env, "setsockopt");
  return NULL;
}

// bindToDevice(fd, "eth0")
static napi_value js_bind_to_device(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd;
  char name[IF_NAMESIZE + 1];
  if (argc < 2 || !get_i32(env, a[0], &fd) || !get_string(env, a[1], name, sizeof name))
    return throw_type(env, "bindToDevice(fd, name)");
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)strlen(name) + 1) < 0)
    return throw_errno(env, "setsockopt(SO_BINDTODEVICE)");
  return NULL;
}

// bind(fd, address, port, scopeId)  (AF_INET / AF_INET6, by the address text)
static napi_value js_bind(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value a[4];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd, port = 0, scope = 0;
  char text[INET6_ADDRSTRLEN + 1];
  if (argc < 3 || !get_i32(env, a[0], &fd) || !get_string(env, a[1], text, sizeof text) || !get_i32(env, a[2], &port))
    return throw_type(env, "bind(fd, address, port, scopeId?)");
  if (argc >= 4) get_i32(env, a[3], &scope);
  struct sockaddr_storage ss;
  socklen_t len = addon_parse_sockaddr(text, (uint16_t)port, (uint32_t)scope, &ss);
  if (!len) return throw_type(env, "bind: not an IP address");
  if (bind(fd, (struct sockaddr *)&ss, len) < 0) return throw_errno(env, "bind");
  return NULL;
}

// bindPacket(fd, ifindex, ethertype)  (AF_PACKET bind to one interface)
static napi_value js_bind_packet(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd, ifindex, ethertype;
  if (argc < 3 || !get_i32(env, a[0], &fd) || !get_i32(env, a[1], &ifindex) || !get_i32(env, a[2], &ethertype))
    return throw_type(env, "bindPacket(fd, ifindex, ethertype)");
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_protocol = htons((uint16_t)ethertype);
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) return throw_errno(env, "bind(AF_PACKET)");
  return NULL;
}

// bindNetlink(fd, groups): subscribe a NETLINK_ROUTE socket to multicast groups (RTMGRP_LINK, ...)
static napi_value js_bind_netlink(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd, groups;
  if (argc < 2 || !get_i32(env, a[0], &fd) || !get_i32(env, a[1], &groups)) return throw_type(env, "bindNetlink(fd, groups)");
  struct sockaddr_nl snl;
  memset(&snl, 0, sizeof snl);
  snl.nl_family = AF_NETLINK;
  snl.nl_groups = (uint32_t)groups;
  if (bind(fd, (struct sockaddr *)&snl, sizeof snl) < 0) return throw_errno(env, "bind(AF_NETLINK)");
  return NULL;
}

// listen(fd, backlog)
static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd, backlog;
  if (argc < 2 || !get_i32(env, a[0], &fd) || !get_i32(env, a[1], &backlog)) return throw_type(env, "listen(fd, backlog)");
  if (listen(fd, backlog) < 0) return throw_errno(env, "listen");
  return NULL;
}

// attachDropFilter(fd): classic BPF "ret 0", so a send-only raw socket queues nothing.
static napi_value js_attach_drop_filter(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !get_i32(env, a[0], &fd)) return throw_type(env, "attachDropFilter(fd)");
  struct sock_filter code[] = { { BPF_RET | BPF_K, 0, 0, 0 } };
  struct sock_fprog prog = { 1, code };
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
    return throw_errno(env, "setsockopt(SO_ATTACH_FILTER)");
  return NULL;
}

// sendTo(fd, payload, destination, ifindex, source|null) -> bytes
// With a source (or an ifindex) the packet carries IP_PKTINFO / IPV6_PKTINFO, which picks the
// source address and outgoing interface for this one packet (RFC 3542 section 6).
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd, ifindex = 0;
  void *data;
  size_t len;
  char dst[INET6_ADDRSTRLEN + 1], src[INET6_ADDRSTRLEN + 1] = "";
  if (argc < 3 || !get_i32(env, a[0], &fd) || napi_get_buffer_info(env, a[1], &data, &len) != napi_ok ||
      !get_string(env, a[2], dst, sizeof dst))
    return throw_type(env, "sendTo(fd, buffer, destination, ifindex?, source?)");
  if (argc >= 4) get_i32(env, a[3], &ifindex);
  if (argc >= 5) {
    napi_valuetype t;
    napi_typeof(env, a[4], &t);
    if (t == napi_string && !get_string(env, a[4], src, sizeof src)) return throw_type(env, "sendTo: bad source");
  }
  struct sockaddr_storage ss;
  socklen_t sslen = addon_parse_sockaddr(dst, 0, (uint32_t)ifindex, &ss);
  if (!sslen) return throw_type(env, "sendTo: destination is not an IP address");
  struct iovec iov = { data, len };
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_name = &ss;
  m.msg_namelen = sslen;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  union {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    struct cmsghdr align;
  } ctl;
  memset(&ctl, 0, sizeof ctl);
  if (*src || ifindex) {
    m.msg_control = ctl.buf;
    if (ss.ss_family == AF_INET) {
      m.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
      struct cmsghdr *c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
      struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);
      pi->ipi_ifindex = ifindex;
      if (*src && inet_pton(AF_INET, src, &pi->ipi_spec_dst) != 1) return throw_type(env, "sendTo: source family mismatch");
    } else {
      m.msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
      struct cmsghdr *c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
      struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(c);
      pi->ipi6_ifindex = (unsigned)ifindex;
      if (*src && inet_pton(AF_INET6, src, &pi->ipi6_addr) != 1) return throw_type(env, "sendTo: source family mismatch");
    }
  }
  ssize_t n = sendmsg(fd, &m, 0);
  if (n < 0) return throw_errno(env, "sendmsg");
  return make_i32(env, (int32_t)n);
}

// sendPacket(fd, ifindex, frame) -> bytes  (frame starts with the Ethernet header)
static napi_value js_send_packet(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd, ifindex;
  void *data;
  size_t len;
  if (argc < 3 || !get_i32(env, a[0], &fd) || !get_i32(env, a[1], &ifindex) ||
      napi_get_buffer_info(env, a[2], &data, &len) != napi_ok)
    return throw_type(env, "sendPacket(fd, ifindex, frame)");
  if (len < ETH_HLEN) return throw_type(env, "sendPacket: frame shorter than an Ethernet header");
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex;
  sll.sll_halen = ETH_ALEN;
  memcpy(&sll.sll_protocol, (char *)data + 12, 2);
  memcpy(sll.sll_addr, data, ETH_ALEN);
  ssize_t n = sendto(fd, data, len, 0, (struct sockaddr *)&sll, sizeof sll);
  if (n < 0) return throw_errno(env, "sendto(AF_PACKET)");
  return make_i32(env, (int32_t)n);
}

// send(fd, buffer) -> bytes  (netlink: the default destination is the kernel)
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd;
  void *data;
  size_t len;
  if (argc < 2 || !get_i32(env, a[0], &fd) || napi_get_buffer_info(env, a[1], &data, &len) != napi_ok)
    return throw_type(env, "send(fd, buffer)");
  ssize_t n = send(fd, data, len, 0);
  if (n < 0) return throw_errno(env, "send");
  return make_i32(env, (int32_t)n);
}

// recv(fd) -> Buffer | null (null when nothing is queued: EAGAIN)
static napi_value js_recv(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !get_i32(env, a[0], &fd)) return throw_type(env, "recv(fd)");
  static unsigned char buf[RECV_BUF_SIZE];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      napi_value nul;
      napi_get_null(env, &nul);
      return nul;
    }
    return throw_errno(env, "recv");
  }
  napi_value out;
  void *dst;
  CHECK(napi_create_buffer_copy(env, (size_t)n, buf, &dst, &out));
  return out;
}

// ifindex("eth0") -> number
static napi_value js_ifindex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  char name[IF_NAMESIZE + 1];
  if (argc < 1 || !get_string(env, a[0], name, sizeof name)) return throw_type(env, "ifindex(name)");
  unsigned idx = if_nametoindex(name);
  if (!idx) return throw_errno(env, "if_nametoindex");
  return make_i32(env, (int32_t)idx);
}

// ifinfo("eth0") -> { index, mac: Buffer(6), flags, mtu }
static napi_value js_ifinfo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  char name[IF_NAMESIZE + 1];
  if (argc < 1 || !get_string(env, a[0], name, sizeof name)) return throw_type(env, "ifinfo(name)");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  size_t namelen = strlen(name);
  if (namelen >= IF_NAMESIZE) {
    close(fd);
    return throw_type(env, "ifinfo: interface name too long");
  }
  memcpy(ifr.ifr_name, name, namelen);
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) goto fail_index;
  napi_set_named_property(env, out, "index", make_i32(env, ifr.ifr_ifindex));
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) goto fail_hw;
  void *mac;
  napi_create_buffer_copy(env, 6, ifr.ifr_hwaddr.sa_data, &mac, &v);
  napi_set_named_property(env, out, "mac", v);
  napi_set_named_property(env, out, "hwType", make_i32(env, ifr.ifr_hwaddr.sa_family));
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) goto fail_flags;
  napi_set_named_property(env, out, "flags", make_i32(env, ifr.ifr_flags & 0xffff));
  if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) goto fail_mtu;
  napi_set_named_property(env, out, "mtu", make_i32(env, ifr.ifr_mtu));
  close(fd);
  return out;
fail_index:;
  int e = errno;
  close(fd);
  errno = e;
  return throw_errno(env, "ioctl(SIOCGIFINDEX)");
fail_hw:
  e = errno;
  close(fd);
  errno = e;
  return throw_errno(env, "ioctl(SIOCGIFHWADDR)");
fail_flags:
  e = errno;
  close(fd);
  errno = e;
  return throw_errno(env, "ioctl(SIOCGIFFLAGS)");
fail_mtu:
  e = errno;
  close(fd);
  errno = e;
  return throw_errno(env, "ioctl(SIOCGIFMTU)");
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !get_i32(env, a[0], &fd)) return throw_type(env, "close(fd)");
  if (close(fd) < 0) return throw_errno(env, "close");
  return NULL;
}

// ---- receive side: uv_poll + recvmsg with control messages --------------------------------
//
// callback(err, packet, meta) where meta = { ifindex, source, destination, hopLimit }.
// hopLimit is -1 unless IPV6_RECVHOPLIMIT delivered it (for IPv4 raw sockets the IP header
// comes with the packet and the TTL is read from it in TypeScript).

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_async_context ctx;
  int fd;
  int stopped;
  unsigned char *buf;
} poller_t;

static void on_poll_closed(uv_handle_t *h) {
  poller_t *p = h->data;
  free(p->buf);
  free(p);
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *s) {
  napi_value v;
  if (s && *s)
    napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  else
    napi_get_null(env, &v);
  napi_set_named_property(env, obj, key, v);
}

static void deliver(poller_t *p, napi_value err, napi_value packet, napi_value meta) {
  napi_env env = p->env;
  napi_value argv[3], cb, global, result;
  napi_value undef;
  napi_get_undefined(env, &undef);
  argv[0] = err ? err : undef;
  argv[1] = packet ? packet : undef;
  argv[2] = meta ? meta : undef;
  napi_get_reference_value(env, p->cb, &cb);
  napi_get_global(env, &global);
  napi_status st = napi_make_callback(env, p->ctx, global, cb, 3, argv, &result);
  if (st == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_fatal_exception(env, ex);  // becomes process 'uncaughtException', as for any callback
  }
}

static void on_readable(uv_poll_t *h, int status, int events) {
  (void)events;
  poller_t *p = h->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  if (status < 0) {
    napi_value m, error;
    napi_create_string_utf8(env, uv_strerror(status), NAPI_AUTO_LENGTH, &m);
    napi_create_error(env, NULL, m, &error);
    deliver(p, error, NULL, NULL);
    napi_close_handle_scope(env, scope);
    return;
  }
  for (int i = 0; i < MAX_PACKETS_PER_WAKEUP && !p->stopped; i++) {
    unsigned char ctl[512];
    struct sockaddr_storage from;
    struct iovec iov = { p->buf, RECV_BUF_SIZE };
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    memset(&from, 0, sizeof from);
    ssize_t n = recvmsg(p->fd, &m, MSG_DONTWAIT);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) deliver(p, addon_errno_error(env, "recvmsg", errno), NULL, NULL);
      break;
    }
    int ifindex = 0, hop = -1;
    char src[INET6_ADDRSTRLEN] = "", dst[INET6_ADDRSTRLEN] = "";
    if (from.ss_family == AF_PACKET) ifindex = ((struct sockaddr_ll *)&from)->sll_ifindex;
    if (from.ss_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, src, sizeof src);
    if (from.ss_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, src, sizeof src);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);
        ifindex = pi->ipi_ifindex;
        inet_ntop(AF_INET, &pi->ipi_addr, dst, sizeof dst);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(c);
        ifindex = (int)pi->ipi6_ifindex;
        inet_ntop(AF_INET6, &pi->ipi6_addr, dst, sizeof dst);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
        memcpy(&hop, CMSG_DATA(c), sizeof hop);
      }
    }
    napi_value packet, meta;
    void *copy;
    napi_create_buffer_copy(env, (size_t)n, p->buf, &copy, &packet);
    napi_create_object(env, &meta);
    napi_set_named_property(env, meta, "ifindex", make_i32(env, ifindex));
    set_str(env, meta, "source", src);
    set_str(env, meta, "destination", dst);
    napi_set_named_property(env, meta, "hopLimit", make_i32(env, hop));
    napi_set_named_property(env, meta, "truncated", make_i32(env, (m.msg_flags & MSG_TRUNC) ? 1 : 0));
    deliver(p, NULL, packet, meta);
  }
  napi_close_handle_scope(env, scope);
}

// startRecv(fd, callback) -> handle
static napi_value js_start_recv(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t fd;
  napi_valuetype t;
  if (argc < 2 || !get_i32(env, a[0], &fd) || napi_typeof(env, a[1], &t) != napi_ok || t != napi_function)
    return throw_type(env, "startRecv(fd, callback)");
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "calloc");
  p->buf = malloc(RECV_BUF_SIZE);
  if (!p->buf) {
    free(p);
    return throw_errno(env, "malloc");
  }
  p->env = env;
  p->fd = fd;
  p->poll.data = p;
  int rc = uv_poll_init(loop, &p->poll, fd);
  if (rc != 0) {
    free(p->buf);
    free(p);
    napi_throw(env, addon_errno_error(env, "uv_poll_init", -rc));
    return NULL;
  }
  rc = uv_poll_start(&p->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    p->stopped = 1;
    uv_close((uv_handle_t *)&p->poll, on_poll_closed);  // an initialised handle must be closed, not freed
    napi_throw(env, addon_errno_error(env, "uv_poll_start", -rc));
    return NULL;
  }
  napi_create_reference(env, a[1], 1, &p->cb);
  napi_value name;
  napi_create_string_utf8(env, "rawnet.recv", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &p->ctx);
  napi_value ext;
  CHECK(napi_create_external(env, p, NULL, NULL, &ext));
  return ext;
}

// stopRecv(handle): stops polling (the fd stays open); calling it twice is harmless.
static napi_value js_stop_recv(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  poller_t *p;
  if (argc < 1 || napi_get_value_external(env, a[0], (void **)&p) != napi_ok) return throw_type(env, "stopRecv(handle)");
  if (p->stopped) return NULL;
  p->stopped = 1;
  uv_poll_stop(&p->poll);
  napi_delete_reference(env, p->cb);
  napi_async_destroy(env, p->ctx);
  uv_close((uv_handle_t *)&p->poll, on_poll_closed);
  return NULL;
}

// ---- constants the TypeScript side needs (from the system headers, not hard-coded) --------

static void add_const(napi_env env, napi_value obj, const char *name, int32_t v) {
  napi_set_named_property(env, obj, name, make_i32(env, v));
}

static napi_value make_constants(napi_env env) {
  napi_value c;
  napi_create_object(env, &c);
  add_const(env, c, "AF_INET", AF_INET);
  add_const(env, c, "AF_INET6", AF_INET6);
  add_const(env, c, "AF_PACKET", AF_PACKET);
  add_const(env, c, "AF_NETLINK", AF_NETLINK);
  add_const(env, c, "SOCK_RAW", SOCK_RAW);
  add_const(env, c, "SOCK_DGRAM", SOCK_DGRAM);
  add_const(env, c, "SOCK_STREAM", SOCK_STREAM);
  add_const(env, c, "SOL_SOCKET", SOL_SOCKET);
  add_const(env, c, "SO_REUSEADDR", SO_REUSEADDR);
  add_const(env, c, "SO_REUSEPORT", SO_REUSEPORT);
  add_const(env, c, "SO_RCVBUF", SO_RCVBUF);
  add_const(env, c, "SO_SNDBUF", SO_SNDBUF);
  add_const(env, c, "IPPROTO_IP", IPPROTO_IP);
  add_const(env, c, "IPPROTO_IPV6", IPPROTO_IPV6);
  add_const(env, c, "IPPROTO_ICMPV6", IPPROTO_ICMPV6);
  add_const(env, c, "IPPROTO_VRRP", 112);
  add_const(env, c, "IP_TOS", IP_TOS);
  add_const(env, c, "IP_TTL", IP_TTL);
  add_const(env, c, "IP_PKTINFO", IP_PKTINFO);
  add_const(env, c, "IP_MULTICAST_IF", IP_MULTICAST_IF);
  add_const(env, c, "IP_MULTICAST_TTL", IP_MULTICAST_TTL);
  add_const(env, c, "IP_MULTICAST_LOOP", IP_MULTICAST_LOOP);
  add_const(env, c, "IP_MULTICAST_ALL", IP_MULTICAST_ALL);
  add_const(env, c, "IP_ADD_MEMBERSHIP", IP_ADD_MEMBERSHIP);
  add_const(env, c, "IP_DROP_MEMBERSHIP", IP_DROP_MEMBERSHIP);
  add_const(env, c, "IP_FREEBIND", IP_FREEBIND);
  add_const(env, c, "IPV6_FREEBIND", 78);  // linux/in6.h; not in older glibc headers
  add_const(env, c, "IPV6_V6ONLY", IPV6_V6ONLY);
  add_const(env, c, "IPV6_CHECKSUM", IPV6_CHECKSUM);
  add_const(env, c, "IPV6_UNICAST_HOPS", IPV6_UNICAST_HOPS);
  add_const(env, c, "IPV6_MULTICAST_HOPS", IPV6_MULTICAST_HOPS);
  add_const(env, c, "IPV6_MULTICAST_IF", IPV6_MULTICAST_IF);
  add_const(env, c, "IPV6_MULTICAST_LOOP", IPV6_MULTICAST_LOOP);
  add_const(env, c, "IPV6_ADD_MEMBERSHIP", IPV6_ADD_MEMBERSHIP);
  add_const(env, c, "IPV6_RECVHOPLIMIT", IPV6_RECVHOPLIMIT);
  add_const(env, c, "IPV6_RECVPKTINFO", IPV6_RECVPKTINFO);
  add_const(env, c, "IPV6_TCLASS", IPV6_TCLASS);
  add_const(env, c, "ICMP6_FILTER", ICMP6_FILTER);
  add_const(env, c, "NETLINK_ROUTE", NETLINK_ROUTE);
  add_const(env, c, "RTMGRP_LINK", RTMGRP_LINK);
  add_const(env, c, "IFF_UP", IFF_UP);
  add_const(env, c, "IFF_RUNNING", IFF_RUNNING);
  add_const(env, c, "IFF_NOARP", IFF_NOARP);
  add_const(env, c, "IFF_LOOPBACK", IFF_LOOPBACK);
  return c;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "socket", 0, js_socket, 0, 0, 0, napi_enumerable, 0 },
    { "setsockopt", 0, js_setsockopt, 0, 0, 0, napi_enumerable, 0 },
    { "bindToDevice", 0, js_bind_to_device, 0, 0, 0, napi_enumerable, 0 },
    { "bind", 0, js_bind, 0, 0, 0, napi_enumerable, 0 },
    { "bindPacket", 0, js_bind_packet, 0, 0, 0, napi_enumerable, 0 },
    { "listen", 0, js_listen, 0, 0, 0, napi_enumerable, 0 },
    { "bindNetlink", 0, js_bind_netlink, 0, 0, 0, napi_enumerable, 0 },
    { "attachDropFilter", 0, js_attach_drop_filter, 0, 0, 0, napi_enumerable, 0 },
    { "sendTo", 0, js_send_to, 0, 0, 0, napi_enumerable, 0 },
    { "sendPacket", 0, js_send_packet, 0, 0, 0, napi_enumerable, 0 },
    { "send", 0, js_send, 0, 0, 0, napi_enumerable, 0 },
    { "recv", 0, js_recv, 0, 0, 0, napi_enumerable, 0 },
    { "ifindex", 0, js_ifindex, 0, 0, 0, napi_enumerable, 0 },
    { "ifinfo", 0, js_ifinfo, 0, 0, 0, napi_enumerable, 0 },
    { "close", 0, js_close, 0, 0, 0, napi_enumerable, 0 },
    { "startRecv", 0, js_start_recv, 0, 0, 0, napi_enumerable, 0 },
    { "stopRecv", 0, js_stop_recv, 0, 0, 0, napi_enumerable, 0 },
    { "constants", 0, 0, 0, 0, make_constants(env), napi_enumerable, 0 },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  relay_init(env, exports);
  probe_init(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
