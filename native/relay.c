// relay: the embedded engine's native TCP data path (src/engine/embedded/native.ts drives it).
//
// Why: on short connections a Node net.Socket pair costs ~220 µs of CPU per proxied connection
// against HAProxy's ~90 µs, almost all of it in Node's stream machinery and libuv's epoll_ctl
// churn (baselines-haproxy-node.md, "where the time goes"). Here the relay threads own the
// sockets and move the bytes; TypeScript keeps every decision: which real a connection goes to
// (the IPVS schedulers, persistence templates, thresholds), the counters' meaning, idle
// timeouts, resets on removal. Nothing about policy lives in C.
//
// Shape:
//   - N relay threads (default 1), each with its own epoll set and command queue. Listening
//     sockets are made on the JS thread (so bind errors are thrown synchronously, as net does)
//     and then watched by every thread (EPOLLEXCLUSIVE when there are several, so one wake-up per
//     connection). A connection lives on the thread that accepted it.
//   - Per connection: accept4 -> ACCEPTED event to JS -> JS answers relayConnect(id, slot, header)
//     (or relayReset) -> socket/connect -> ESTABLISHED or CONNECT_FAILED (JS then picks another
//     real or resets) -> bytes relayed both ways with backpressure (a short write keeps the rest
//     in a per-direction buffer and stops reading the source until it is flushed) -> FIN events
//     (CLIENT_FIN: IPVS FIN_WAIT, REAL_FIN: CLOSE_WAIT) -> CLOSED.
//   - Half-close: a FIN read from one side is passed on with shutdown(SHUT_WR) once everything
//     before it is written; when both sides have sent FIN the sockets are simply closed (close()
//     sends the FIN still owed, which saves a shutdown() on request/response traffic). An error
//     or reset on one side resets the other (SO_LINGER 0 + close: RST), as the Node path does.
//   - Events go to JS in batches: each thread appends a whole epoll batch to one shared queue
//     and wakes the JS thread through one napi_threadsafe_function call only when no wake-up is
//     already pending; JS drains the queue into a Uint32Array with relayDrain().
//   - Commands from JS go to a thread's queue; its eventfd is written only when the queue goes
//     from empty to non-empty. relayUnlisten and relayActivity wait for the threads' answer
//     (they are rare: a listener closing, the 1 s idle sweep).
//   - Counters: a "slot" is one (service, real) destination: its sockaddr (immutable once made,
//     so threads read it without locks) and four counters (packets and bytes each way) that the
//     threads add to with relaxed atomics and JS reads with relayCounters(). A packet is one
//     read() that returned data, as in the Node path (src/engine/embedded/tcp.ts).
//
// Connection ids: (generation << 23) | (thread << 20) | index; the generation (9 bits) makes a
// command for a connection that has since closed (and whose index was reused) a no-op.
#define _GNU_SOURCE
#include "addon.h"
#include <uv.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#define MAX_THREADS 8
#define INDEX_BITS 20
#define THREAD_BITS 3
#define GEN_BITS 9
#define MAX_CONNS_PER_THREAD (1u << INDEX_BITS)
#define SCRATCH_SIZE 65536
#define EPOLL_BATCH 256
#define ACCEPTS_PER_WAKEUP 64
#define SLOT_CHUNK 1024
#define SLOT_CHUNKS 1024
#define RECORD_WORDS 8

// Event types (mirrored in src/sys/relay.ts).
enum {
  EV_ACCEPTED = 1,        // id, arg = listener id, family/port + address words
  EV_ESTABLISHED = 2,     // id
  EV_CONNECT_FAILED = 3,  // id, arg = errno
  EV_CLIENT_FIN = 4,      // id
  EV_REAL_FIN = 5,        // id
  EV_CLOSED = 6,          // id, arg = close reason
  EV_ACCEPT_ERROR = 7,    // id = listener id, arg = errno
};
enum { CLOSE_NORMAL = 0, CLOSE_ERROR = 1, CLOSE_COMMAND = 2, CLOSE_NO_CONNECT = 3 };

enum { CMD_CONNECT = 1, CMD_RESET, CMD_ADD_LISTENER, CMD_DEL_LISTENER, CMD_ACTIVITY, CMD_STOP };

// epoll tags: low 2 bits say what the entry is; conn entries carry index and generation.
enum { TAG_EVENTFD = 0, TAG_LISTENER = 1, TAG_CLIENT = 2, TAG_REAL = 3 };

typedef struct {
  struct sockaddr_storage addr;
  socklen_t len;
  uint64_t in_pkts, in_bytes, out_pkts, out_bytes;
} slot_t;

typedef struct listener {
  uint32_t id;
  int fd;
  struct listener *next;
} listener_t;

typedef struct {
  char *data;
  uint32_t off, len;
} pending_t;

enum { PHASE_AWAIT = 0, PHASE_CONNECTING, PHASE_OPEN };

typedef struct conn {
  uint32_t id;
  int cfd, rfd;
  int32_t slot;
  uint8_t in_use, phase;
  uint8_t c_in, c_out, r_in, r_out;  // edge-triggered readiness we have not used up yet
  uint8_t c_hup, r_hup;              // EPOLLRDHUP/EPOLLHUP seen: a FIN is waiting to be read
  uint8_t c_eof, r_eof;              // FIN read from that side
  uint8_t shut_c, shut_r;            // FIN passed on to that side (or owed to the final close)
  uint8_t c_gone;                    // client reset/closed before a real was connected
  uint8_t activity;                  // bytes moved since the last relayActivity()
  pending_t to_r, to_c;
  char *header;                      // PROXY protocol header, sent first
  uint32_t header_len;
  uint16_t gen;
  uint32_t next_free;
} conn_t;

