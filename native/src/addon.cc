// @nsinit/native: the few syscalls Node cannot make, exposed as generic functions.
// Policy (what to spawn, with which fds and namespaces) lives in TypeScript; this
// file owns no JavaScript state between calls, and every fd it opens is either
// returned to the caller (who then owns it) or closed before returning.

#include "addon.h"

#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

// clone3 with a function to run on a new stack, like glibc's internal __clone3 (not
// exported). With CLONE_VM the child shares our memory, so the kernel copies no page
// tables: the cost of a spawn no longer grows with the size of the JavaScript heap.
// The child starts on `args->stack` and calls fn(arg), then exits with its result. Returns
// the child's pid, or -errno (the raw syscall's result: errno is not set).
extern "C" long nsinit_clone3(struct clone_args* args, size_t size, int (*fn)(void*), void* arg);
#if defined(__x86_64__)
#define NSINIT_HAVE_CLONE3_FN 1
asm(R"(
    .text
    .globl nsinit_clone3
    .hidden nsinit_clone3
    .type nsinit_clone3, @function
nsinit_clone3:
    mov %rdx, %r8
    mov %rcx, %r9
    mov $435, %eax
    syscall
    test %rax, %rax
    jz 1f
    ret
1:
    xor %ebp, %ebp
    mov %r9, %rdi
    call *%r8
    mov %eax, %edi
    mov $60, %eax
    syscall
    hlt
    .size nsinit_clone3, .-nsinit_clone3
)");
#elif defined(__aarch64__)
#define NSINIT_HAVE_CLONE3_FN 1
asm(R"(
    .text
    .globl nsinit_clone3
    .hidden nsinit_clone3
    .type nsinit_clone3, %function
nsinit_clone3:
    mov x10, x2
    mov x11, x3
    mov x8, #435
    svc #0
    cbz x0, 1f
    ret
1:
    mov x29, xzr
    mov x0, x11
    blr x10
    mov x8, #93
    svc #0
    .size nsinit_clone3, .-nsinit_clone3
)");
#endif

namespace nsinit {
namespace {

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// ---------------------------------------------------------------------------
// spawn: clone3 into new namespaces, place fds, execveat the sealed helper.

struct FdPlacement {
  int from;
  int to;
};

// What the child reports through the CLOEXEC report pipe when it fails before
// (or at) execveat. A successful execveat closes the pipe: the parent reads EOF.
struct ChildFailure {
  int32_t step;
  int32_t err;
};

enum ChildStep : int32_t {
  kStepParentDeathSignal = 1,
  kStepDupHigh = 2,
  kStepPlaceFd = 3,
  kStepCloseRange = 4,
  kStepExecveat = 5,
};

const char* ChildStepName(int32_t step) {
  switch (step) {
    case kStepParentDeathSignal: return "prctl(PR_SET_PDEATHSIG)";
    case kStepDupHigh: return "fcntl(F_DUPFD_CLOEXEC)";
    case kStepPlaceFd: return "dup2";
    case kStepCloseRange: return "close_range";
    case kStepExecveat: return "execveat";
    default: return "child setup";
  }
}

// Everything the child touches is prepared before clone3: between clone3 and
// execveat the child of a multithreaded process may only make raw syscalls.
struct ChildPlan {
  int helper_fd;
  int report_fd;
  int first_free;  // every fd the child duplicates goes at or above this number
  int parent_death_signal;
  std::vector<FdPlacement> placements;
  std::vector<int> staged;          // one slot per placement
  std::vector<char> is_target;      // indexed by fd number < first_free
  char** argv;
  char** envp;
};

[[noreturn]] void ChildFail(int report_fd, int32_t step) {
  ChildFailure failure{step, errno};
  ssize_t ignored = write(report_fd, &failure, sizeof failure);
  (void)ignored;
  _exit(127);
}

[[noreturn]] void RunChild(ChildPlan& plan) {
  int report = fcntl(plan.report_fd, F_DUPFD_CLOEXEC, plan.first_free);
  if (report < 0) _exit(127);

  if (plan.parent_death_signal != 0) {
    // In a new pid namespace getppid() is 0 whether or not the parent lives, so
    // only a change across the prctl tells that the parent died in between.
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, plan.parent_death_signal) != 0) ChildFail(report, kStepParentDeathSignal);
    if (getppid() != parent) {
      errno = ESRCH;
      ChildFail(report, kStepParentDeathSignal);
    }
  }

