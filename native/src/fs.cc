// Opening paths with the kernel's own resolution controls (openat2, Linux 5.6): a path
// inside a tree someone else may write — a container's rootfs — is resolved by the
// kernel in one step (RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, ...), so no component can
// be swapped between a walk in user space and the open. Which flags to use is policy,
// chosen in TypeScript; this file only makes the call. Every fd it returns is CLOEXEC
// and owned by the caller.
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace nsinit {
namespace {

std::string DirfdDescription(int dirfd) {
  return dirfd == AT_FDCWD ? "the current directory" : "fd " + std::to_string(dirfd);
}

// openat2({ dirfd, path, flags, mode?, resolve }) -> fd. O_CLOEXEC is always added: an fd
// that leaked into a child (a container, a helper) could reach whatever it names.
Napi::Value Openat2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "openat2");
  // AT_FDCWD is the one negative dirfd the kernel accepts.
  Napi::Value dirfd_value = options.Get("dirfd");
  int dirfd = dirfd_value.IsNumber() && dirfd_value.As<Napi::Number>().DoubleValue() == AT_FDCWD
                  ? AT_FDCWD
                  : FdOption(options, "dirfd", "openat2");
  Napi::Value path_value = options.Get("path");
  if (!path_value.IsString()) throw TypeError(env, "openat2: options.path must be a string");
  std::string path = path_value.As<Napi::String>().Utf8Value();
  if (path.find('\0') != std::string::npos) throw TypeError(env, "openat2: options.path contains a NUL byte");

  struct open_how how {};
  how.flags = static_cast<uint64_t>(IntegerOption(options, "flags", "openat2", 0, UINT32_MAX)) | O_CLOEXEC;
  how.mode = options.Get("mode").IsUndefined() ? 0 : static_cast<uint64_t>(IntegerOption(options, "mode", "openat2", 0, 07777));
  how.resolve = static_cast<uint64_t>(IntegerOption(options, "resolve", "openat2", 0, UINT32_MAX));

  long fd;
  do {
    fd = syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    std::string context = "\"" + path + "\" from " + DirfdDescription(dirfd);
    if (err == ENOSYS) context += " (openat2 needs Linux 5.6 or newer)";
    Napi::Error error = SystemError(env, err, "openat2", context);
    error.Set("path", path);
    throw error;
  }
  return Napi::Number::New(env, static_cast<int>(fd));
}

// mkfifo({ path, mode }): a FIFO at an absolute path (the exec FIFO of a created container,
// which `start` opens from another process). Node has no mkfifo. An existing path fails (EEXIST).
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "mkfifo");
  Napi::Value path_value = options.Get("path");
  if (!path_value.IsString()) throw TypeError(env, "mkfifo: options.path must be a string");
  std::string path = path_value.As<Napi::String>().Utf8Value();
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos)
    throw TypeError(env, "mkfifo: options.path must be an absolute path without NUL bytes");
  auto mode = static_cast<mode_t>(IntegerOption(options, "mode", "mkfifo", 0, 07777));
  if (mknodat(AT_FDCWD, path.c_str(), S_IFIFO | mode, 0) != 0) {
    Napi::Error error = SystemError(env, errno, "mkfifo", "\"" + path + "\"");
    error.Set("path", path);
    throw error;
  }
  return env.Undefined();
}

// mountDetached({ fstype, options, attrSet }) -> fd: a new filesystem mounted nowhere (fsopen,
// fsconfig option by option — "key=value" as a string, "key" as a flag —, fsmount with the
// MOUNT_ATTR_* bits), for a child in a new mount namespace to attach (move_mount) where its
// program says: the console's devpts, made here so that the console is a pty of the container's
// own devpts. The caller owns the fd (CLOEXEC).
Napi::Value MountDetached(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "mountDetached");
  Napi::Value fstype_value = options.Get("fstype");
  if (!fstype_value.IsString()) throw TypeError(env, "mountDetached: options.fstype must be a string");
  std::string fstype = fstype_value.As<Napi::String>().Utf8Value();
  Napi::Value list = options.Get("options");
  if (!list.IsArray()) throw TypeError(env, "mountDetached: options.options must be an array of strings");
  auto attrs = static_cast<unsigned int>(IntegerOption(options, "attrSet", "mountDetached", 0, UINT32_MAX));

  int fs = static_cast<int>(syscall(SYS_fsopen, fstype.c_str(), FSOPEN_CLOEXEC));
  if (fs < 0) throw SystemError(env, errno, "fsopen", fstype);
  auto fail = [&](const char* call, const std::string& what) -> Napi::Error {
    int err = errno;
    close(fs);
    return SystemError(env, err, call, fstype + " " + what);
  };
  Napi::Array array = list.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) {
      close(fs);
      throw TypeError(env, "mountDetached: options.options must be an array of strings");
    }
    std::string option = item.As<Napi::String>().Utf8Value();
    size_t equals = option.find('=');
    long rc = equals == std::string::npos
                  ? syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, option.c_str(), nullptr, 0)
                  : syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, option.substr(0, equals).c_str(),
                            option.substr(equals + 1).c_str(), 0);
    if (rc < 0) throw fail("fsconfig", "option \"" + option + "\"");
  }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) throw fail("fsconfig", "create");
  int mount = static_cast<int>(syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs));
  if (mount < 0) throw fail("fsmount", "mount");
  close(fs);
  return Napi::Number::New(env, mount);
}

}  // namespace

void RegisterFs(Napi::Env env, Napi::Object exports) {
  exports.Set("openat2", Napi::Function::New(env, Openat2, "openat2"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("mountDetached", Napi::Function::New(env, MountDetached, "mountDetached"));
}

}  // namespace nsinit