typedef struct cmd {
  int type;
  uint32_t id;
  int32_t slot;
  char *header;
  uint32_t header_len;
  listener_t *listener;
  // sync commands: the JS thread waits until `done`; CMD_ACTIVITY fills `ids`.
  int *done;
  uint32_t **ids;
  size_t *ids_len, *ids_cap;
  struct cmd *next;
} cmd_t;

struct relay;

typedef struct {
  struct listener **items;
  size_t len, cap;
} listener_set_t;

typedef struct {
  struct relay *relay;
  int index;
  pthread_t thread;
  int started;
  int ep, evfd;
  pthread_mutex_t cmd_lock;
  cmd_t *cmd_head, *cmd_tail;
  conn_t *conns;
  uint32_t conns_cap, free_head, live;
  uint32_t *events;  // local batch of records
  size_t events_len, events_cap;
  char *scratch;
  int accept_paused;  // EMFILE: listeners disarmed until the next relayActivity() (the 1 s sweep)
  listener_set_t mine;  // the listeners this thread watches
} worker_t;

typedef struct relay {
  int nthreads;
  worker_t workers[MAX_THREADS];
  napi_threadsafe_function tsfn;
  pthread_mutex_t lock;  // events queue, wake flag, sync completion
  pthread_cond_t cond;
  uint32_t *queue;
  size_t queue_len, queue_head, queue_cap;
  int wake_pending;
  int closed;
  listener_t *listeners;  // JS thread only
  slot_t *chunks[SLOT_CHUNKS];
  uint32_t nslots;
} relay_t;

static inline slot_t *slot_at(relay_t *r, int32_t s) {
  return &r->chunks[s / SLOT_CHUNK][s % SLOT_CHUNK];
}

// ---- events (relay thread side) ------------------------------------------------------------

static void push_event(worker_t *w, uint32_t type, uint32_t id, uint32_t arg, uint32_t famport, const uint32_t *addr) {
  if (w->events_len + RECORD_WORDS > w->events_cap) {
    size_t cap = w->events_cap ? w->events_cap * 2 : 1024 * RECORD_WORDS;
    uint32_t *p = realloc(w->events, cap * sizeof *p);
    if (p == NULL) abort();  // out of memory: nothing sane to do in a data path thread
    w->events = p;
    w->events_cap = cap;
  }
  uint32_t *rec = w->events + w->events_len;
  rec[0] = type;
  rec[1] = id;
  rec[2] = arg;
  rec[3] = famport;
  if (addr) memcpy(rec + 4, addr, 16);
  else memset(rec + 4, 0, 16);
  w->events_len += RECORD_WORDS;
}

// Moves the thread's batch to the shared queue; wakes JS once per pending batch.
static void flush_events(worker_t *w) {
  if (w->events_len == 0) return;
  relay_t *r = w->relay;
  int wake = 0;
  pthread_mutex_lock(&r->lock);
  size_t live = r->queue_len - r->queue_head;
  if (r->queue_head > 0 && r->queue_head == r->queue_len) {
    r->queue_head = r->queue_len = 0;
    live = 0;
  }
  if (r->queue_len + w->events_len > r->queue_cap) {
    if (r->queue_head > 0) {
      memmove(r->queue, r->queue + r->queue_head, live * sizeof *r->queue);
      r->queue_len = live;
      r->queue_head = 0;
    }
    if (r->queue_len + w->events_len > r->queue_cap) {
      size_t cap = r->queue_cap ? r->queue_cap : 4096 * RECORD_WORDS;
      while (cap < r->queue_len + w->events_len) cap *= 2;
      uint32_t *p = realloc(r->queue, cap * sizeof *p);
      if (p == NULL) abort();
      r->queue = p;
      r->queue_cap = cap;
    }
  }
  memcpy(r->queue + r->queue_len, w->events, w->events_len * sizeof *w->events);
  r->queue_len += w->events_len;
  if (!r->wake_pending && !r->closed) {
    r->wake_pending = 1;
    wake = 1;
  }
  pthread_mutex_unlock(&r->lock);
  w->events_len = 0;
  if (wake) napi_call_threadsafe_function(r->tsfn, NULL, napi_tsfn_nonblocking);
}

// ---- connections ---------------------------------------------------------------------------

static inline uint32_t conn_index(uint32_t id) { return id & (MAX_CONNS_PER_THREAD - 1); }
static inline uint32_t conn_thread(uint32_t id) { return (id >> INDEX_BITS) & ((1u << THREAD_BITS) - 1); }
static inline uint32_t conn_gen(uint32_t id) { return id >> (INDEX_BITS + THREAD_BITS); }

static conn_t *conn_alloc(worker_t *w) {
  if (w->free_head == UINT32_MAX) {
    uint32_t old = w->conns_cap;
    if (old >= MAX_CONNS_PER_THREAD) return NULL;
    uint32_t cap = old ? old * 2 : 1024;
    if (cap > MAX_CONNS_PER_THREAD) cap = MAX_CONNS_PER_THREAD;
    conn_t *p = realloc(w->conns, cap * sizeof *p);
    if (p == NULL) return NULL;
    memset(p + old, 0, (cap - old) * sizeof *p);
    for (uint32_t i = old; i < cap; i++) p[i].next_free = i + 1 < cap ? i + 1 : UINT32_MAX;
    w->conns = p;
    w->conns_cap = cap;
    w->free_head = old;
  }
  uint32_t idx = w->free_head;
  conn_t *c = &w->conns[idx];
  w->free_head = c->next_free;
  uint16_t gen = (uint16_t)((c->gen + 1) & ((1u << GEN_BITS) - 1));
  memset(c, 0, sizeof *c);
  c->gen = gen;
  c->in_use = 1;
  c->cfd = c->rfd = -1;
  c->slot = -1;
  c->id = ((uint32_t)gen << (INDEX_BITS + THREAD_BITS)) | ((uint32_t)w->index << INDEX_BITS) | idx;
  w->live++;
  return c;
}