  // Stage every source above all targets first, so placing one fd can never
  // clobber a source that is still to be placed (or the helper itself).
  for (size_t i = 0; i < plan.placements.size(); i++) {
    plan.staged[i] = fcntl(plan.placements[i].from, F_DUPFD_CLOEXEC, plan.first_free);
    if (plan.staged[i] < 0) ChildFail(report, kStepDupHigh);
  }
  int helper = fcntl(plan.helper_fd, F_DUPFD_CLOEXEC, plan.first_free);
  if (helper < 0) ChildFail(report, kStepDupHigh);

  // dup2 onto a different number always yields a descriptor without CLOEXEC.
  for (size_t i = 0; i < plan.placements.size(); i++) {
    if (dup2(plan.staged[i], plan.placements[i].to) < 0) ChildFail(report, kStepPlaceFd);
  }

  // Nothing below first_free survives unless it was placed there.
  int run_start = -1;
  for (int fd = 0; fd <= plan.first_free; fd++) {
    bool keep = fd == plan.first_free || plan.is_target[fd];
    if (!keep && run_start < 0) run_start = fd;
    if (keep && run_start >= 0) {
      if (syscall(SYS_close_range, run_start, fd - 1, 0) != 0) ChildFail(report, kStepCloseRange);
      run_start = -1;
    }
  }
  // Everything above (the staged copies, the helper, whatever Node had open) closes at exec.
  if (syscall(SYS_close_range, plan.first_free, ~0U, CLOSE_RANGE_CLOEXEC) != 0) ChildFail(report, kStepCloseRange);

  syscall(SYS_execveat, helper, "", plan.argv, plan.envp, AT_EMPTY_PATH);
  ChildFail(report, kStepExecveat);
}

