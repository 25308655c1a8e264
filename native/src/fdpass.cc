// Passing fds over Unix sockets with SCM_RIGHTS (issue 4): the OCI console
// socket, where the runtime sends the pty master with the pts name as payload.
// And waitFd, a readiness wait on the libuv loop for fds no Node handle watches
// (the console socket, the pty's write side).
//
// Every call but waitFd is synchronous and does not wait for the peer: a connect
// to a Unix socket returns at once (unless its listener's backlog is full), one
// small sendmsg fits the socket buffer, and accepting and receiving return null
// when nothing is there yet. Every received fd is CLOEXEC
// and owned by the caller.
#include "addon.h"

#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

namespace nsinit {
namespace {

constexpr size_t kDefaultMaxPayload = 4096;
constexpr size_t kMaxPayload = 65536;

// A sockaddr_un for `path`; ENAMETOOLONG when it does not fit (108 bytes with the NUL).
socklen_t UnixAddress(Napi::Env env, const std::string& path, struct sockaddr_un* addr, const char* fn, const char* syscall) {
  if (path.empty() || path.find('\0') != std::string::npos) {
    throw TypeError(env, std::string(fn) + ": options.path must be a non-empty path without NUL bytes");
  }
  if (path.size() >= sizeof addr->sun_path) {
    throw SystemError(env, ENAMETOOLONG, syscall,
                      "socket path \"" + path + "\" is " + std::to_string(path.size()) + " bytes; a Unix socket path holds at most " +
                          std::to_string(sizeof addr->sun_path - 1) + " (use a shorter path, e.g. relative to a nearby directory)");
  }
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  memcpy(addr->sun_path, path.data(), path.size());
  return static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size() + 1);
}

std::string PathOption(Napi::Object options, const char* fn) {
  Napi::Value value = options.Get("path");
  if (!value.IsString()) throw TypeError(options.Env(), std::string(fn) + ": options.path must be a string");
  return value.As<Napi::String>().Utf8Value();
}

// connectUnixSocket({ path }) -> fd: a blocking, CLOEXEC SOCK_STREAM socket connected to path.
Napi::Value ConnectUnixSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "connectUnixSocket");
  std::string path = PathOption(options, "connectUnixSocket");
  struct sockaddr_un addr;
  socklen_t len = UnixAddress(env, path, &addr, "connectUnixSocket", "connect");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SystemError(env, errno, "socket", path);
  int rc;
  do {
    rc = connect(fd, reinterpret_cast<struct sockaddr*>(&addr), len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    close(fd);
    throw SystemError(env, err, "connect", path);
  }
  return Napi::Number::New(env, fd);
}

// listenUnixSocket({ path, backlog? }) -> fd: a non-blocking, CLOEXEC listening socket
// bound to path (which must not exist yet; the caller removes it when done).
Napi::Value ListenUnixSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "listenUnixSocket");
  std::string path = PathOption(options, "listenUnixSocket");
  int backlog = 16;
  Napi::Value backlog_value = options.Get("backlog");
  if (!backlog_value.IsUndefined()) {
    if (!backlog_value.IsNumber()) throw TypeError(env, "listenUnixSocket: options.backlog must be a number");
    backlog = backlog_value.As<Napi::Number>().Int32Value();
    if (backlog < 1) throw TypeError(env, "listenUnixSocket: options.backlog must be at least 1");
  }
  struct sockaddr_un addr;
  socklen_t len = UnixAddress(env, path, &addr, "listenUnixSocket", "bind");
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw SystemError(env, errno, "socket", path);
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), len) != 0) {
    int err = errno;
    close(fd);
    throw SystemError(env, err, "bind", path);
  }
  if (listen(fd, backlog) != 0) {
    int err = errno;
    close(fd);
    unlink(path.c_str());
    throw SystemError(env, err, "listen", path);
  }
  return Napi::Number::New(env, fd);
}

