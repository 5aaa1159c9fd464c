// probe: the health checker's native TCP probes (src/sys/probe.ts; used by
// src/health/checks/native-http.ts for plain-HTTP checks).
//
// Why: at thousands of checks per second, Node's net.Socket machinery costs ~150 us of CPU per
// check (issue #4, test/bench/health-bench.ts). Here one prober thread does the socket work of
// every probe with epoll: socket -> connect -> send the request -> recv until a stop rule, the
// cap or EOF -> close with RST. All policy (building the request, judging the status line and
// the body, failure details) stays in TypeScript: this file only moves bytes and keeps time.
//
// Threads and queues:
//   - JS thread: probeSubmit() holds the probe on a JS-thread list; probeFlush() (once per
//     event-loop turn, from src/sys/probe.ts) moves that list to a mutex-protected submit queue
//     and writes the eventfd only when the queue goes from empty to non-empty; probeCancel()
//     likewise queues an id.
//   - prober thread: epoll_wait (its timeout is the earliest probe deadline, from a binary
//     min-heap, so a hung server never delays anyone else); completions of one loop turn are
//     appended to the completion queue under one lock, and ONE napi_threadsafe_function call
//     wakes JS per batch (only when no wake-up is already pending).
//   - JS thread: the wake-up calls the JS callback, which calls probeDrain() until it returns 0;
//     each call copies as many completions as fit into the two buffers given at probeOpen()
//     (Int32Array meta, Buffer bytes), without allocating JS objects.
//   - The threadsafe function is unref'd while no probe is in flight (an idle prober never keeps
//     the process alive) and ref'd while some are.
//   - probeClose() and a napi env cleanup hook stop and join the thread.
//
// Close: once connected, SO_LINGER {1, 0} then close(): a TCP RST, no FIN exchange and no
// TIME_WAIT socket on either side, as HAProxy closes its checks (haproxy/haproxy#560). A
// graceful close at 5,000 checks/s leaves ~300,000 TIME_WAIT sockets whose reused ports caught
// later SYNs: false timeouts (see lean-http.ts). A probe still connecting is simply closed.
//
// Errors thrown to JS follow rawnet.c: code = errno name (uv_err_name), errno, syscall.
#define _GNU_SOURCE
#include "addon.h"
#include <uv.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

// Stop rules: when the response has all the checker needs.
enum { STOP_STATUS_LINE = 0, STOP_CONTENT_LENGTH = 1, STOP_CLOSE = 2 };
// Outcomes (meta[1]); the same numbers are in src/sys/probe.ts.
enum {
  OUT_OK = 0,               // the stop rule was met, the server closed, or the cap was reached
  OUT_CONNECT_ERROR = 1,    // errno: ECONNREFUSED, ENETUNREACH, ...
  OUT_CONNECT_TIMEOUT = 2,  // not connected by the connect deadline (or the total one)
  OUT_TIMEOUT = 3,          // connected, but the stop rule was not met by the total deadline
  OUT_ERROR = 4,            // errno from send/recv after connecting (ECONNRESET, ...)
  OUT_CANCELLED = 5,        // probeCancel()
  OUT_SETUP_ERROR = 6,      // errno from socket/bind (EMFILE, EADDRNOTAVAIL, ...)
};
// Why an OK probe ended (meta[5] bits 0-1).
enum { END_NONE = 0, END_STOP = 1, END_EOF = 2, END_CAP = 3 };
// Which call failed (meta[5] bits 8-11).
enum { SC_NONE = 0, SC_SOCKET = 1, SC_BIND = 2, SC_CONNECT = 3, SC_SEND = 4, SC_RECV = 5 };

#define META_INTS 8
#define MAX_EVENTS 256
#define FIRST_ALLOC 1024

#define CHECK(call) ADDON_CHECK("probe", call)

typedef struct probe {
  struct probe *next;  // queue link (submit queue, completion queues)
  struct probe *prev_active, *next_active;  // the thread's list of probes in flight
  int32_t id;
  int fd;
  struct sockaddr_storage dst;
  socklen_t dst_len;
  struct sockaddr_storage src;
  socklen_t src_len;  // 0: no source address
  uint8_t *request;
  uint32_t request_len, sent;
  uint8_t *buf;
  uint32_t len, alloc, max;
  uint32_t scanned;  // bytes already searched by the stop rule
  int64_t header_end;      // STOP_CONTENT_LENGTH: offset of the body, -1 while unknown
  int64_t content_length;  // -1: none given
  int stop;
  int connected;
  uint64_t started_ns, connected_ns, connect_deadline_ns, deadline_ns;
  int heap_index;  // -1 when not in the heap
  int outcome, err, end, syscall_id;
  uint64_t done_ns;
} probe_t;