#ifdef NSINIT_HAVE_CLONE3_FN
int ChildMain(void* plan) {
  RunChild(*static_cast<ChildPlan*>(plan));
}
#endif

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "spawn");

  int helper_fd = FdOption(options, "helperFd", "spawn");
  std::vector<std::string> argv_storage = StringArrayOption(options, "argv", "spawn");
  std::vector<std::string> env_storage = StringArrayOption(options, "env", "spawn");
  if (argv_storage.empty()) throw TypeError(env, "spawn: options.argv must not be empty");

  Napi::Value flags_value = options.Get("cloneFlags");
  if (!flags_value.IsNumber()) throw TypeError(env, "spawn: options.cloneFlags must be a number");
  int64_t clone_flags = flags_value.As<Napi::Number>().Int64Value();
  const int64_t kAllowedFlags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET |
                                CLONE_NEWUSER | CLONE_NEWCGROUP | CLONE_NEWTIME;
  if (clone_flags < 0 || (clone_flags & ~kAllowedFlags) != 0) {
    throw TypeError(env, "spawn: options.cloneFlags may only hold CLONE_NEW* namespace flags");
  }

  int cgroup_fd = -1;
  if (!options.Get("cgroupFd").IsUndefined()) cgroup_fd = FdOption(options, "cgroupFd", "spawn");

  int parent_death_signal = 0;
  Napi::Value pdeath = options.Get("parentDeathSignal");
  if (!pdeath.IsUndefined()) {
    if (!pdeath.IsNumber()) throw TypeError(env, "spawn: options.parentDeathSignal must be a signal number");
    parent_death_signal = pdeath.As<Napi::Number>().Int32Value();
    if (parent_death_signal < 0 || parent_death_signal >= NSIG) throw TypeError(env, "spawn: options.parentDeathSignal is out of range");
  }

  ChildPlan plan{};
  plan.helper_fd = helper_fd;
  plan.parent_death_signal = parent_death_signal;
  int highest = std::max(helper_fd, 2);

  Napi::Value fds_value = options.Get("fds");
  if (!fds_value.IsArray()) throw TypeError(env, "spawn: options.fds must be an array of { from, to }");
  Napi::Array fds = fds_value.As<Napi::Array>();
  std::set<int> targets;
  for (uint32_t i = 0; i < fds.Length(); i++) {
    Napi::Value item = fds.Get(i);
    if (!item.IsObject()) throw TypeError(env, "spawn: options.fds[" + std::to_string(i) + "] must be { from, to }");
    Napi::Object placement = item.As<Napi::Object>();
    int from = FdOption(placement, "from", "spawn");
    int to = FdOption(placement, "to", "spawn");
    if (to > 65535) throw TypeError(env, "spawn: options.fds[" + std::to_string(i) + "].to is above 65535");
    if (!targets.insert(to).second) throw TypeError(env, "spawn: fd " + std::to_string(to) + " is the target of two placements");
    plan.placements.push_back({from, to});
    highest = std::max({highest, from, to});
  }
  plan.first_free = highest + 1;
  plan.staged.assign(plan.placements.size(), -1);
  plan.is_target.assign(plan.first_free + 1, 0);
  for (int to : targets) plan.is_target[to] = 1;

  std::vector<char*> argv = NullTerminated(argv_storage);
  std::vector<char*> envp = NullTerminated(env_storage);
  plan.argv = argv.data();
  plan.envp = envp.data();

  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) throw SystemError(env, errno, "pipe2");
  plan.report_fd = report[1];

  int pidfd = -1;
  struct clone_args args {};
  // CLONE_VFORK: this thread resumes once the child has exec'd the helper (or
  // failed), so the report pipe below is complete when we read it.
  args.flags = static_cast<uint64_t>(clone_flags) | CLONE_PIDFD | CLONE_VFORK;
  args.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }

  // Block every signal across clone3: a Node signal handler running in the
  // child would write into the parent's libuv signal pipe. The helper starts
  // with all signals blocked and unblocks them right before its final exec.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
#ifdef NSINIT_HAVE_CLONE3_FN
  // The child runs on this array while this thread waits (CLONE_VFORK): it uses only a
  // few frames of raw syscalls, and the memory it touches (the plan) was set up above.
  alignas(16) char child_stack[32 * 1024];
  args.flags |= CLONE_VM;
  args.stack = reinterpret_cast<uintptr_t>(child_stack);
  args.stack_size = sizeof child_stack;
  // A raw syscall: a failure comes back as -errno, and errno is whatever was left in it.
  long pid = nsinit_clone3(&args, sizeof args, ChildMain, &plan);
  int clone_errno = pid < 0 ? static_cast<int>(-pid) : 0;
#else
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) RunChild(plan);
  int clone_errno = errno;
#endif
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  close(report[1]);

  if (pid < 0) {
    close(report[0]);
    throw SystemError(env, clone_errno, "clone3");
  }

  ChildFailure failure{};
  ssize_t n;
  do {
    n = read(report[0], &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    siginfo_t ignored{};
    waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &ignored, WEXITED);
    close(pidfd);
    throw SystemError(env, failure.err, ChildStepName(failure.step), "starting the init helper");
  }

  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, static_cast<double>(pid)));
  result.Set("pidfd", Napi::Number::New(env, pidfd));
  return result;
}

// ---------------------------------------------------------------------------
// waitExit: watch a pidfd on this environment's libuv loop, then reap with waitid.

struct ExitWatch;

// Per-environment bookkeeping so pending watches are closed when a worker
// thread's environment is torn down.
struct AddonData {
  std::set<ExitWatch*> watches;
};

struct ExitWatch {
  uv_poll_t poll;
  napi_env env;
  napi_deferred deferred;
  napi_async_context async_context;
  int pidfd;
  AddonData* data;
};