// sendFd({ socket, fd, payload }): one sendmsg carrying `fd` (SCM_RIGHTS) and the payload
// bytes; a stream socket needs at least one byte of data to carry the fd.
Napi::Value SendFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "sendFd");
  int socket_fd = FdOption(options, "socket", "sendFd");
  int fd = FdOption(options, "fd", "sendFd");
  Napi::Value payload_value = options.Get("payload");
  std::string payload;
  if (payload_value.IsString()) {
    payload = payload_value.As<Napi::String>().Utf8Value();
  } else if (payload_value.IsTypedArray() && payload_value.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    Napi::Uint8Array bytes = payload_value.As<Napi::Uint8Array>();
    payload.assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
  } else {
    throw TypeError(env, "sendFd: options.payload must be a string or a Uint8Array");
  }
  if (payload.empty() || payload.size() > kMaxPayload) {
    throw TypeError(env, "sendFd: options.payload must hold 1 to " + std::to_string(kMaxPayload) + " bytes");
  }

  struct iovec iov {};
  iov.iov_base = payload.data();
  iov.iov_len = payload.size();
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);

  ssize_t sent;
  do {
    sent = sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw SystemError(env, errno, "sendmsg", "send fd " + std::to_string(fd) + " over socket fd " + std::to_string(socket_fd));
  // The fd travels with the first byte; the rest of a short write is plain data.
  size_t done = static_cast<size_t>(sent);
  while (done < payload.size()) {
    ssize_t n = send(socket_fd, payload.data() + done, payload.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw SystemError(env, errno, "send", "the rest of the payload over socket fd " + std::to_string(socket_fd));
    done += static_cast<size_t>(n);
  }
  return env.Undefined();
}

// Receiving and accepting without blocking: null when nothing is there yet (wait
// with waitFd, then try again).

// receiveFd({ socket, maxPayloadBytes? }) -> { fd, payload } | null.
Napi::Value ReceiveFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "receiveFd");
  int socket_fd = FdOption(options, "socket", "receiveFd");
  size_t max_payload = kDefaultMaxPayload;
  if (!options.Get("maxPayloadBytes").IsUndefined()) {
    max_payload = static_cast<size_t>(IntegerOption(options, "maxPayloadBytes", "receiveFd", 1, kMaxPayload));
  }

  std::vector<char> payload(max_payload);
  struct iovec iov {};
  iov.iov_base = payload.data();
  iov.iov_len = payload.size();
  // Room for more fds than we accept, so a sender that passes several is detected
  // (and every one of them closed) rather than silently truncated.
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return env.Null();
  if (n < 0) throw SystemError(env, errno, "recvmsg", "socket fd " + std::to_string(socket_fd));

  std::vector<int> received;
  for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof fd);
      received.push_back(fd);
    }
  }
  auto fail = [&](int err, const std::string& context) {
    for (int fd : received) close(fd);
    return SystemError(env, err, "recvmsg", context);
  };
  if (msg.msg_flags & MSG_CTRUNC) throw fail(EBADMSG, "the message carried more file descriptors than fit; all were closed");
  if (n == 0 && received.empty()) throw fail(ENOMSG, "the peer closed the connection without sending a file descriptor");
  if (received.empty()) throw fail(ENOMSG, "a message of " + std::to_string(n) + " bytes arrived without a file descriptor");
  if (received.size() > 1) {
    throw fail(EBADMSG, "the message carried " + std::to_string(received.size()) + " file descriptors, expected one; all were closed");
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("fd", Napi::Number::New(env, received[0]));
  result.Set("payload", Napi::Buffer<char>::Copy(env, payload.data(), static_cast<size_t>(n)));
  return result;
}

// acceptUnixSocket({ socket }) -> fd | null: the next connection on a non-blocking listening
// socket, CLOEXEC and blocking; null when none is waiting.
Napi::Value AcceptUnixSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "acceptUnixSocket");
  int socket_fd = FdOption(options, "socket", "acceptUnixSocket");
  int fd;
  do {
    fd = accept4(socket_fd, nullptr, nullptr, SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  // ECONNABORTED: the client gave up before we accepted; there may be others.
  if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)) return env.Null();
  if (fd < 0) throw SystemError(env, errno, "accept4", "socket fd " + std::to_string(socket_fd));
  return Napi::Number::New(env, fd);
}

// ---------------------------------------------------------------------------
// waitFd: one readiness wait on this environment's libuv loop (uv_poll), for fds no
// Node handle watches. libuv allows one watcher per fd and loop, so at most one wait
// per fd is pending; cancelWaitFd ends it (the promise resolves false) and must come
// before the fd is closed.

struct FdWait {
  uv_poll_t poll;
  napi_env env;
  napi_deferred deferred;
  napi_async_context async_context;
  int fd;
};

// Pending waits of this thread's environment, by fd.
thread_local std::map<int, FdWait*> pending_waits;

void OnEnvTeardown(void* arg);

// Stops watching and forgets the wait; the struct itself is freed on the next loop turn
// (uv_close), so the caller may still settle its promise.
void ReleaseFdWait(FdWait* wait) {
  auto found = pending_waits.find(wait->fd);
  if (found != pending_waits.end() && found->second == wait) pending_waits.erase(found);
  napi_remove_env_cleanup_hook(wait->env, OnEnvTeardown, wait);
  uv_close(reinterpret_cast<uv_handle_t*>(&wait->poll),
           [](uv_handle_t* handle) { delete static_cast<FdWait*>(handle->data); });
}