typedef struct prober {
  napi_env env;
  napi_threadsafe_function tsfn;
  napi_ref meta_ref, bytes_ref;
  int32_t *meta;
  size_t meta_records;
  uint8_t *bytes;
  size_t bytes_len;
  pthread_t thread;
  int thread_started;
  int epfd, evfd;
  pthread_mutex_t lock;
  // Under lock:
  probe_t *submit_head, *submit_tail;
  int32_t *cancels;
  size_t ncancels, cancels_alloc;
  probe_t *done_head, *done_tail;
  int wake_pending;
  int stopping;
  // JS thread only:
  probe_t *unflushed_head, *unflushed_tail;  // submitted, not yet handed to the thread (probeFlush)
  probe_t *taken;  // completions taken from the queue, not yet copied out
  probe_t *taken_tail;
  int64_t in_flight;
  int referenced;
  int closed;
  int hook_added;
  // Prober thread only:
  probe_t *active;
  probe_t **heap;
  size_t heap_len, heap_alloc;
} prober_t;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void probe_free(probe_t *p) {
  free(p->request);
  free(p->buf);
  free(p);
}

// ---- the deadline heap (prober thread) ------------------------------------------------------

static uint64_t heap_key(const probe_t *p) {
  return p->connected ? p->deadline_ns : p->connect_deadline_ns;
}

static void heap_swap(prober_t *s, size_t a, size_t b) {
  probe_t *t = s->heap[a];
  s->heap[a] = s->heap[b];
  s->heap[b] = t;
  s->heap[a]->heap_index = (int)a;
  s->heap[b]->heap_index = (int)b;
}

static void heap_up(prober_t *s, size_t i) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_key(s->heap[parent]) <= heap_key(s->heap[i])) break;
    heap_swap(s, parent, i);
    i = parent;
  }
}

static void heap_down(prober_t *s, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < s->heap_len && heap_key(s->heap[l]) < heap_key(s->heap[m])) m = l;
    if (r < s->heap_len && heap_key(s->heap[r]) < heap_key(s->heap[m])) m = r;
    if (m == i) break;
    heap_swap(s, i, m);
    i = m;
  }
}

static int heap_push(prober_t *s, probe_t *p) {
  if (s->heap_len == s->heap_alloc) {
    size_t n = s->heap_alloc ? s->heap_alloc * 2 : 1024;
    probe_t **h = realloc(s->heap, n * sizeof *h);
    if (!h) return -1;
    s->heap = h;
    s->heap_alloc = n;
  }
  p->heap_index = (int)s->heap_len;
  s->heap[s->heap_len++] = p;
  heap_up(s, (size_t)p->heap_index);
  return 0;
}

static void heap_remove(prober_t *s, probe_t *p) {
  if (p->heap_index < 0) return;
  size_t i = (size_t)p->heap_index;
  p->heap_index = -1;
  s->heap_len--;
  if (i == s->heap_len) return;
  s->heap[i] = s->heap[s->heap_len];
  s->heap[i]->heap_index = (int)i;
  heap_down(s, i);
  heap_up(s, i);
}

// ---- one probe's life (prober thread) -----------------------------------------------------

