/*
 * zmq_peer: the C reference peer of `deno task bench:binding`, written
 * against libzmq directly (blocking calls, one thread).
 *
 *   zmq_peer push|pull|req|rep <endpoint> <count> <size> [warmup]
 *
 * push: connects, sends <count> messages of <size> bytes, lingers until sent.
 * pull: binds, receives <count> messages and prints one JSON line with the
 *       rate measured from the first to the last message.
 * req:  connects, does [warmup] (default 1000) untimed round trips, then
 *       <count> timed ones, and prints one JSON line with p50/p99 in us.
 * rep:  binds and echoes warmup + count requests.
 *
 * Every peer sets SNDHWM and RCVHWM to 1000 (libzmq's default), LINGER to
 * 10 s on senders. Build: gcc -O2 -o bench/out/zmq_peer bench/peers/zmq_peer.c -lzmq
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define HWM 1000

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "zmq_peer: %s: %s\n", what, zmq_strerror(zmq_errno()));
  exit(1);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Percentile of sorted samples: the sample of rank round(p * n), as every peer computes it. */
static double percentile(const double *sorted, long n, double p) {
  long rank = (long)(p * (double)n + 0.5);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return sorted[rank - 1];
}

static void set_int(void *sock, int option, int value) {
  if (zmq_setsockopt(sock, option, &value, sizeof value) != 0) die("zmq_setsockopt");
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: zmq_peer push|pull|req|rep <endpoint> <count> <size> [warmup]\n");
    return 2;
  }
  const char *mode = argv[1];
  const char *endpoint = argv[2];
  long count = atol(argv[3]);
  size_t size = (size_t)atol(argv[4]);
  long warmup = argc > 5 ? atol(argv[5]) : 1000;
  if (count < 1) {
    fprintf(stderr, "zmq_peer: count must be at least 1\n");
    return 2;
  }

  void *ctx = zmq_ctx_new();
  if (!ctx) die("zmq_ctx_new");
  char *buf = calloc(size > 0 ? size : 1, 1);
  if (!buf) return 1;
  memset(buf, 'x', size);
  int type = strcmp(mode, "push") == 0   ? ZMQ_PUSH
             : strcmp(mode, "pull") == 0 ? ZMQ_PULL
             : strcmp(mode, "req") == 0  ? ZMQ_REQ
             : strcmp(mode, "rep") == 0  ? ZMQ_REP
                                         : -1;
  if (type < 0) {
    fprintf(stderr, "zmq_peer: unknown mode \"%s\"\n", mode);
    return 2;
  }
  void *sock = zmq_socket(ctx, type);
  if (!sock) die("zmq_socket");
  set_int(sock, ZMQ_SNDHWM, HWM);
  set_int(sock, ZMQ_RCVHWM, HWM);
  set_int(sock, ZMQ_LINGER, 10000);

  if (type == ZMQ_PULL || type == ZMQ_REP) {
    if (zmq_bind(sock, endpoint) != 0) die("zmq_bind");
  } else {
    if (zmq_connect(sock, endpoint) != 0) die("zmq_connect");
  }

  if (type == ZMQ_PUSH) {
    for (long i = 0; i < count; i++) {
      if (zmq_send(sock, buf, size, 0) < 0) die("zmq_send");
    }
  } else if (type == ZMQ_PULL) {
    double first = 0;
    for (long i = 0; i < count; i++) {
      if (zmq_recv(sock, buf, size, 0) < 0) die("zmq_recv");
      if (i == 0) first = now_s();
    }
    double seconds = now_s() - first;
    printf("{\"mode\":\"pull\",\"count\":%ld,\"size\":%zu,\"seconds\":%.6f,"
           "\"msgs_per_s\":%.1f}\n",
           count, size, seconds, seconds > 0 ? (double)(count - 1) / seconds : 0.0);
  } else if (type == ZMQ_REP) {
    for (long i = 0; i < warmup + count; i++) {
      int n = zmq_recv(sock, buf, size, 0);
      if (n < 0) die("zmq_recv");
      if (zmq_send(sock, buf, (size_t)n < size ? (size_t)n : size, 0) < 0) die("zmq_send");
    }
  } else {
    double *samples = malloc(sizeof(double) * (size_t)count);
    if (!samples) return 1;
    for (long i = 0; i < warmup + count; i++) {
      double start = now_s();
      if (zmq_send(sock, buf, size, 0) < 0) die("zmq_send");
      if (zmq_recv(sock, buf, size, 0) < 0) die("zmq_recv");
      if (i >= warmup) samples[i - warmup] = (now_s() - start) * 1e6;
    }
    qsort(samples, (size_t)count, sizeof(double), cmp_double);
    double sum = 0;
    for (long i = 0; i < count; i++) sum += samples[i];
    printf("{\"mode\":\"req\",\"count\":%ld,\"size\":%zu,\"p50_us\":%.2f,"
           "\"p99_us\":%.2f,\"mean_us\":%.2f}\n",
           count, size, percentile(samples, count, 0.5), percentile(samples, count, 0.99),
           sum / (double)count);
    free(samples);
  }
  fflush(stdout);
  zmq_close(sock);
  zmq_ctx_term(ctx);
  free(buf);
  return 0;
}