static conn_t *conn_find(worker_t *w, uint32_t id) {
  uint32_t idx = conn_index(id);
  if (idx >= w->conns_cap) return NULL;
  conn_t *c = &w->conns[idx];
  if (!c->in_use || c->id != id) return NULL;
  return c;
}

static inline uint64_t tag_of(conn_t *c, worker_t *w, int side) {
  uint32_t idx = (uint32_t)(c - w->conns);
  return ((uint64_t)c->gen << 32) | ((uint64_t)idx << 2) | (uint64_t)side;
}

static void close_reset(int fd) {
  struct linger lg = { 1, 0 };
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

static void free_pending(pending_t *p) {
  free(p->data);
  p->data = NULL;
  p->off = p->len = 0;
}

// Ends a connection: `reset` closes both sockets with RST, else with a normal close (FIN).
static void conn_finish(worker_t *w, conn_t *c, int reset, uint32_t reason) {
  if (c->cfd >= 0) {
    if (reset) close_reset(c->cfd);
    else close(c->cfd);
  }
  if (c->rfd >= 0) {
    if (reset) close_reset(c->rfd);
    else close(c->rfd);
  }
  free_pending(&c->to_r);
  free_pending(&c->to_c);
  free(c->header);
  push_event(w, EV_CLOSED, c->id, reason, 0, NULL);
  c->in_use = 0;
  c->cfd = c->rfd = -1;
  c->next_free = w->free_head;
  w->free_head = (uint32_t)(c - w->conns);
  w->live--;
}

static int keep_pending(pending_t *p, const char *data, size_t len) {
  p->data = malloc(len);
  if (p->data == NULL) return -1;
  memcpy(p->data, data, len);
  p->off = 0;
  p->len = (uint32_t)len;
  return 0;
}

// Result of moving bytes one way: 0 fine, -1 the source failed, -2 the destination failed.
static int pump(worker_t *w, conn_t *c, int to_real) {
  int src = to_real ? c->cfd : c->rfd;
  int dst = to_real ? c->rfd : c->cfd;
  pending_t *p = to_real ? &c->to_r : &c->to_c;
  uint8_t *src_in = to_real ? &c->c_in : &c->r_in;
  uint8_t *src_hup = to_real ? &c->c_hup : &c->r_hup;
  uint8_t *src_eof = to_real ? &c->c_eof : &c->r_eof;
  uint8_t *dst_out = to_real ? &c->r_out : &c->c_out;
  uint8_t *dst_eof = to_real ? &c->r_eof : &c->c_eof;
  uint8_t *shut = to_real ? &c->shut_r : &c->shut_c;
  slot_t *s = slot_at(w->relay, c->slot);
  if (p->len > 0) {
    if (!*dst_out) return 0;
    ssize_t n = send(dst, p->data + p->off, p->len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        *dst_out = 0;
        return 0;
      }
      return -2;
    }
    p->off += (uint32_t)n;
    p->len -= (uint32_t)n;
    if (p->len > 0) {
      *dst_out = 0;
      return 0;
    }
    free_pending(p);
  }
  while (*src_in && !*src_eof) {
    ssize_t n = recv(src, w->scratch, SCRATCH_SIZE, 0);
    if (n > 0) {
      c->activity = 1;
      if (to_real) {
        __atomic_fetch_add(&s->in_pkts, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->in_bytes, (uint64_t)n, __ATOMIC_RELAXED);
      } else {
        __atomic_fetch_add(&s->out_pkts, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&s->out_bytes, (uint64_t)n, __ATOMIC_RELAXED);
      }
      ssize_t sent = send(dst, w->scratch, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent < 0) {
        if (errno != EAGAIN && errno != EINTR) return -2;
        sent = 0;
      }
      if (sent < n) {
        if (keep_pending(p, w->scratch + sent, (size_t)(n - sent)) < 0) return -2;
        *dst_out = 0;
        return 0;  // stop reading until the rest is written (backpressure)
      }
      // A short read drained the socket; a later arrival raises a new edge. Unless a FIN is
      // already known to be queued (RDHUP), in which case read on to reach it.
      if (n < SCRATCH_SIZE && !*src_hup) {
        *src_in = 0;
        break;
      }
      continue;
    }
    if (n == 0) {
      *src_eof = 1;
      push_event(w, to_real ? EV_CLIENT_FIN : EV_REAL_FIN, c->id, 0, 0, NULL);
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      *src_in = 0;
      break;
    }
    return -1;
  }
  if (*src_eof && p->len == 0 && !*shut) {
    *shut = 1;
    // The destination already sent its FIN: the close that follows sends ours (no shutdown()).
    if (!*dst_eof) shutdown(dst, SHUT_WR);
  }
  return 0;
}

static void conn_run(worker_t *w, conn_t *c) {
  if (c->phase != PHASE_OPEN) return;
  int rc = pump(w, c, 1);
  if (rc == 0) rc = pump(w, c, 0);
  if (rc != 0) {
    conn_finish(w, c, 1, CLOSE_ERROR);
    return;
  }
  if (c->c_eof && c->r_eof && c->to_r.len == 0 && c->to_c.len == 0) conn_finish(w, c, 0, CLOSE_NORMAL);
}

static void conn_established(worker_t *w, conn_t *c) {
  c->phase = PHASE_OPEN;
  c->activity = 1;
  push_event(w, EV_ESTABLISHED, c->id, 0, 0, NULL);
  if (c->header != NULL) {
    // The PROXY header goes first; a short write (hardly possible on a fresh socket) queues the rest.
    ssize_t n = send(c->rfd, c->header, c->header_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN) {
      conn_finish(w, c, 1, CLOSE_ERROR);
      return;
    }
    if (n < 0) n = 0;
    if ((uint32_t)n < c->header_len && keep_pending(&c->to_r, c->header + n, c->header_len - (size_t)n) < 0) {
      conn_finish(w, c, 1, CLOSE_ERROR);
      return;
    }
    free(c->header);
    c->header = NULL;
  }
  conn_run(w, c);
}