// Ends a probe: out of the heap and the active list, socket closed, onto the local batch.
static void finish(prober_t *s, probe_t *p, int outcome, int err, int syscall_id, probe_t **batch_head, probe_t **batch_tail) {
  heap_remove(s, p);
  if (p->prev_active) p->prev_active->next_active = p->next_active;
  else if (s->active == p) s->active = p->next_active;
  if (p->next_active) p->next_active->prev_active = p->prev_active;
  p->prev_active = p->next_active = NULL;
  if (p->fd >= 0) {
    if (p->connected) {
      struct linger lg = { 1, 0 };  // RST on close (see the file comment)
      setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(p->fd);
    p->fd = -1;
  }
  p->outcome = outcome;
  p->err = err;
  p->syscall_id = syscall_id;
  p->done_ns = now_ns();
  p->next = NULL;
  if (*batch_tail) (*batch_tail)->next = p;
  else *batch_head = p;
  *batch_tail = p;
}

static int ascii_lower(int c) {
  return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

// Content-Length in the header block [0, end) (case-insensitive), -1 if absent or invalid.
static int64_t parse_content_length(const uint8_t *b, size_t end) {
  static const char name[] = "\r\ncontent-length:";
  const size_t n = sizeof name - 1;
  for (size_t i = 0; i + n <= end; i++) {
    size_t k = 0;
    while (k < n && ascii_lower(b[i + k]) == name[k]) k++;
    if (k < n) continue;
    size_t j = i + n;
    while (j < end && (b[j] == ' ' || b[j] == '\t')) j++;
    if (j >= end || b[j] < '0' || b[j] > '9') return -1;
    int64_t v = 0;
    while (j < end && b[j] >= '0' && b[j] <= '9' && v < ((int64_t)1 << 40)) v = v * 10 + (b[j++] - '0');
    return v;
  }
  return -1;
}

// Status code of "HTTP/x.y NNN" at the start of b, 0 if not there.
static int parse_status(const uint8_t *b, size_t len) {
  if (len < 12 || memcmp(b, "HTTP/", 5) != 0 || b[8] != ' ') return 0;
  for (int i = 9; i < 12; i++)
    if (b[i] < '0' || b[i] > '9') return 0;
  return (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
}

// Has the response all the stop rule asks for?
static int stop_met(probe_t *p) {
  if (p->stop == STOP_STATUS_LINE) {
    int found = memchr(p->buf + p->scanned, '\n', p->len - p->scanned) != NULL;
    p->scanned = p->len;
    return found;
  }
  if (p->stop != STOP_CONTENT_LENGTH) return 0;
  if (p->header_end < 0) {
    uint32_t from = p->scanned > 3 ? p->scanned - 3 : 0;
    const uint8_t *hit = p->len >= 4 ? memmem(p->buf + from, p->len - from, "\r\n\r\n", 4) : NULL;
    p->scanned = p->len;
    if (!hit) return 0;
    size_t end = (size_t)(hit - p->buf);
    p->header_end = (int64_t)end + 4;
    int status = parse_status(p->buf, end);
    // RFC 9110 6.3: 1xx, 204 and 304 have no body whatever the headers say.
    p->content_length = (status == 204 || status == 304 || (status >= 100 && status < 200)) ? 0 : parse_content_length(p->buf, end);
  }
  return p->content_length >= 0 && (int64_t)p->len - p->header_end >= p->content_length;
}

// The handshake is done: from now on the deadline is the total one (a later key: sift down).
static void mark_connected(prober_t *s, probe_t *p) {
  p->connected = 1;
  p->connected_ns = now_ns();
  if (p->heap_index >= 0) heap_down(s, (size_t)p->heap_index);
}

// Sends what is left of the request. 1: all sent or waiting for EPOLLOUT; 0: the probe ended.
static int try_send(prober_t *s, probe_t *p, probe_t **bh, probe_t **bt) {
  while (p->sent < p->request_len) {
    ssize_t n = send(p->fd, p->request + p->sent, p->request_len - p->sent, MSG_NOSIGNAL);
    if (n > 0) {
      // A send that took bytes means the handshake is done.
      if (!p->connected) mark_connected(s, p);
      p->sent += (uint32_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;  // still connecting, or a full buffer
    int err = n < 0 ? errno : EPIPE;
    if (p->connected) finish(s, p, OUT_ERROR, err, SC_SEND, bh, bt);
    else finish(s, p, OUT_CONNECT_ERROR, err, SC_CONNECT, bh, bt);
    return 0;
  }
  return 1;
}

// Reads until EAGAIN, the stop rule, the cap or EOF (edge-triggered epoll: must drain).
static void do_read(prober_t *s, probe_t *p, probe_t **bh, probe_t **bt) {
  for (;;) {
    if (p->len == p->max) {
      p->end = END_CAP;
      finish(s, p, OUT_OK, 0, SC_NONE, bh, bt);
      return;
    }
    if (p->len == p->alloc) {
      uint32_t n = p->alloc ? p->alloc * 2 : FIRST_ALLOC;
      if (n > p->max) n = p->max;
      uint8_t *b = realloc(p->buf, n);
      if (!b) {
        finish(s, p, OUT_ERROR, ENOMEM, SC_RECV, bh, bt);
        return;
      }
      p->buf = b;
      p->alloc = n;
    }
    ssize_t n = recv(p->fd, p->buf + p->len, p->alloc - p->len, 0);
    if (n > 0) {
      p->len += (uint32_t)n;
      if (stop_met(p)) {
        p->end = END_STOP;
        finish(s, p, OUT_OK, 0, SC_NONE, bh, bt);
        return;
      }
      continue;
    }
    if (n == 0) {
      p->end = END_EOF;
      finish(s, p, OUT_OK, 0, SC_NONE, bh, bt);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    finish(s, p, OUT_ERROR, errno, SC_RECV, bh, bt);
    return;
  }
}

static void on_event(prober_t *s, probe_t *p, uint32_t ev, probe_t **bh, probe_t **bt) {
  if (!p->connected) {
    if (ev & (EPOLLERR | EPOLLHUP)) {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0) err = ECONNREFUSED;
      finish(s, p, OUT_CONNECT_ERROR, err, SC_CONNECT, bh, bt);
      return;
    }
    if (!(ev & EPOLLOUT)) return;
    if (p->request_len == 0) {
      // Nothing to send (a banner protocol): EPOLLOUT without an error is the handshake's end.
      mark_connected(s, p);
    } else {
      if (!try_send(s, p, bh, bt)) return;
      if (!p->connected) return;
    }
  } else if ((ev & EPOLLOUT) && p->sent < p->request_len) {
    if (!try_send(s, p, bh, bt)) return;
  }
  if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) do_read(s, p, bh, bt);
}

static void start_probe(prober_t *s, probe_t *p, probe_t **bh, probe_t **bt) {
  p->heap_index = -1;
  p->prev_active = NULL;
  p->next_active = s->active;
  if (s->active) s->active->prev_active = p;
  s->active = p;
  p->fd = socket(p->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->fd < 0) {
    finish(s, p, OUT_SETUP_ERROR, errno, SC_SOCKET, bh, bt);
    return;
  }
  if (p->src_len > 0) {
    int one = 1;
    // The port is chosen at connect() time, per destination: no early port exhaustion.
    setsockopt(p->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(p->fd, (struct sockaddr *)&p->src, p->src_len) != 0) {
      finish(s, p, OUT_SETUP_ERROR, errno, SC_BIND, bh, bt);
      return;
    }
  }
  if (connect(p->fd, (struct sockaddr *)&p->dst, p->dst_len) == 0) {
    p->connected = 1;  // not in the heap yet: pushed below with the total deadline as its key
    p->connected_ns = now_ns();
  } else if (errno != EINPROGRESS) {
    finish(s, p, OUT_CONNECT_ERROR, errno, SC_CONNECT, bh, bt);
    return;
  }
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data = { .ptr = p } };
  if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, p->fd, &ev) != 0 || heap_push(s, p) != 0) {
    finish(s, p, OUT_SETUP_ERROR, errno ? errno : ENOMEM, SC_SOCKET, bh, bt);
    return;
  }
  // On loopback the handshake is usually done by now: send at once, saving an epoll round.
  try_send(s, p, bh, bt);
}

static void fire_deadlines(prober_t *s, uint64_t now, probe_t **bh, probe_t **bt) {
  while (s->heap_len > 0) {
    probe_t *p = s->heap[0];
    if (heap_key(p) > now) break;
    if (p->connected) finish(s, p, OUT_TIMEOUT, 0, SC_NONE, bh, bt);
    else finish(s, p, OUT_CONNECT_TIMEOUT, 0, SC_NONE, bh, bt);
  }
}

static void deliver(prober_t *s, probe_t *head, probe_t *tail) {
  if (!head) return;
  int wake = 0;
  pthread_mutex_lock(&s->lock);
  if (s->done_tail) s->done_tail->next = head;
  else s->done_head = head;
  s->done_tail = tail;
  if (!s->wake_pending) {
    s->wake_pending = 1;
    wake = 1;
  }
  pthread_mutex_unlock(&s->lock);
  if (wake) napi_call_threadsafe_function(s->tsfn, NULL, napi_tsfn_nonblocking);
}

static void *prober_main(void *arg) {
  prober_t *s = arg;
  struct epoll_event events[MAX_EVENTS];
  int32_t *cancels = NULL;
  size_t cancels_alloc = 0;
  for (;;) {
    int timeout = -1;
    if (s->heap_len > 0) {
      uint64_t key = heap_key(s->heap[0]), now = now_ns();
      timeout = key <= now ? 0 : (int)((key - now + 999999) / 1000000);
    }
    int n = epoll_wait(s->epfd, events, MAX_EVENTS, timeout);
    if (n < 0 && errno != EINTR) break;
    probe_t *bh = NULL, *bt = NULL;
    int woken = 0;
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == NULL) {
        woken = 1;
        continue;
      }
      probe_t *p = events[i].data.ptr;
      // A probe finished earlier in this batch is gone from epoll (closed); its later events
      // cannot appear in the same epoll_wait result, since close() removed the registration.
      on_event(s, p, events[i].events, &bh, &bt);
    }
    if (woken) {
      uint64_t count;
      // Read the eventfd BEFORE taking the queues: a submission after the take writes it again.
      if (read(s->evfd, &count, sizeof count) < 0 && errno != EAGAIN) break;
      pthread_mutex_lock(&s->lock);
      probe_t *subs = s->submit_head;
      s->submit_head = s->submit_tail = NULL;
      size_t ncancels = s->ncancels;
      if (ncancels > cancels_alloc) {
        int32_t *c = realloc(cancels, s->cancels_alloc * sizeof *c);
        if (c) {
          cancels = c;
          cancels_alloc = s->cancels_alloc;
        } else {
          ncancels = cancels_alloc;
        }
      }
      if (ncancels > 0) memcpy(cancels, s->cancels, ncancels * sizeof *cancels);
      s->ncancels = 0;
      int stopping = s->stopping;
      pthread_mutex_unlock(&s->lock);
      while (subs) {
        probe_t *p = subs;
        subs = subs->next;
        p->next = NULL;
        if (stopping) {
          probe_free(p);
          continue;
        }
        start_probe(s, p, &bh, &bt);
      }
      for (size_t i = 0; i < ncancels; i++) {
        for (probe_t *p = s->active; p; p = p->next_active) {
          if (p->id == cancels[i]) {
            finish(s, p, OUT_CANCELLED, 0, SC_NONE, &bh, &bt);
            break;
          }
        }
      }
      if (stopping) {
        while (bh) {
          probe_t *p = bh;
          bh = bh->next;
          probe_free(p);
        }
        break;
      }
    }
    fire_deadlines(s, now_ns(), &bh, &bt);
    deliver(s, bh, bt);
  }
  // Stopping: drop every probe still in flight (their results are not wanted any more).
  while (s->active) {
    probe_t *p = s->active;
    s->active = p->next_active;
    if (p->fd >= 0) {
      if (p->connected) {
        struct linger lg = { 1, 0 };
        setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      close(p->fd);
    }
    probe_free(p);
  }
  s->heap_len = 0;
  free(cancels);
  return NULL;
}