Napi::Object ExitResult(Napi::Env env, const siginfo_t& info) {
  Napi::Object result = Napi::Object::New(env);
  if (info.si_code == CLD_EXITED) {
    result.Set("code", Napi::Number::New(env, info.si_status));
    result.Set("signal", env.Null());
    result.Set("status", Napi::Number::New(env, info.si_status));
  } else {
    result.Set("code", env.Null());
    result.Set("signal", Napi::Number::New(env, info.si_status));
    result.Set("status", Napi::Number::New(env, 128 + info.si_status));
    result.Set("coreDumped", Napi::Boolean::New(env, info.si_code == CLD_DUMPED));
  }
  return result;
}

void CloseWatch(ExitWatch* watch) {
  watch->data->watches.erase(watch);
  napi_async_destroy(watch->env, watch->async_context);
  uv_poll_stop(&watch->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll),
           [](uv_handle_t* handle) { delete reinterpret_cast<ExitWatch*>(handle->data); });
}

void OnPidfdReadable(uv_poll_t* handle, int status, int /*events*/) {
  ExitWatch* watch = reinterpret_cast<ExitWatch*>(handle->data);
  siginfo_t info{};
  int err = 0;
  if (status < 0) {
    err = -status;
  } else if (waitid(static_cast<idtype_t>(P_PIDFD), watch->pidfd, &info, WEXITED | WNOHANG) != 0) {
    err = errno;
  } else if (info.si_pid == 0) {
    return;  // not exited yet (spurious wakeup)
  }

  // Stop watching before JavaScript runs: a continuation may close this pidfd
  // and reuse its number for the next watch.
  uv_poll_stop(&watch->poll);
  Napi::Env env(watch->env);
  {
    Napi::HandleScope scope(env);
    napi_callback_scope callback_scope;
    napi_value resource = Napi::Object::New(env);
    napi_open_callback_scope(env, resource, watch->async_context, &callback_scope);
    if (err != 0) {
      napi_reject_deferred(env, watch->deferred, SystemError(env, err, "waitid").Value());
    } else {
      napi_resolve_deferred(env, watch->deferred, ExitResult(env, info));
    }
    napi_close_callback_scope(env, callback_scope);
  }
  CloseWatch(watch);
}

Napi::Value WaitExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "waitExit");
  int pidfd = FdOption(options, "pidfd", "waitExit");
  Napi::Value ref_value = options.Get("ref");
  if (!ref_value.IsUndefined() && !ref_value.IsBoolean()) throw TypeError(env, "waitExit: options.ref must be a boolean");
  bool ref = ref_value.IsUndefined() || ref_value.As<Napi::Boolean>().Value();

  napi_deferred deferred;
  napi_value promise;
  napi_create_promise(env, &deferred, &promise);

  siginfo_t exited{};
  if (waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &exited, WEXITED | WNOHANG) != 0) {
    napi_reject_deferred(env, deferred, SystemError(env, errno, "waitid").Value());
    return Napi::Value(env, promise);
  }
  if (exited.si_pid != 0) {
    napi_resolve_deferred(env, deferred, ExitResult(env, exited));
    return Napi::Value(env, promise);
  }

  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  ExitWatch* watch = new ExitWatch{};
  watch->env = env;
  watch->deferred = deferred;
  watch->pidfd = pidfd;
  watch->data = env.GetInstanceData<AddonData>();
  napi_async_init(env, nullptr, Napi::String::New(env, "nsinit:waitExit"), &watch->async_context);
  int rc = uv_poll_init(loop, &watch->poll, pidfd);
  if (rc == 0) {
    watch->poll.data = watch;
    rc = uv_poll_start(&watch->poll, UV_READABLE, OnPidfdReadable);
    if (rc != 0) {
      watch->data->watches.insert(watch);
      CloseWatch(watch);
    } else if (!ref) {
      // The process may outlive this one (a detached container): the watch reaps it if it
      // ends first, but never keeps this process alive for it.
      uv_unref(reinterpret_cast<uv_handle_t*>(&watch->poll));
    }
  } else {
    napi_async_destroy(env, watch->async_context);
    delete watch;
  }
  if (rc != 0) {
    napi_reject_deferred(env, deferred, SystemError(env, -rc, "uv_poll_start").Value());
    return Napi::Value(env, promise);
  }
  watch->data->watches.insert(watch);
  return Napi::Value(env, promise);
}