static void connect_failed(worker_t *w, conn_t *c, int err) {
  close(c->rfd);
  c->rfd = -1;
  c->r_in = c->r_out = c->r_hup = 0;
  c->phase = PHASE_AWAIT;
  push_event(w, EV_CONNECT_FAILED, c->id, (uint32_t)err, 0, NULL);
}

static void do_connect(worker_t *w, conn_t *c, int32_t slot, char *header, uint32_t header_len) {
  free(c->header);
  c->header = header;
  c->header_len = header_len;
  if (c->c_gone) {
    conn_finish(w, c, 1, CLOSE_NO_CONNECT);
    return;
  }
  slot_t *s = slot_at(w->relay, slot);
  c->slot = slot;
  int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    push_event(w, EV_CONNECT_FAILED, c->id, (uint32_t)errno, 0, NULL);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->rfd = fd;
  c->phase = PHASE_CONNECTING;
  if (connect(fd, (struct sockaddr *)&s->addr, s->len) < 0 && errno != EINPROGRESS) {
    connect_failed(w, c, errno);
    return;
  }
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag_of(c, w, TAG_REAL) };
  if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) connect_failed(w, c, errno);
}

static void on_conn_event(worker_t *w, uint64_t tag, uint32_t mask) {
  uint32_t idx = (uint32_t)((tag >> 2) & 0x3fffffff);
  uint16_t gen = (uint16_t)(tag >> 32);
  if (idx >= w->conns_cap) return;
  conn_t *c = &w->conns[idx];
  if (!c->in_use || c->gen != gen) return;  // an event for a connection closed earlier in this batch
  int client = (tag & 3) == TAG_CLIENT;
  if (client) {
    if (c->cfd < 0) return;
    if (mask & (EPOLLIN | EPOLLHUP)) c->c_in = 1;
    if (mask & (EPOLLRDHUP | EPOLLHUP)) c->c_hup = 1;
    if (mask & EPOLLOUT) c->c_out = 1;
    if (mask & EPOLLERR) {
      if (c->phase == PHASE_AWAIT) {
        // Reset before a real was chosen: drop the socket now, tell JS when its answer comes.
        close(c->cfd);
        c->cfd = -1;
        c->c_gone = 1;
        return;
      }
      conn_finish(w, c, 1, CLOSE_ERROR);
      return;
    }
    conn_run(w, c);
    return;
  }
  if (c->rfd < 0) return;
  if (c->phase == PHASE_CONNECTING) {
    if (mask & EPOLLERR) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c->rfd, SOL_SOCKET, SO_ERROR, &err, &len);
      connect_failed(w, c, err ? err : ECONNREFUSED);
      return;
    }
    if (mask & (EPOLLIN | EPOLLHUP)) c->r_in = 1;
    if (mask & (EPOLLRDHUP | EPOLLHUP)) c->r_hup = 1;
    if (mask & EPOLLOUT) {
      c->r_out = 1;
      conn_established(w, c);
    }
    return;
  }
  if (mask & (EPOLLIN | EPOLLHUP)) c->r_in = 1;
  if (mask & (EPOLLRDHUP | EPOLLHUP)) c->r_hup = 1;
  if (mask & EPOLLOUT) c->r_out = 1;
  if (mask & EPOLLERR) {
    conn_finish(w, c, 1, CLOSE_ERROR);
    return;
  }
  conn_run(w, c);
}

static void addr_words(const struct sockaddr_storage *ss, uint32_t *famport, uint32_t words[4]) {
  memset(words, 0, 16);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    *famport = (4u << 16) | ntohs(a->sin_port);
    memcpy(words, &a->sin_addr, 4);
  } else {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    *famport = (6u << 16) | ntohs(a->sin6_port);
    memcpy(words, &a->sin6_addr, 16);
  }
}

static void arm_listener(worker_t *w, listener_t *l, int op) {
  struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ((uint64_t)l->id << 2) | TAG_LISTENER };
  if (w->relay->nthreads > 1 && op == EPOLL_CTL_ADD) ev.events |= EPOLLEXCLUSIVE;
  epoll_ctl(w->ep, op, l->fd, &ev);
}

// The listener with this id among those the thread watches (a handful: a linear scan).
static listener_t *find_listener(worker_t *w, uint32_t id) {
  for (size_t i = 0; i < w->mine.len; i++)
    if (w->mine.items[i]->id == id) return w->mine.items[i];
  return NULL;
}

static void disarm_listeners(worker_t *w) {
  for (size_t i = 0; i < w->mine.len; i++) epoll_ctl(w->ep, EPOLL_CTL_DEL, w->mine.items[i]->fd, NULL);
  w->accept_paused = 1;
}

static void rearm_listeners(worker_t *w) {
  for (size_t i = 0; i < w->mine.len; i++) arm_listener(w, w->mine.items[i], EPOLL_CTL_ADD);
  w->accept_paused = 0;
}

static void on_accept(worker_t *w, listener_t *l) {
  for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
        if (errno == EAGAIN) return;
        continue;
      }
      push_event(w, EV_ACCEPT_ERROR, l->id, (uint32_t)errno, 0, NULL);
      // Out of descriptors or memory: a level-triggered listener would wake us in a loop, so stop
      // watching listeners until the next sweep (connections wait in the backlog meanwhile).
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) disarm_listeners(w);
      return;
    }
    conn_t *c = conn_alloc(w);
    if (c == NULL) {
      close_reset(fd);
      push_event(w, EV_ACCEPT_ERROR, l->id, ENFILE, 0, NULL);
      continue;
    }
    c->cfd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = tag_of(c, w, TAG_CLIENT) };
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
      close_reset(fd);
      c->cfd = -1;
      c->in_use = 0;
      c->next_free = w->free_head;
      w->free_head = (uint32_t)(c - w->conns);
      w->live--;
      continue;
    }
    uint32_t famport, words[4];
    addr_words(&ss, &famport, words);
    push_event(w, EV_ACCEPTED, c->id, l->id, famport, words);
  }
}