// ---- the JS side ----------------------------------------------------------------------------

static napi_value throw_errno(napi_env env, const char *syscall_name, int err) {
  napi_throw(env, addon_errno_error(env, syscall_name, err));
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  (void)data;
  if (env == NULL || js_cb == NULL) return;  // the environment is going away
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, js_cb, 0, NULL, NULL);
}

static void wake_thread(prober_t *s) {
  uint64_t one = 1;
  ssize_t rc;
  do rc = write(s->evfd, &one, sizeof one);
  while (rc < 0 && errno == EINTR);
}

static void free_list(probe_t *p) {
  while (p) {
    probe_t *next = p->next;
    probe_free(p);
    p = next;
  }
}

// Stops and joins the thread, frees every queued probe and releases the threadsafe function.
// JS thread only; idempotent.
static void prober_shutdown(prober_t *s, int from_cleanup_hook) {
  if (s->closed) return;
  s->closed = 1;
  if (s->thread_started) {
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_mutex_unlock(&s->lock);
    wake_thread(s);
    pthread_join(s->thread, NULL);
    s->thread_started = 0;
  }
  free_list(s->submit_head);
  s->submit_head = s->submit_tail = NULL;
  free_list(s->unflushed_head);
  s->unflushed_head = s->unflushed_tail = NULL;
  free_list(s->done_head);
  s->done_head = s->done_tail = NULL;
  free_list(s->taken);
  s->taken = s->taken_tail = NULL;
  free(s->cancels);
  s->cancels = NULL;
  s->ncancels = s->cancels_alloc = 0;
  free(s->heap);
  s->heap = NULL;
  s->heap_len = s->heap_alloc = 0;
  if (s->epfd >= 0) close(s->epfd);
  if (s->evfd >= 0) close(s->evfd);
  s->epfd = s->evfd = -1;
  if (s->tsfn) {
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
    s->tsfn = NULL;
  }
  if (!from_cleanup_hook) {
    if (s->meta_ref) napi_delete_reference(s->env, s->meta_ref);
    if (s->bytes_ref) napi_delete_reference(s->env, s->bytes_ref);
    s->meta_ref = s->bytes_ref = NULL;
  }
  s->meta = NULL;
  s->bytes = NULL;
  s->in_flight = 0;
}

