/**
 * The libzmq 4.3 functions this binding calls, as one symbol table for
 * `Deno.dlopen`. Each parameter is commented with its C meaning.
 *
 * @module
 */

/** Every libzmq symbol the binding uses. */
export const zmqSymbols = {
  zmq_version: {
    parameters: [
      "buffer", // int *major
      "buffer", // int *minor
      "buffer", // int *patch
    ],
    result: "void",
  },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: {
    parameters: [
      "i32", // int errnum
    ],
    result: "pointer", // const char *
  },
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_ctx_term: {
    parameters: [
      "pointer", // void *context
    ],
    result: "i32",
  },
  zmq_ctx_set: {
    parameters: [
      "pointer", // void *context
      "i32", // int option_name
      "i32", // int option_value
    ],
    result: "i32",
  },
  zmq_ctx_get: {
    parameters: [
      "pointer", // void *context
      "i32", // int option_name
    ],
    result: "i32", // the value, or -1 (errno EINVAL) for an unknown option
  },
  zmq_socket: {
    parameters: [
      "pointer", // void *context
      "i32", // int type
    ],
    result: "pointer", // void *socket
  },
  zmq_close: {
    parameters: [
      "pointer", // void *socket
    ],
    result: "i32",
  },
  zmq_bind: {
    parameters: [
      "pointer", // void *socket
      "buffer", // const char *endpoint
    ],
    result: "i32",
  },
  zmq_connect: {
    parameters: [
      "pointer", // void *socket
      "buffer", // const char *endpoint
    ],
    result: "i32",
  },
  zmq_unbind: {
    parameters: [
      "pointer", // void *socket
      "buffer", // const char *endpoint
    ],
    result: "i32",
  },
  zmq_disconnect: {
    parameters: [
      "pointer", // void *socket
      "buffer", // const char *endpoint
    ],
    result: "i32",
  },
  zmq_setsockopt: {
    parameters: [
      "pointer", // void *socket
      "i32", // int option_name
      "buffer", // const void *option_value
      "usize", // size_t option_len
    ],
    result: "i32",
  },
  zmq_getsockopt: {
    parameters: [
      "pointer", // void *socket
      "i32", // int option_name
      "buffer", // void *option_value
      "buffer", // size_t *option_len
    ],
    result: "i32",
  },
  zmq_send: {
    parameters: [
      "pointer", // void *socket
      "buffer", // const void *buf
      "usize", // size_t len
      "i32", // int flags
    ],
    result: "i32",
  },
  zmq_msg_init: {
    parameters: [
      "buffer", // zmq_msg_t *msg
    ],
    result: "i32",
  },
  zmq_msg_init_size: {
    parameters: [
      "buffer", // zmq_msg_t *msg
      "usize", // size_t size
    ],
    result: "i32",
  },
  zmq_msg_recv: {
    parameters: [
      "buffer", // zmq_msg_t *msg
      "pointer", // void *socket
      "i32", // int flags
    ],
    result: "i32",
  },
  zmq_msg_data: {
    parameters: [
      "buffer", // zmq_msg_t *msg
    ],
    result: "pointer", // void *
  },
  zmq_msg_more: {
    parameters: [
      "buffer", // const zmq_msg_t *message
    ],
    result: "i32",
  },
  zmq_msg_gets: {
    parameters: [
      "buffer", // const zmq_msg_t *message
      "buffer", // const char *property
    ],
    result: "pointer", // const char * (the value), or NULL (no such property)
  },
  zmq_msg_close: {
    parameters: [
      "buffer", // zmq_msg_t *msg
    ],
    result: "i32",
  },
  zmq_socket_monitor: {
    parameters: [
      "pointer", // void *socket
      "buffer", // const char *endpoint
      "i32", // int events
    ],
    result: "i32",
  },
  zmq_curve_keypair: {
    parameters: [
      "buffer", // char *z85_public_key (41 bytes)
      "buffer", // char *z85_secret_key (41 bytes)
    ],
    result: "i32",
    optional: true,
  },
  zmq_curve_public: {
    parameters: [
      "buffer", // char *z85_public_key (41 bytes)
      "buffer", // const char *z85_secret_key
    ],
    result: "i32",
    optional: true,
  },
  zmq_z85_encode: {
    parameters: [
      "buffer", // char *dest (size * 5 / 4 + 1)
      "buffer", // const uint8_t *data
      "usize", // size_t size (a multiple of 4)
    ],
    result: "pointer", // char * (dest), or NULL
  },
  zmq_z85_decode: {
    parameters: [
      "buffer", // uint8_t *dest (strlen * 4 / 5)
      "buffer", // const char *string
    ],
    result: "pointer", // uint8_t * (dest), or NULL
  },
  zmq_has: {
    parameters: [
      "buffer", // const char *capability
    ],
    result: "i32",
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The few libc functions the readiness poller needs (Linux and macOS). */
export const libcSymbols = {
  poll: {
    parameters: [
      "buffer", // struct pollfd *fds
      "u64", // nfds_t nfds
      "i32", // int timeout (ms)
    ],
    result: "i32",
    nonblocking: true,
  },
  /** The same `poll()`, on the calling (main) thread: a short park with a timeout. */
  poll_here: {
    name: "poll",
    parameters: [
      "buffer", // struct pollfd *fds
      "u64", // nfds_t nfds
      "i32", // int timeout (ms)
    ],
    result: "i32",
  },
  pipe: {
    parameters: [
      "buffer", // int pipefd[2]
    ],
    result: "i32",
  },
  write: {
    parameters: [
      "i32", // int fd
      "buffer", // const void *buf
      "usize", // size_t count
    ],
    result: "isize",
  },
  read: {
    parameters: [
      "i32", // int fd
      "buffer", // void *buf
      "usize", // size_t count
    ],
    result: "isize",
  },
  close: {
    parameters: [
      "i32", // int fd
    ],
    result: "i32",
  },
  sched_yield: { parameters: [], result: "i32" },
  memcpy: {
    parameters: [
      "buffer", // void *dest
      "pointer", // const void *src
      "usize", // size_t n
    ],
    result: "pointer",
  },
  fcntl: {
    parameters: [
      "i32", // int fd
      "i32", // int cmd
      "i32", // int arg (O_NONBLOCK for F_SETFL)
    ],
    result: "i32",
  },
  /** For memory that a call in flight on a pool thread may outlive its runtime with. */
  malloc: {
    parameters: [
      "usize", // size_t size
    ],
    result: "pointer", // void *, or NULL
  },
  free: {
    parameters: [
      "pointer", // void *ptr
    ],
    result: "void",
  },
  /** To pin libzmq in memory; in libc since glibc 2.34 (in libdl before: then not pinned). */
  dlopen: {
    parameters: [
      "buffer", // const char *filename
      "i32", // int flags
    ],
    result: "pointer", // void * (a handle, never closed), or NULL
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;