// ---- commands ------------------------------------------------------------------------------

static void enqueue(worker_t *w, cmd_t *cmd) {
  cmd->next = NULL;
  pthread_mutex_lock(&w->cmd_lock);
  int was_empty = w->cmd_head == NULL;
  if (w->cmd_tail) w->cmd_tail->next = cmd;
  else w->cmd_head = cmd;
  w->cmd_tail = cmd;
  pthread_mutex_unlock(&w->cmd_lock);
  if (was_empty) {
    uint64_t one = 1;
    ssize_t n = write(w->evfd, &one, sizeof one);
    (void)n;
  }
}

static void complete_sync(relay_t *r, cmd_t *cmd) {
  pthread_mutex_lock(&r->lock);
  *cmd->done = 1;
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->lock);
}

static int run_commands(worker_t *w) {
  listener_set_t *mine = &w->mine;
  uint64_t v;
  ssize_t n = read(w->evfd, &v, sizeof v);
  (void)n;
  pthread_mutex_lock(&w->cmd_lock);
  cmd_t *cmd = w->cmd_head;
  w->cmd_head = w->cmd_tail = NULL;
  pthread_mutex_unlock(&w->cmd_lock);
  int stop = 0;
  while (cmd) {
    cmd_t *next = cmd->next;
    switch (cmd->type) {
      case CMD_CONNECT: {
        conn_t *c = conn_find(w, cmd->id);
        if (c != NULL && c->phase == PHASE_AWAIT) {
          do_connect(w, c, cmd->slot, cmd->header, cmd->header_len);
          cmd->header = NULL;
        }
        free(cmd->header);
        free(cmd);
        break;
      }
      case CMD_RESET: {
        conn_t *c = conn_find(w, cmd->id);
        if (c != NULL) conn_finish(w, c, 1, CLOSE_COMMAND);
        free(cmd);
        break;
      }
      case CMD_ADD_LISTENER:
        if (mine->len == mine->cap) {
          size_t cap = mine->cap ? mine->cap * 2 : 16;
          listener_t **p = realloc(mine->items, cap * sizeof *p);
          if (p == NULL) abort();
          mine->items = p;
          mine->cap = cap;
        }
        mine->items[mine->len++] = cmd->listener;
        if (!w->accept_paused) arm_listener(w, cmd->listener, EPOLL_CTL_ADD);
        free(cmd);
        break;
      case CMD_DEL_LISTENER:
        for (size_t i = 0; i < mine->len; i++) {
          if (mine->items[i] == cmd->listener) {
            if (!w->accept_paused) epoll_ctl(w->ep, EPOLL_CTL_DEL, cmd->listener->fd, NULL);
            mine->items[i] = mine->items[--mine->len];
            break;
          }
        }
        complete_sync(w->relay, cmd);  // the JS thread frees it
        break;
      case CMD_ACTIVITY: {
        for (uint32_t i = 0; i < w->conns_cap; i++) {
          conn_t *c = &w->conns[i];
          if (!c->in_use || !c->activity) continue;
          c->activity = 0;
          if (*cmd->ids_len == *cmd->ids_cap) {
            size_t cap = *cmd->ids_cap ? *cmd->ids_cap * 2 : 256;
            uint32_t *p = realloc(*cmd->ids, cap * sizeof *p);
            if (p == NULL) break;
            *cmd->ids = p;
            *cmd->ids_cap = cap;
          }
          (*cmd->ids)[(*cmd->ids_len)++] = c->id;
        }
        // Accepting was paused by EMFILE: try again (at most once per sweep).
        if (w->accept_paused) rearm_listeners(w);
        complete_sync(w->relay, cmd);
        break;
      }
      case CMD_STOP:
        stop = 1;
        free(cmd);
        break;
      default:
        free(cmd);
    }
    cmd = next;
  }
  return stop;
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  struct epoll_event evs[EPOLL_BATCH];
  for (;;) {
    int n = epoll_wait(w->ep, evs, EPOLL_BATCH, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    int stop = 0;
    for (int i = 0; i < n; i++) {
      uint64_t tag = evs[i].data.u64;
      switch (tag & 3) {
        case TAG_EVENTFD:
          stop |= run_commands(w);
          break;
        case TAG_LISTENER: {
          listener_t *l = find_listener(w, (uint32_t)(tag >> 2));
          if (l != NULL) on_accept(w, l);
          break;
        }
        default:
          on_conn_event(w, tag, evs[i].events);
      }
    }
    flush_events(w);
    if (stop) break;
  }
  // Stopping: every live connection is reset (relayClose is destroy(), not a drain).
  for (uint32_t i = 0; i < w->conns_cap; i++) {
    conn_t *c = &w->conns[i];
    if (!c->in_use) continue;
    if (c->cfd >= 0) close_reset(c->cfd);
    if (c->rfd >= 0) close_reset(c->rfd);
    free_pending(&c->to_r);
    free_pending(&c->to_c);
    free(c->header);
    c->in_use = 0;
  }
  free(w->mine.items);
  w->mine.items = NULL;
  return NULL;
}

// ---- JS side -------------------------------------------------------------------------------

static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  (void)data;
  if (env == NULL || js_cb == NULL) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, js_cb, 0, NULL, NULL);
}

static napi_value throw_errno_as(napi_env env, const char *syscall_name, int err) {
  napi_throw(env, addon_errno_error(env, syscall_name, err));
  return NULL;
}

static napi_value undef(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static relay_t *get_relay(napi_env env, napi_value v) {
  relay_t *r = NULL;
  if (napi_get_value_external(env, v, (void **)&r) != napi_ok || r == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relay: not a relay handle");
    return NULL;
  }
  if (r->closed) {
    napi_throw_error(env, "ERR_RELAY_CLOSED", "relay: handle already closed");
    return NULL;
  }
  return r;
}

// Reads `n` arguments (missing ones are undefined); a[0] must be an open relay handle, else NULL
// with a JS exception pending.
static relay_t *relay_args(napi_env env, napi_callback_info info, size_t n, napi_value *a) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  return get_relay(env, a[0]);
}