static void cleanup_hook(void *arg) {
  prober_t *s = arg;
  s->hook_added = 0;
  prober_shutdown(s, 1);
}

static void prober_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  prober_t *s = data;
  if (s->hook_added) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, s);
    s->hook_added = 0;
  }
  prober_shutdown(s, 1);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static prober_t *get_prober(napi_env env, napi_value v) {
  prober_t *s = NULL;
  if (napi_get_value_external(env, v, (void **)&s) != napi_ok) return NULL;
  return s;
}

// probeOpen(onWake: () => void, meta: Int32Array, bytes: Buffer) -> handle
// meta holds META_INTS int32 per completion; bytes receives the response bytes of each.
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value a[3];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  napi_valuetype t;
  if (argc < 3 || napi_typeof(env, a[0], &t) != napi_ok || t != napi_function) return throw_type(env, "probeOpen(onWake, meta, bytes): a function expected");
  napi_typedarray_type ta_type;
  size_t ta_len;
  void *ta_data;
  bool is_ta = false, is_buf = false;
  napi_is_typedarray(env, a[1], &is_ta);
  if (!is_ta || napi_get_typedarray_info(env, a[1], &ta_type, &ta_len, &ta_data, NULL, NULL) != napi_ok || ta_type != napi_int32_array || ta_len < META_INTS)
    return throw_type(env, "probeOpen: meta must be an Int32Array of at least 8 elements");
  napi_is_buffer(env, a[2], &is_buf);
  void *buf_data;
  size_t buf_len;
  if (!is_buf || napi_get_buffer_info(env, a[2], &buf_data, &buf_len) != napi_ok || buf_len == 0) return throw_type(env, "probeOpen: bytes must be a Buffer");

  prober_t *s = calloc(1, sizeof *s);
  if (!s) return throw_errno(env, "calloc", ENOMEM);
  s->env = env;
  s->epfd = s->evfd = -1;
  pthread_mutex_init(&s->lock, NULL);
  s->meta = ta_data;
  s->meta_records = ta_len / META_INTS;
  s->bytes = buf_data;
  s->bytes_len = buf_len;
  int err = 0;
  const char *failed = NULL;
  s->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (s->epfd < 0) err = errno, failed = "epoll_create1";
  if (!failed) {
    s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->evfd < 0) err = errno, failed = "eventfd";
  }
  if (!failed) {
    struct epoll_event ev = { .events = EPOLLIN, .data = { .ptr = NULL } };
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ev) != 0) err = errno, failed = "epoll_ctl";
  }
  if (failed) {
    if (s->epfd >= 0) close(s->epfd);
    if (s->evfd >= 0) close(s->evfd);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return throw_errno(env, failed, err);
  }
  napi_value name;
  napi_create_string_utf8(env, "directord health prober", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, a[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &s->tsfn) != napi_ok) {
    close(s->epfd);
    close(s->evfd);
    pthread_mutex_destroy(&s->lock);
    free(s);
    napi_throw_error(env, NULL, "probe: napi_create_threadsafe_function failed");
    return NULL;
  }
  napi_unref_threadsafe_function(env, s->tsfn);  // idle: never keeps the process alive
  napi_create_reference(env, a[1], 1, &s->meta_ref);
  napi_create_reference(env, a[2], 1, &s->bytes_ref);
  napi_value handle;
  if (napi_create_external(env, s, prober_finalize, NULL, &handle) != napi_ok) {
    prober_shutdown(s, 0);
    pthread_mutex_destroy(&s->lock);
    free(s);
    napi_throw_error(env, NULL, "probe: napi_create_external failed");
    return NULL;
  }
  // Added after the threadsafe function, so it runs before the function's own cleanup.
  napi_add_env_cleanup_hook(env, cleanup_hook, s);
  s->hook_added = 1;
  int rc = pthread_create(&s->thread, NULL, prober_main, s);
  if (rc != 0) {
    prober_shutdown(s, 0);
    return throw_errno(env, "pthread_create", rc);
  }
  s->thread_started = 1;
  return handle;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