// cancelWaitExit({ pidfd }): stop the pending watch on pidfd without reaping. For a child this
// process hands on (a detached container, a detached exec): its exit status is for the
// subreaper that inherits it once we exit, and a watch of ours would take it. The wait's promise
// rejects with code ERR_NSINIT_WAIT_CANCELLED. False when no watch is pending on that fd.
Napi::Value CancelWaitExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "cancelWaitExit");
  int pidfd = FdOption(options, "pidfd", "cancelWaitExit");
  AddonData* data = env.GetInstanceData<AddonData>();
  for (ExitWatch* watch : data->watches) {
    if (watch->pidfd != pidfd) continue;
    Napi::Error error = Napi::Error::New(env, "the wait for the exit of pidfd " + std::to_string(pidfd) + " was cancelled");
    error.Set("code", Napi::String::New(env, "ERR_NSINIT_WAIT_CANCELLED"));
    napi_reject_deferred(env, watch->deferred, error.Value());
    CloseWatch(watch);
    return Napi::Boolean::New(env, true);
  }
  return Napi::Boolean::New(env, false);
}

// ---------------------------------------------------------------------------

Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "pidfdSendSignal");
  int pidfd = FdOption(options, "pidfd", "pidfdSendSignal");
  Napi::Value sig = options.Get("signal");
  if (!sig.IsNumber()) throw TypeError(env, "pidfdSendSignal: options.signal must be a signal number");
  int signal = sig.As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) != 0) {
    if (errno == ESRCH) return Napi::Boolean::New(env, false);
    throw SystemError(env, errno, "pidfd_send_signal");
  }
  return Napi::Boolean::New(env, true);
}

// pidfd_open(pid, 0): a pidfd of a process of this pid namespace, the caller's to close (the
// kernel makes every pidfd CLOEXEC). For a child this process did not spawn — the helper's
// CLONE_PARENT sibling — so that waitExit can watch and reap it like a spawned one: while it
// is an unreaped child of ours, its pid cannot be reused under the pidfd.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double value = info.Length() >= 1 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0.5;
  if (!(value >= 1 && value <= INT32_MAX) || value != static_cast<double>(static_cast<int32_t>(value))) {
    throw TypeError(env, "pidfdOpen: pid must be an integer from 1 to 2147483647");
  }
  int pid = static_cast<int>(value);
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) throw SystemError(env, errno, "pidfd_open", "pid " + std::to_string(pid));
  return Napi::Number::New(env, static_cast<int>(fd));
}