// Waits for one sync command per thread (commands are built by the caller).
static void wait_all(relay_t *r, int *done, int n) {
  pthread_mutex_lock(&r->lock);
  for (;;) {
    int all = 1;
    for (int i = 0; i < n; i++)
      if (!done[i]) all = 0;
    if (all) break;
    pthread_cond_wait(&r->cond, &r->lock);
  }
  pthread_mutex_unlock(&r->lock);
}

static void relay_shutdown(relay_t *r) {
  if (r->closed) return;
  for (int i = 0; i < r->nthreads; i++) {
    worker_t *w = &r->workers[i];
    if (!w->started) continue;
    cmd_t *cmd = calloc(1, sizeof *cmd);
    if (cmd == NULL) abort();
    cmd->type = CMD_STOP;
    enqueue(w, cmd);
  }
  for (int i = 0; i < r->nthreads; i++) {
    worker_t *w = &r->workers[i];
    if (!w->started) continue;
    pthread_join(w->thread, NULL);
    w->started = 0;
    // Commands that arrived after the stop (none expected) are dropped.
    cmd_t *cmd = w->cmd_head;
    while (cmd) {
      cmd_t *next = cmd->next;
      if (cmd->type == CMD_CONNECT) free(cmd->header);
      free(cmd);
      cmd = next;
    }
    close(w->ep);
    close(w->evfd);
    free(w->conns);
    free(w->events);
    free(w->scratch);
    pthread_mutex_destroy(&w->cmd_lock);
  }
  pthread_mutex_lock(&r->lock);
  r->closed = 1;
  pthread_mutex_unlock(&r->lock);
  for (listener_t *l = r->listeners; l;) {
    listener_t *next = l->next;
    if (l->fd >= 0) close(l->fd);
    free(l);
    l = next;
  }
  r->listeners = NULL;
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
}

static void relay_free(relay_t *r) {
  free(r->queue);
  for (int i = 0; i < SLOT_CHUNKS; i++) free(r->chunks[i]);
  pthread_mutex_destroy(&r->lock);
  pthread_cond_destroy(&r->cond);
  free(r);
}

static void cleanup_hook(void *arg) {
  relay_t *r = arg;
  relay_shutdown(r);
}

static void finalize_relay(napi_env env, void *data, void *hint) {
  (void)hint;
  relay_t *r = data;
  if (!r->closed) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, r);
    relay_shutdown(r);
  }
  relay_free(r);
}

// relayCreate(onEvents: () => void, threads: number) -> handle
static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  int32_t threads = 1;
  if (argc < 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relayCreate(onEvents, threads)");
    return NULL;
  }
  if (argc >= 2) napi_get_value_int32(env, a[1], &threads);
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  relay_t *r = calloc(1, sizeof *r);
  if (r == NULL) return throw_errno_as(env, "calloc", ENOMEM);
  r->nthreads = threads;
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->cond, NULL);
  napi_value name;
  napi_create_string_utf8(env, "directord.relay", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, a[0], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &r->tsfn) != napi_ok) {
    relay_free(r);
    napi_throw_error(env, NULL, "relay: napi_create_threadsafe_function failed");
    return NULL;
  }
  // Idle until JS says otherwise (relayRef): an engine with no listener must not hold the process.
  napi_unref_threadsafe_function(env, r->tsfn);
  for (int i = 0; i < threads; i++) {
    worker_t *w = &r->workers[i];
    w->relay = r;
    w->index = i;
    w->free_head = UINT32_MAX;
    pthread_mutex_init(&w->cmd_lock, NULL);
    w->scratch = malloc(SCRATCH_SIZE);
    w->ep = epoll_create1(EPOLL_CLOEXEC);
    w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int err = 0;
    if (w->scratch == NULL) err = ENOMEM;
    else if (w->ep < 0 || w->evfd < 0) err = errno;
    if (err == 0) {
      struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_EVENTFD };
      if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->evfd, &ev) < 0) err = errno;
    }
    if (err == 0 && pthread_create(&w->thread, NULL, worker_main, w) != 0) err = EAGAIN;
    if (err != 0) {
      if (w->ep >= 0) close(w->ep);
      if (w->evfd >= 0) close(w->evfd);
      free(w->scratch);
      pthread_mutex_destroy(&w->cmd_lock);
      r->nthreads = i;
      relay_shutdown(r);
      relay_free(r);
      return throw_errno_as(env, "relayCreate", err);
    }
    w->started = 1;
  }
  napi_add_env_cleanup_hook(env, cleanup_hook, r);
  napi_value handle;
  napi_create_external(env, r, finalize_relay, NULL, &handle);
  return handle;
}

static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len = 0;
  return napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok && len < size - 1;
}