// Parses "a.b.c.d", "x::y" or "fe80::1%eth0" into ss; returns the length or 0.
static socklen_t parse_address(const char *text, uint16_t port, struct sockaddr_storage *ss) {
  char copy[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (strlen(text) >= sizeof copy) return 0;
  strcpy(copy, text);
  char *pct = strchr(copy, '%');
  uint32_t scope = 0;
  if (pct) {
    *pct = '\0';
    scope = if_nametoindex(pct + 1);
    if (scope == 0) {
      char *end;
      unsigned long v = strtoul(pct + 1, &end, 10);
      if (*end != '\0' || end == pct + 1) return 0;
      scope = (uint32_t)v;
    }
  }
  socklen_t len = addon_parse_sockaddr(copy, port, scope, ss);
  // A zone only means something on an IPv6 address.
  return pct != NULL && ss->ss_family != AF_INET6 ? 0 : len;
}

// probeSubmit(handle, id, address, port, request: Buffer, maxBytes, stopRule, connectTimeoutMs,
//             timeoutMs, source?: string)
static napi_value js_submit(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value a[10];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  prober_t *s = argc >= 9 ? get_prober(env, a[0]) : NULL;
  if (!s) return throw_type(env, "probeSubmit(handle, id, address, port, request, maxBytes, stop, connectTimeoutMs, timeoutMs, source?)");
  if (s->closed) return throw_errno(env, "probeSubmit", EBADF);
  int32_t id, port, max, stop, connect_ms, total_ms;
  if (!get_i32(env, a[1], &id) || !get_i32(env, a[3], &port) || !get_i32(env, a[5], &max) || !get_i32(env, a[6], &stop) ||
      !get_i32(env, a[7], &connect_ms) || !get_i32(env, a[8], &total_ms))
    return throw_type(env, "probeSubmit: numbers expected");
  if (port < 1 || port > 65535 || max < 1 || stop < STOP_STATUS_LINE || stop > STOP_CLOSE || connect_ms < 1 || total_ms < 1)
    return throw_type(env, "probeSubmit: port 1-65535, maxBytes >= 1, stop 0-2, timeouts >= 1 ms");
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  size_t tlen = 0;
  if (napi_get_value_string_utf8(env, a[2], text, sizeof text, &tlen) != napi_ok) return throw_type(env, "probeSubmit: address must be a string");
  bool is_buf = false;
  napi_is_buffer(env, a[4], &is_buf);
  void *req_data;
  size_t req_len;
  if (!is_buf || napi_get_buffer_info(env, a[4], &req_data, &req_len) != napi_ok) return throw_type(env, "probeSubmit: request must be a Buffer");
  probe_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, "calloc", ENOMEM);
  p->dst_len = parse_address(text, (uint16_t)port, &p->dst);
  if (p->dst_len == 0) {
    free(p);
    return throw_errno(env, "inet_pton", EINVAL);
  }
  if (argc >= 10) {
    napi_valuetype t;
    napi_typeof(env, a[9], &t);
    if (t == napi_string) {
      char src[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
      if (napi_get_value_string_utf8(env, a[9], src, sizeof src, &tlen) != napi_ok || (p->src_len = parse_address(src, 0, &p->src)) == 0) {
        free(p);
        return throw_errno(env, "inet_pton", EINVAL);
      }
      if (p->src.ss_family != p->dst.ss_family) {
        free(p);
        return throw_errno(env, "bind", EAFNOSUPPORT);
      }
    }
  }
  if (req_len > 0) {
    p->request = malloc(req_len);
    if (!p->request) {
      free(p);
      return throw_errno(env, "malloc", ENOMEM);
    }
    memcpy(p->request, req_data, req_len);
  }
  p->request_len = (uint32_t)req_len;
  p->id = id;
  p->fd = -1;
  p->max = (uint32_t)max;
  p->stop = stop;
  p->header_end = -1;
  p->content_length = -1;
  p->heap_index = -1;
  p->started_ns = now_ns();
  if (connect_ms > total_ms) connect_ms = total_ms;
  p->connect_deadline_ns = p->started_ns + (uint64_t)connect_ms * 1000000ull;
  p->deadline_ns = p->started_ns + (uint64_t)total_ms * 1000000ull;
  // Held here until probeFlush(): the checks started in one event-loop turn reach the thread
  // with one lock and at most one eventfd write.
  if (s->unflushed_tail) s->unflushed_tail->next = p;
  else s->unflushed_head = p;
  s->unflushed_tail = p;
  if (s->in_flight++ == 0 && !s->referenced) {
    napi_ref_threadsafe_function(env, s->tsfn);
    s->referenced = 1;
  }
  return NULL;
}

// Moves the probes held for probeFlush() (and a cancel, when given) to the thread's queues, and
// writes the eventfd when those queues were empty. The emptiness test and the additions happen
// under ONE lock hold: testing in one hold and adding in another can see a queue made non-empty
// by the first addition and skip the wake-up for good (every later caller then finds the queue
// non-empty too, and the thread sleeps with work queued).
static int hand_over(prober_t *s, const int32_t *cancel_id) {
  if (!s->unflushed_head && !cancel_id) return 0;
  pthread_mutex_lock(&s->lock);
  int was_empty = s->submit_head == NULL && s->ncancels == 0;
  if (cancel_id && s->ncancels == s->cancels_alloc) {
    size_t n = s->cancels_alloc ? s->cancels_alloc * 2 : 64;
    int32_t *c = realloc(s->cancels, n * sizeof *c);
    if (!c) {
      pthread_mutex_unlock(&s->lock);
      return ENOMEM;
    }
    s->cancels = c;
    s->cancels_alloc = n;
  }
  if (s->unflushed_head) {
    if (s->submit_tail) s->submit_tail->next = s->unflushed_head;
    else s->submit_head = s->unflushed_head;
    s->submit_tail = s->unflushed_tail;
  }
  // After the probes: the thread starts submissions before it applies cancels, so a probe
  // cancelled before its flush is found.
  if (cancel_id) s->cancels[s->ncancels++] = *cancel_id;
  pthread_mutex_unlock(&s->lock);
  s->unflushed_head = s->unflushed_tail = NULL;
  if (was_empty) wake_thread(s);
  return 0;
}

// probeFlush(handle): hands every probe submitted since the last flush to the thread.
static napi_value js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  prober_t *s = argc >= 1 ? get_prober(env, a[0]) : NULL;
  if (!s) return throw_type(env, "probeFlush(handle)");
  if (s->closed) return NULL;
  hand_over(s, NULL);
  return NULL;
}