void OnEnvTeardown(void* arg) {
  FdWait* wait = static_cast<FdWait*>(arg);
  ReleaseFdWait(wait);
  napi_async_destroy(wait->env, wait->async_context);
}

void OnFdReady(uv_poll_t* handle, int status, int /*events*/) {
  FdWait* wait = static_cast<FdWait*>(handle->data);
  // Released before JavaScript runs: a continuation may close the fd, or wait on it again.
  ReleaseFdWait(wait);
  Napi::Env env(wait->env);
  {
    Napi::HandleScope scope(env);
    napi_callback_scope callback_scope;
    napi_value resource = Napi::Object::New(env);
    napi_open_callback_scope(env, resource, wait->async_context, &callback_scope);
    if (status < 0) {
      napi_reject_deferred(env, wait->deferred, SystemError(env, -status, "uv_poll", "fd " + std::to_string(wait->fd)).Value());
    } else {
      napi_resolve_deferred(env, wait->deferred, Napi::Boolean::New(env, true));
    }
    napi_close_callback_scope(env, callback_scope);
  }
  napi_async_destroy(wait->env, wait->async_context);
}

// waitFd({ fd, events: 'readable' | 'writable' }) -> Promise<boolean>: true once the fd is
// ready (or hung up: the next read or write says how), false when cancelled.
Napi::Value WaitFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "waitFd");
  int fd = FdOption(options, "fd", "waitFd");
  Napi::Value events_value = options.Get("events");
  std::string events = events_value.IsString() ? events_value.As<Napi::String>().Utf8Value() : "";
  int uv_events;
  if (events == "readable") uv_events = UV_READABLE | UV_DISCONNECT;
  else if (events == "writable") uv_events = UV_WRITABLE | UV_DISCONNECT;
  else throw TypeError(env, "waitFd: options.events must be 'readable' or 'writable'");
  if (pending_waits.count(fd) != 0) {
    throw SystemError(env, EBUSY, "waitFd", "fd " + std::to_string(fd) + " already has a pending wait");
  }

  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  FdWait* wait = new FdWait{};
  int rc = uv_poll_init(loop, &wait->poll, fd);
  if (rc != 0) {
    delete wait;
    throw SystemError(env, -rc, "uv_poll_init", "fd " + std::to_string(fd));
  }
  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);
  wait->env = env;
  wait->deferred = deferred;
  wait->fd = fd;
  wait->poll.data = wait;
  napi_async_init(env, nullptr, Napi::String::New(env, "nsinit:waitFd"), &wait->async_context);
  napi_add_env_cleanup_hook(env, OnEnvTeardown, wait);
  pending_waits[fd] = wait;
  rc = uv_poll_start(&wait->poll, uv_events, OnFdReady);
  if (rc != 0) {
    ReleaseFdWait(wait);
    napi_async_destroy(env, wait->async_context);
    napi_reject_deferred(env, deferred, SystemError(env, -rc, "uv_poll_start", "fd " + std::to_string(fd)).Value());
  }
  return Napi::Value(env, promise);
}

// cancelWaitFd({ fd }) -> boolean: ends the pending wait on fd (its promise resolves false);
// false when there was none.
Napi::Value CancelWaitFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "cancelWaitFd");
  int fd = FdOption(options, "fd", "cancelWaitFd");
  auto found = pending_waits.find(fd);
  if (found == pending_waits.end()) return Napi::Boolean::New(env, false);
  FdWait* wait = found->second;
  ReleaseFdWait(wait);
  napi_resolve_deferred(env, wait->deferred, Napi::Boolean::New(env, false));
  napi_async_destroy(env, wait->async_context);
  return Napi::Boolean::New(env, true);
}

}  // namespace

void RegisterFdPassing(Napi::Env env, Napi::Object exports) {
  exports.Set("connectUnixSocket", Napi::Function::New(env, ConnectUnixSocket, "connectUnixSocket"));
  exports.Set("listenUnixSocket", Napi::Function::New(env, ListenUnixSocket, "listenUnixSocket"));
  exports.Set("acceptUnixSocket", Napi::Function::New(env, AcceptUnixSocket, "acceptUnixSocket"));
  exports.Set("sendFd", Napi::Function::New(env, SendFd, "sendFd"));
  exports.Set("receiveFd", Napi::Function::New(env, ReceiveFd, "receiveFd"));
  exports.Set("waitFd", Napi::Function::New(env, WaitFd, "waitFd"));
  exports.Set("cancelWaitFd", Napi::Function::New(env, CancelWaitFd, "cancelWaitFd"));
}

}  // namespace nsinit