// A sealed memfd holding either a file's bytes or a buffer: the container can
// neither reach a host binary through it nor change what the next spawn runs.
Napi::Value CreateSealedMemfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "createSealedMemfd");
  Napi::Value name_value = options.Get("name");
  if (!name_value.IsString()) throw TypeError(env, "createSealedMemfd: options.name must be a string");
  std::string name = name_value.As<Napi::String>().Utf8Value();
  bool executable = options.Get("executable").ToBoolean().Value();
  Napi::Value path_value = options.Get("path");
  Napi::Value contents_value = options.Get("contents");
  if (path_value.IsString() == contents_value.IsBuffer()) {
    throw TypeError(env, "createSealedMemfd: give exactly one of options.path (string) or options.contents (Buffer)");
  }

  unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int fd = memfd_create(name.c_str(), flags | (executable ? MFD_EXEC : 0));
  if (fd < 0 && errno == EINVAL && executable) fd = memfd_create(name.c_str(), flags);  // kernels before 6.3
  if (fd < 0) throw SystemError(env, errno, "memfd_create", name);

  auto fail = [&](const char* syscall, const std::string& context) {
    int err = errno;
    close(fd);
    return SystemError(env, err, syscall, context);
  };

  if (path_value.IsString()) {
    std::string path = path_value.As<Napi::String>().Utf8Value();
    int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (src < 0) throw fail("open", path);
    struct stat st {};
    if (fstat(src, &st) != 0) {
      int err = errno;
      close(src);
      errno = err;
      throw fail("fstat", path);
    }
    off_t remaining = st.st_size;
    while (remaining > 0) {
      ssize_t n = sendfile(fd, src, nullptr, static_cast<size_t>(remaining));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n == 0 ? EIO : errno;
        close(src);
        errno = err;
        throw fail("sendfile", path);
      }
      remaining -= n;
    }
    close(src);
  } else {
    Napi::Buffer<uint8_t> contents = contents_value.As<Napi::Buffer<uint8_t>>();
    const uint8_t* data = contents.Data();
    size_t remaining = contents.Length();
    while (remaining > 0) {
      ssize_t n = write(fd, data, remaining);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n == 0) errno = EIO;
        throw fail("write", name);
      }
      data += n;
      remaining -= static_cast<size_t>(n);
    }
  }

  int seals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
  if (fcntl(fd, F_ADD_SEALS, seals | F_SEAL_EXEC) != 0 && (errno != EINVAL || fcntl(fd, F_ADD_SEALS, seals) != 0)) {
    throw fail("fcntl(F_ADD_SEALS)", name);
  }
  if (lseek(fd, 0, SEEK_SET) != 0) throw fail("lseek", name);
  return Napi::Number::New(env, fd);
}

Napi::Value PairResult(Napi::Env env, const int fds[2]) {
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, fds[0]));
  result.Set(1u, Napi::Number::New(env, fds[1]));
  return result;
}

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw SystemError(info.Env(), errno, "socketpair");
  return PairResult(info.Env(), fds);
}

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw SystemError(info.Env(), errno, "pipe2");
  return PairResult(info.Env(), fds);
}

Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "flock");
  int fd = FdOption(options, "fd", "flock");
  Napi::Value op_value = options.Get("operation");
  std::string op = op_value.IsString() ? op_value.As<Napi::String>().Utf8Value() : "";
  int operation;
  if (op == "exclusive") operation = LOCK_EX;
  else if (op == "shared") operation = LOCK_SH;
  else if (op == "unlock") operation = LOCK_UN;
  else throw TypeError(env, "flock: options.operation must be 'exclusive', 'shared' or 'unlock'");
  bool wait = options.Get("wait").ToBoolean().Value();
  if (!wait) operation |= LOCK_NB;
  int rc;
  do {
    rc = flock(fd, operation);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    throw SystemError(env, errno, "flock");
  }
  return Napi::Boolean::New(env, true);
}

}  // namespace

void RegisterProcess(Napi::Env env, Napi::Object exports) {
  AddonData* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  napi_add_env_cleanup_hook(
      env,
      [](void* arg) {
        AddonData* d = static_cast<AddonData*>(arg);
        std::vector<ExitWatch*> pending(d->watches.begin(), d->watches.end());
        for (ExitWatch* w : pending) CloseWatch(w);
      },
      data);

  exports.Set("spawn", Napi::Function::New(env, Spawn, "spawn"));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit, "waitExit"));
  exports.Set("cancelWaitExit", Napi::Function::New(env, CancelWaitExit, "cancelWaitExit"));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal, "pidfdSendSignal"));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("createSealedMemfd", Napi::Function::New(env, CreateSealedMemfd, "createSealedMemfd"));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
}


}  // namespace nsinit

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  nsinit::RegisterProcess(env, exports);
  nsinit::RegisterPty(env, exports);
  nsinit::RegisterFdPassing(env, exports);
  nsinit::RegisterNetlink(env, exports);
  nsinit::RegisterBpf(env, exports);
  nsinit::RegisterFs(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(nsinit, Init)