// probeCancel(handle, id): the probe ends with OUT_CANCELLED (if still in flight).
static napi_value js_cancel(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  prober_t *s = argc >= 2 ? get_prober(env, a[0]) : NULL;
  int32_t id;
  if (!s || !get_i32(env, a[1], &id)) return throw_type(env, "probeCancel(handle, id)");
  if (s->closed) return NULL;
  int err = hand_over(s, &id);
  if (err != 0) return throw_errno(env, "realloc", err);
  return NULL;
}

// probeDrain(handle) -> count: copies completions into meta/bytes (given at probeOpen) until
// either is full; call again until it returns 0. Per completion (META_INTS int32):
//   [0] id  [1] outcome  [2] errno  [3] byte offset in bytes  [4] byte length
//   [5] end reason (bits 0-1) | connected (bit 4) | failed call (bits 8-11)
//   [6] connect time in us (-1: never connected)  [7] total time in us
static napi_value js_drain(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  prober_t *s = argc >= 1 ? get_prober(env, a[0]) : NULL;
  if (!s) return throw_type(env, "probeDrain(handle)");
  napi_value result;
  if (s->closed) {
    napi_create_int32(env, 0, &result);
    return result;
  }
  pthread_mutex_lock(&s->lock);
  if (s->done_head) {
    if (s->taken_tail) s->taken_tail->next = s->done_head;
    else s->taken = s->done_head;
    s->taken_tail = s->done_tail;
    s->done_head = s->done_tail = NULL;
  }
  s->wake_pending = 0;
  pthread_mutex_unlock(&s->lock);
  size_t count = 0, offset = 0;
  while (s->taken && count < s->meta_records) {
    probe_t *p = s->taken;
    if (p->len > s->bytes_len) p->len = (uint32_t)s->bytes_len;  // cannot happen: JS caps maxBytes
    if (offset + p->len > s->bytes_len) break;
    int32_t *m = s->meta + count * META_INTS;
    m[0] = p->id;
    m[1] = p->outcome;
    m[2] = p->err;
    m[3] = (int32_t)offset;
    m[4] = (int32_t)p->len;
    m[5] = (p->end & 3) | (p->connected ? 16 : 0) | (p->syscall_id << 8);
    m[6] = p->connected ? (int32_t)((p->connected_ns - p->started_ns) / 1000) : -1;
    m[7] = (int32_t)((p->done_ns - p->started_ns) / 1000);
    if (p->len > 0) memcpy(s->bytes + offset, p->buf, p->len);
    offset += p->len;
    count++;
    s->taken = p->next;
    if (!s->taken) s->taken_tail = NULL;
    probe_free(p);
  }
  s->in_flight -= (int64_t)count;
  if (s->in_flight <= 0 && s->referenced) {
    s->in_flight = 0;
    napi_unref_threadsafe_function(env, s->tsfn);
    s->referenced = 0;
  }
  napi_create_int32(env, (int32_t)count, &result);
  return result;
}