// relayListen(handle, listenerId, address, port, backlog, freebind) -> undefined (throws errno errors)
static napi_value js_listen(napi_env env, napi_callback_info info) {
  napi_value a[6];
  relay_t *r = relay_args(env, info, 6, a);
  if (r == NULL) return NULL;
  uint32_t id;
  int32_t port, backlog;
  bool freebind = false;
  char text[64];
  napi_get_value_uint32(env, a[1], &id);
  napi_get_value_int32(env, a[3], &port);
  napi_get_value_int32(env, a[4], &backlog);
  napi_get_value_bool(env, a[5], &freebind);
  struct sockaddr_storage ss;
  socklen_t len;
  if (!get_string(env, a[2], text, sizeof text) || (len = addon_parse_sockaddr(text, (uint16_t)port, 0, &ss)) == 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "relayListen: not a numeric IPv4/IPv6 address");
    return NULL;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno_as(env, "socket", errno);
  int one = 1;
  // As net.Server does: SO_REUSEADDR, so a restarted director rebinds past TIME_WAIT.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (freebind) {
    // A backup director listens on a VIP it does not hold yet (ip(7) IP_FREEBIND).
    if (ss.ss_family == AF_INET) setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    else setsockopt(fd, IPPROTO_IPV6, 78 /* IPV6_FREEBIND */, &one, sizeof one);
  }
  if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
    int err = errno;
    close(fd);
    return throw_errno_as(env, "bind", err);
  }
  if (listen(fd, backlog) < 0) {
    int err = errno;
    close(fd);
    return throw_errno_as(env, "listen", err);
  }
  listener_t *l = calloc(1, sizeof *l);
  if (l == NULL) {
    close(fd);
    return throw_errno_as(env, "calloc", ENOMEM);
  }
  l->id = id;
  l->fd = fd;
  l->next = r->listeners;
  r->listeners = l;
  for (int i = 0; i < r->nthreads; i++) {
    cmd_t *cmd = calloc(1, sizeof *cmd);
    if (cmd == NULL) abort();
    cmd->type = CMD_ADD_LISTENER;
    cmd->listener = l;
    enqueue(&r->workers[i], cmd);
  }
  return undef(env);
}

// relayUnlisten(handle, listenerId): no thread accepts on it any more once this returns.
static napi_value js_unlisten(napi_env env, napi_callback_info info) {
  napi_value a[2];
  relay_t *r = relay_args(env, info, 2, a);
  if (r == NULL) return NULL;
  uint32_t id = 0;
  napi_get_value_uint32(env, a[1], &id);
  listener_t **pp = &r->listeners;
  while (*pp && (*pp)->id != id) pp = &(*pp)->next;
  listener_t *l = *pp;
  if (l == NULL) return undef(env);
  int done[MAX_THREADS] = { 0 };
  cmd_t *cmds[MAX_THREADS];
  for (int i = 0; i < r->nthreads; i++) {
    cmds[i] = calloc(1, sizeof **cmds);
    if (cmds[i] == NULL) abort();
    cmds[i]->type = CMD_DEL_LISTENER;
    cmds[i]->listener = l;
    cmds[i]->done = &done[i];
    enqueue(&r->workers[i], cmds[i]);
  }
  wait_all(r, done, r->nthreads);
  for (int i = 0; i < r->nthreads; i++) free(cmds[i]);
  *pp = l->next;
  close(l->fd);
  free(l);
  return undef(env);
}

// relayTarget(handle, address, port) -> slot: one destination with its own counters.
static napi_value js_target(napi_env env, napi_callback_info info) {
  napi_value a[3];
  relay_t *r = relay_args(env, info, 3, a);
  if (r == NULL) return NULL;
  char text[64];
  int32_t port = 0;
  napi_get_value_int32(env, a[2], &port);
  struct sockaddr_storage ss;
  socklen_t len;
  if (!get_string(env, a[1], text, sizeof text) || (len = addon_parse_sockaddr(text, (uint16_t)port, 0, &ss)) == 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "relayTarget: not a numeric IPv4/IPv6 address");
    return NULL;
  }
  uint32_t s = r->nslots;
  if (s >= (uint32_t)SLOT_CHUNK * SLOT_CHUNKS) return throw_errno_as(env, "relayTarget", ENOSPC);
  slot_t **chunk = &r->chunks[s / SLOT_CHUNK];
  if (*chunk == NULL) {
    *chunk = calloc(SLOT_CHUNK, sizeof **chunk);
    if (*chunk == NULL) return throw_errno_as(env, "calloc", ENOMEM);
  }
  slot_t *slot = &(*chunk)[s % SLOT_CHUNK];
  slot->addr = ss;
  slot->len = len;
  // Published to the threads by the command queue's mutex before any CMD_CONNECT names it.
  r->nslots = s + 1;
  napi_value out;
  napi_create_uint32(env, s, &out);
  return out;
}

// relayConnect(handle, id, slot, header?: Buffer)
static napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value a[4];
  relay_t *r = relay_args(env, info, 4, a);
  if (r == NULL) return NULL;
  uint32_t id = 0, slot = 0;
  napi_get_value_uint32(env, a[1], &id);
  napi_get_value_uint32(env, a[2], &slot);
  if (slot >= r->nslots) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "relayConnect: unknown slot");
    return NULL;
  }
  uint32_t t = conn_thread(id);
  if ((int)t >= r->nthreads) return undef(env);
  cmd_t *cmd = calloc(1, sizeof *cmd);
  if (cmd == NULL) return throw_errno_as(env, "calloc", ENOMEM);
  cmd->type = CMD_CONNECT;
  cmd->id = id;
  cmd->slot = (int32_t)slot;
  bool is_buffer = false;
  napi_is_buffer(env, a[3], &is_buffer);
  if (is_buffer) {
    void *data;
    size_t len;
    napi_get_buffer_info(env, a[3], &data, &len);
    if (len > 0) {
      cmd->header = malloc(len);
      if (cmd->header == NULL) {
        free(cmd);
        return throw_errno_as(env, "malloc", ENOMEM);
      }
      memcpy(cmd->header, data, len);
      cmd->header_len = (uint32_t)len;
    }
  }
  enqueue(&r->workers[t], cmd);
  return undef(env);
}

// relayReset(handle, id): RST both sides; a CLOSED event follows (unless it already closed).
static napi_value js_reset(napi_env env, napi_callback_info info) {
  napi_value a[2];
  relay_t *r = relay_args(env, info, 2, a);
  if (r == NULL) return NULL;
  uint32_t id = 0;
  napi_get_value_uint32(env, a[1], &id);
  uint32_t t = conn_thread(id);
  if ((int)t >= r->nthreads) return undef(env);
  cmd_t *cmd = calloc(1, sizeof *cmd);
  if (cmd == NULL) return throw_errno_as(env, "calloc", ENOMEM);
  cmd->type = CMD_RESET;
  cmd->id = id;
  enqueue(&r->workers[t], cmd);
  return undef(env);
}

