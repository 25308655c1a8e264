// NETLINK_ROUTE sockets, optionally inside a network namespace (issue 6). Only the
// socket lives here: messages are encoded and decoded in TypeScript (@nsinit/network).
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NS_GET_NSTYPE
#define NS_GET_NSTYPE _IO(0xb7, 0x3)
#endif

namespace nsinit {
namespace {

struct SocketResult {
  int fd = -1;
  int err = 0;
  const char* syscall = nullptr;
};

SocketResult Failed(const char* syscall, int fd_to_close = -1) {
  SocketResult result;
  result.err = errno;
  result.syscall = syscall;
  if (fd_to_close >= 0) close(fd_to_close);
  return result;
}

// Opens the socket in the calling thread's network namespace, which it keeps for life.
SocketResult OpenRouteSocket() {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return Failed("socket");
  int on = 1;
  // Error replies then carry the kernel's reason ("Master is already set") and not the
  // whole request echoed back.
  if (setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on) != 0) return Failed("setsockopt(NETLINK_EXT_ACK)", fd);
  if (setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on) != 0) return Failed("setsockopt(NETLINK_CAP_ACK)", fd);
  struct sockaddr_nl local {};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&local), sizeof local) != 0) return Failed("bind", fd);
  return SocketResult{fd, 0, nullptr};
}

struct NamespaceJob {
  int netns_fd;
  SocketResult result;
};

void* OpenInNamespace(void* arg) {
  auto* job = static_cast<NamespaceJob*>(arg);
  if (setns(job->netns_fd, CLONE_NEWNET) != 0) {
    job->result = Failed("setns");
    return nullptr;
  }
  job->result = OpenRouteSocket();
  return nullptr;
}

// setns() must never run on a Node or libuv thread (it would move that thread for good),
// so a thread of our own joins the namespace, opens the socket and exits.
SocketResult OpenRouteSocketIn(int netns_fd) {
  NamespaceJob job{netns_fd, {}};
  sigset_t all, previous;
  sigfillset(&all);
  // The thread starts with every signal blocked: no handler of Node's runs inside the other namespace.
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_t thread;
  int err = pthread_create(&thread, nullptr, OpenInNamespace, &job);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (err != 0) {
    errno = err;
    return Failed("pthread_create");
  }
  pthread_join(thread, nullptr);
  return job.result;
}
// openRouteNetlink({ netnsFd?, pid? }) -> fd (CLOEXEC, owned by the caller).
Napi::Value OpenRouteNetlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "openRouteNetlink";
  Napi::Object options = info.Length() == 0 || info[0].IsUndefined() ? Napi::Object::New(env) : OptionsArg(info, fn);
  bool has_fd = !options.Get("netnsFd").IsUndefined();
  bool has_pid = !options.Get("pid").IsUndefined();
  if (has_fd && has_pid) throw TypeError(env, std::string(fn) + ": give options.netnsFd or options.pid, not both");

  SocketResult result;
  std::string where;
  if (has_fd) {
    int netns_fd = FdOption(options, "netnsFd", fn);
    where = "network namespace fd " + std::to_string(netns_fd);
    result = OpenRouteSocketIn(netns_fd);
  } else if (has_pid) {
    int pid = static_cast<int>(IntegerOption(options, "pid", fn, 1, INT32_MAX));
    where = "/proc/" + std::to_string(pid) + "/ns/net";
    int netns_fd = open(where.c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) throw SystemError(env, errno, "open", where);
    result = OpenRouteSocketIn(netns_fd);
    close(netns_fd);
  } else {
    where = "this process's network namespace";
    result = OpenRouteSocket();
  }
  if (result.fd < 0) throw SystemError(env, result.err, result.syscall, "opening a NETLINK_ROUTE socket in " + where);
  return Napi::Number::New(env, result.fd);
}

// netlinkSend({ fd, data }): one datagram to the kernel.
Napi::Value NetlinkSend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "netlinkSend";
  Napi::Object options = OptionsArg(info, fn);
  int fd = FdOption(options, "fd", fn);
  Napi::Value data_value = options.Get("data");
  if (!data_value.IsTypedArray() || data_value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw TypeError(env, std::string(fn) + ": options.data must be a Uint8Array");
  }
  Napi::Uint8Array data = data_value.As<Napi::Uint8Array>();
  struct sockaddr_nl kernel {};
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do {
    sent = sendto(fd, data.Data(), data.ByteLength(), 0, reinterpret_cast<struct sockaddr*>(&kernel), sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw SystemError(env, errno, "sendto", "netlink fd " + std::to_string(fd));
  // A netlink datagram is taken whole or refused; this only guards the assumption.
  if (static_cast<size_t>(sent) != data.ByteLength()) throw SystemError(env, EMSGSIZE, "sendto", "short netlink send");
  return env.Undefined();
}

// netlinkReceive({ fd, timeoutMs }) -> one whole datagram (possibly several messages).
Napi::Value NetlinkReceive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "netlinkReceive";
  Napi::Object options = OptionsArg(info, fn);
  int fd = FdOption(options, "fd", fn);
  int timeout_ms = static_cast<int>(IntegerOption(options, "timeoutMs", fn, 1, INT32_MAX));

  struct pollfd pfd {fd, POLLIN, 0};
  int ready;
  do {
    ready = poll(&pfd, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) throw SystemError(env, errno, "poll", "netlink fd " + std::to_string(fd));
  if (ready == 0) {
    throw SystemError(env, ETIMEDOUT, "poll", "no netlink reply within " + std::to_string(timeout_ms) + " ms");
  }
  // Peek at the datagram's real size first, so a large dump part is never truncated.
  ssize_t size;
  do {
    size = recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
  } while (size < 0 && errno == EINTR);
  if (size < 0) throw SystemError(env, errno, "recv", "netlink fd " + std::to_string(fd));
  Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::New(env, static_cast<size_t>(size));
  ssize_t received;
  do {
    received = recv(fd, buffer.Data(), buffer.Length(), MSG_DONTWAIT);
  } while (received < 0 && errno == EINTR);
  if (received < 0) throw SystemError(env, errno, "recv", "netlink fd " + std::to_string(fd));
  if (received != size) throw SystemError(env, EMSGSIZE, "recv", "netlink datagram changed size between peek and read");
  return buffer;
}

// namespaceType({ fd }) -> the CLONE_NEW* flag of a namespace fd (/proc/<pid>/ns/*, /run/netns/*).
Napi::Value NamespaceType(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "namespaceType";
  Napi::Object options = OptionsArg(info, fn);
  int fd = FdOption(options, "fd", fn);
  int type = ioctl(fd, NS_GET_NSTYPE);
  if (type < 0) throw SystemError(env, errno, "ioctl(NS_GET_NSTYPE)", "fd " + std::to_string(fd) + " is not a namespace");
  return Napi::Number::New(env, type);
}

}  // namespace

void RegisterNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("openRouteNetlink", Napi::Function::New(env, OpenRouteNetlink, "openRouteNetlink"));
  exports.Set("netlinkSend", Napi::Function::New(env, NetlinkSend, "netlinkSend"));
  exports.Set("netlinkReceive", Napi::Function::New(env, NetlinkReceive, "netlinkReceive"));
  exports.Set("namespaceType", Napi::Function::New(env, NamespaceType, "namespaceType"));
}

}  // namespace nsinit