// probeClose(handle): stops and joins the thread; probes in flight are dropped.
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  prober_t *s = argc >= 1 ? get_prober(env, a[0]) : NULL;
  if (!s) return throw_type(env, "probeClose(handle)");
  if (s->hook_added) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, s);
    s->hook_added = 0;
  }
  prober_shutdown(s, 0);
  return NULL;
}

static void add_const(napi_env env, napi_value obj, const char *name, int32_t v) {
  napi_value n;
  napi_create_int32(env, v, &n);
  napi_set_named_property(env, obj, name, n);
}

napi_value probe_init(napi_env env, napi_value exports) {
  napi_value c;
  napi_create_object(env, &c);
  add_const(env, c, "META_INTS", META_INTS);
  add_const(env, c, "STOP_STATUS_LINE", STOP_STATUS_LINE);
  add_const(env, c, "STOP_CONTENT_LENGTH", STOP_CONTENT_LENGTH);
  add_const(env, c, "STOP_CLOSE", STOP_CLOSE);
  add_const(env, c, "OUT_OK", OUT_OK);
  add_const(env, c, "OUT_CONNECT_ERROR", OUT_CONNECT_ERROR);
  add_const(env, c, "OUT_CONNECT_TIMEOUT", OUT_CONNECT_TIMEOUT);
  add_const(env, c, "OUT_TIMEOUT", OUT_TIMEOUT);
  add_const(env, c, "OUT_ERROR", OUT_ERROR);
  add_const(env, c, "OUT_CANCELLED", OUT_CANCELLED);
  add_const(env, c, "OUT_SETUP_ERROR", OUT_SETUP_ERROR);
  napi_property_descriptor d[] = {
    { "probeOpen", 0, js_open, 0, 0, 0, napi_enumerable, 0 },
    { "probeSubmit", 0, js_submit, 0, 0, 0, napi_enumerable, 0 },
    { "probeFlush", 0, js_flush, 0, 0, 0, napi_enumerable, 0 },
    { "probeCancel", 0, js_cancel, 0, 0, 0, napi_enumerable, 0 },
    { "probeDrain", 0, js_drain, 0, 0, 0, napi_enumerable, 0 },
    { "probeClose", 0, js_close, 0, 0, 0, napi_enumerable, 0 },
    { "probeConstants", 0, 0, 0, 0, c, napi_enumerable, 0 },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