// relayDrain(handle, out: Uint32Array) -> records copied (RECORD_WORDS words each)
static napi_value js_drain(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  relay_t *r = NULL;
  if (napi_get_value_external(env, a[0], (void **)&r) != napi_ok || r == NULL) return undef(env);
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, a[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint32_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relayDrain: a Uint32Array");
    return NULL;
  }
  size_t records = 0;
  pthread_mutex_lock(&r->lock);
  size_t avail = (r->queue_len - r->queue_head) / RECORD_WORDS;
  records = length / RECORD_WORDS;
  if (records > avail) records = avail;
  memcpy(data, r->queue + r->queue_head, records * RECORD_WORDS * sizeof(uint32_t));
  r->queue_head += records * RECORD_WORDS;
  if (r->queue_head == r->queue_len) {
    r->queue_head = r->queue_len = 0;
    r->wake_pending = 0;
  }
  pthread_mutex_unlock(&r->lock);
  napi_value out;
  napi_create_uint32(env, (uint32_t)records, &out);
  return out;
}

// relayCounters(handle, out: Float64Array) -> slots written (4 numbers each: in packets, in
// bytes, out packets, out bytes; cumulative since the slot was made).
static napi_value js_counters(napi_env env, napi_callback_info info) {
  napi_value a[2];
  relay_t *r = relay_args(env, info, 2, a);
  if (r == NULL) return NULL;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, a[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relayCounters: a Float64Array");
    return NULL;
  }
  double *out = data;
  uint32_t n = r->nslots;
  if (n > length / 4) n = (uint32_t)(length / 4);
  for (uint32_t i = 0; i < n; i++) {
    slot_t *s = slot_at(r, (int32_t)i);
    out[i * 4] = (double)__atomic_load_n(&s->in_pkts, __ATOMIC_RELAXED);
    out[i * 4 + 1] = (double)__atomic_load_n(&s->in_bytes, __ATOMIC_RELAXED);
    out[i * 4 + 2] = (double)__atomic_load_n(&s->out_pkts, __ATOMIC_RELAXED);
    out[i * 4 + 3] = (double)__atomic_load_n(&s->out_bytes, __ATOMIC_RELAXED);
  }
  napi_value res;
  napi_create_uint32(env, n, &res);
  return res;
}

// relayActivity(handle) -> Uint32Array of the ids that moved bytes since the last call.
static napi_value js_activity(napi_env env, napi_callback_info info) {
  napi_value a[1];
  relay_t *r = relay_args(env, info, 1, a);
  if (r == NULL) return NULL;
  uint32_t *ids = NULL;
  size_t len = 0, cap = 0;
  int done[MAX_THREADS] = { 0 };
  cmd_t *cmds[MAX_THREADS];
  // One at a time: the id vector is shared by the threads' answers.
  for (int i = 0; i < r->nthreads; i++) {
    cmds[i] = calloc(1, sizeof **cmds);
    if (cmds[i] == NULL) abort();
    cmds[i]->type = CMD_ACTIVITY;
    cmds[i]->done = &done[i];
    cmds[i]->ids = &ids;
    cmds[i]->ids_len = &len;
    cmds[i]->ids_cap = &cap;
    enqueue(&r->workers[i], cmds[i]);
    wait_all(r, &done[i], 1);
    free(cmds[i]);
  }
  napi_value ab, out;
  void *dst;
  napi_create_arraybuffer(env, len * sizeof(uint32_t), &dst, &ab);
  if (len > 0) memcpy(dst, ids, len * sizeof(uint32_t));
  free(ids);
  napi_create_typedarray(env, napi_uint32_array, len, ab, 0, &out);
  return out;
}

// relayRef(handle, keepAlive): while true the relay keeps the event loop alive (like a listening net.Server).
static napi_value js_ref(napi_env env, napi_callback_info info) {
  napi_value a[2];
  relay_t *r = relay_args(env, info, 2, a);
  if (r == NULL) return NULL;
  bool on = false;
  napi_get_value_bool(env, a[1], &on);
  if (on) napi_ref_threadsafe_function(env, r->tsfn);
  else napi_unref_threadsafe_function(env, r->tsfn);
  return undef(env);
}

// relayClose(handle): stops the threads (live connections are reset) and closes every socket.
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  relay_t *r = NULL;
  if (napi_get_value_external(env, a[0], (void **)&r) != napi_ok || r == NULL) return undef(env);
  if (r->closed) return undef(env);
  napi_remove_env_cleanup_hook(env, cleanup_hook, r);
  relay_shutdown(r);
  return undef(env);
}

napi_value relay_init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "relayCreate", 0, js_create, 0, 0, 0, napi_enumerable, 0 },
    { "relayListen", 0, js_listen, 0, 0, 0, napi_enumerable, 0 },
    { "relayUnlisten", 0, js_unlisten, 0, 0, 0, napi_enumerable, 0 },
    { "relayTarget", 0, js_target, 0, 0, 0, napi_enumerable, 0 },
    { "relayConnect", 0, js_connect, 0, 0, 0, napi_enumerable, 0 },
    { "relayReset", 0, js_reset, 0, 0, 0, napi_enumerable, 0 },
    { "relayDrain", 0, js_drain, 0, 0, 0, napi_enumerable, 0 },
    { "relayCounters", 0, js_counters, 0, 0, 0, napi_enumerable, 0 },
    { "relayActivity", 0, js_activity, 0, 0, 0, napi_enumerable, 0 },
    { "relayRef", 0, js_ref, 0, 0, 0, napi_enumerable, 0 },
    { "relayClose", 0, js_close, 0, 0, 0, napi_enumerable, 0 },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}
