// Pty pairs, window sizes and termios, the fd flags a pty stream needs, and a
// detached mount of a console for a child in a new mount namespace (issue 4). Every call is synchronous and returns plain values; the fds it
// opens belong to the caller.
#include "addon.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace nsinit {
namespace {

const char kPtmx[] = "/dev/ptmx";

// An fd closed on scope exit unless released: every error path of openPty
// closes what it opened so far.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

int Ioctl(int fd, unsigned long request, void* arg) {
  int rc;
  do {
    rc = ioctl(fd, request, arg);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

void SetSize(Napi::Env env, int fd, unsigned short cols, unsigned short rows, const std::string& context) {
  struct winsize size {};
  size.ws_col = cols;
  size.ws_row = rows;
  if (Ioctl(fd, TIOCSWINSZ, &size) < 0) throw SystemError(env, errno, "ioctl(TIOCSWINSZ)", context);
}

// openPty({ cols?, rows? }) -> { master, slave, slaveName }; both ends blocking.
// The slave is opened through the master (TIOCGPTPEER), never by its path: a
// path under /dev/pts can be swapped for something else between the lookup and
// the open (CVE-2025-52565).
Napi::Value OpenPty(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = info.Length() == 0 || info[0].IsUndefined() ? Napi::Object::New(env) : OptionsArg(info, "openPty");
  bool has_cols = !options.Get("cols").IsUndefined();
  bool has_rows = !options.Get("rows").IsUndefined();
  if (has_cols != has_rows) throw TypeError(env, "openPty: give both options.cols and options.rows, or neither");
  unsigned short cols = has_cols ? static_cast<unsigned short>(IntegerOption(options, "cols", "openPty", 1, 65535)) : 0;
  unsigned short rows = has_rows ? static_cast<unsigned short>(IntegerOption(options, "rows", "openPty", 1, 65535)) : 0;

  // With `root` (a directory fd: a container's root), the pty comes from the devpts mounted at
  // its /dev/pts, so that it is /dev/pts/N inside (exec -t, as runc). That tree is the
  // container's, so the multiplexer is found without leaving it or following any link, looked
  // at through an O_PATH fd (no open of anything else with side effects), and opened only once
  // it is a devpts' ptmx (5:2 on a devpts).
  Napi::Value root_value = options.Get("root");
  Napi::Value devpts_value = options.Get("devpts");
  if (!root_value.IsUndefined() && !devpts_value.IsUndefined()) throw TypeError(env, "openPty: give options.root or options.devpts, not both");
  // `devpts`: the fd of a devpts mount itself (one made for a container's console).
  bool in_devpts = !devpts_value.IsUndefined();
  int root = in_devpts ? FdOption(options, "devpts", "openPty") : root_value.IsUndefined() ? -1 : FdOption(options, "root", "openPty");
  const char* ptmx_path = in_devpts ? "ptmx" : "dev/pts/ptmx";
  std::string where = kPtmx;
  ScopedFd master(-1);
  if (root < 0) {
    master.reset(open(kPtmx, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (master.get() < 0) throw SystemError(env, errno, "open", kPtmx);
  } else {
    where = std::string(ptmx_path) + " in fd " + std::to_string(root);
    struct open_how how {};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    ScopedFd path(static_cast<int>(syscall(SYS_openat2, root, ptmx_path, &how, sizeof how)));
    if (path.get() < 0) throw SystemError(env, errno, "openat2", where);
    struct stat st {};
    struct statfs fs {};
    if (fstat(path.get(), &st) < 0) throw SystemError(env, errno, "fstat", where);
    if (fstatfs(path.get(), &fs) < 0) throw SystemError(env, errno, "fstatfs", where);
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2 ||
        static_cast<unsigned long>(fs.f_type) != DEVPTS_SUPER_MAGIC)
      throw SystemError(env, ENODEV, "openPty", where + " is not the ptmx of a devpts");
    std::string reopen = "/proc/self/fd/" + std::to_string(path.get());
    master.reset(open(reopen.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (master.get() < 0) throw SystemError(env, errno, "open", where);
  }
  int unlock = 0;
  if (Ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) throw SystemError(env, errno, "ioctl(TIOCSPTLCK)", where);
  unsigned int number = 0;
  if (Ioctl(master.get(), TIOCGPTN, &number) < 0) throw SystemError(env, errno, "ioctl(TIOCGPTN)", where);
  std::string slave_name = "/dev/pts/" + std::to_string(number);
  if (has_cols) SetSize(env, master.get(), cols, rows, slave_name);

  int peer;
  do {
    peer = ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  } while (peer < 0 && errno == EINTR);
  if (peer < 0) throw SystemError(env, errno, "ioctl(TIOCGPTPEER)", "open the slave of " + slave_name);
  ScopedFd slave(peer);

  Napi::Object result = Napi::Object::New(env);
  result.Set("slaveName", slave_name);
  result.Set("master", Napi::Number::New(env, master.release()));
  result.Set("slave", Napi::Number::New(env, slave.release()));
  return result;
}

Napi::Value GetWindowSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "getWindowSize");
  int fd = FdOption(options, "fd", "getWindowSize");
  struct winsize size {};
  if (Ioctl(fd, TIOCGWINSZ, &size) < 0) throw SystemError(env, errno, "ioctl(TIOCGWINSZ)", "fd " + std::to_string(fd));
  Napi::Object result = Napi::Object::New(env);
  result.Set("cols", Napi::Number::New(env, size.ws_col));
  result.Set("rows", Napi::Number::New(env, size.ws_row));
  return result;
}

Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "setWindowSize");
  int fd = FdOption(options, "fd", "setWindowSize");
  unsigned short cols = static_cast<unsigned short>(IntegerOption(options, "cols", "setWindowSize", 1, 65535));
  unsigned short rows = static_cast<unsigned short>(IntegerOption(options, "rows", "setWindowSize", 1, 65535));
  SetSize(env, fd, cols, rows, "fd " + std::to_string(fd));
  return env.Undefined();
}

// Termios travels as a plain object; its flag words are opaque to JavaScript
// (their bits differ between architectures), which only stores and restores
// them, or asks makeRawTermios for the raw variant.
Napi::Object TermiosToObject(Napi::Env env, const struct termios& t) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("iflag", Napi::Number::New(env, t.c_iflag));
  object.Set("oflag", Napi::Number::New(env, t.c_oflag));
  object.Set("cflag", Napi::Number::New(env, t.c_cflag));
  object.Set("lflag", Napi::Number::New(env, t.c_lflag));
  object.Set("line", Napi::Number::New(env, t.c_line));
  Napi::Array cc = Napi::Array::New(env, NCCS);
  for (uint32_t i = 0; i < NCCS; i++) cc.Set(i, Napi::Number::New(env, t.c_cc[i]));
  object.Set("cc", cc);
  object.Set("ispeed", Napi::Number::New(env, cfgetispeed(&t)));
  object.Set("ospeed", Napi::Number::New(env, cfgetospeed(&t)));
  return object;
}
struct termios TermiosFromObject(Napi::Value value, const char* fn) {
  Napi::Env env = value.Env();
  if (!value.IsObject()) throw TypeError(env, std::string(fn) + ": options.termios must be an object from getTermios");
  Napi::Object object = value.As<Napi::Object>();
  struct termios t {};
  t.c_iflag = static_cast<uint32_t>(IntegerOption(object, "iflag", fn, 0, UINT32_MAX, "termios"));
  t.c_oflag = static_cast<uint32_t>(IntegerOption(object, "oflag", fn, 0, UINT32_MAX, "termios"));
  t.c_cflag = static_cast<uint32_t>(IntegerOption(object, "cflag", fn, 0, UINT32_MAX, "termios"));
  t.c_lflag = static_cast<uint32_t>(IntegerOption(object, "lflag", fn, 0, UINT32_MAX, "termios"));
  t.c_line = static_cast<cc_t>(IntegerOption(object, "line", fn, 0, 255, "termios"));
  Napi::Value cc_value = object.Get("cc");
  if (!cc_value.IsArray() || cc_value.As<Napi::Array>().Length() != NCCS) {
    throw TypeError(env, std::string(fn) + ": termios.cc must be an array of " + std::to_string(NCCS) + " numbers");
  }
  Napi::Array cc = cc_value.As<Napi::Array>();
  for (uint32_t i = 0; i < NCCS; i++) {
    Napi::Value item = cc.Get(i);
    double n = item.IsNumber() ? item.As<Napi::Number>().DoubleValue() : -1;
    if (n != static_cast<double>(static_cast<int64_t>(n)) || n < 0 || n > 255) {
      throw TypeError(env, std::string(fn) + ": termios.cc[" + std::to_string(i) + "] must be an integer from 0 to 255");
    }
    t.c_cc[i] = static_cast<cc_t>(n);
  }
  if (cfsetispeed(&t, static_cast<uint32_t>(IntegerOption(object, "ispeed", fn, 0, UINT32_MAX, "termios"))) != 0 || cfsetospeed(&t, static_cast<uint32_t>(IntegerOption(object, "ospeed", fn, 0, UINT32_MAX, "termios"))) != 0) {
    throw TypeError(env, std::string(fn) + ": termios.ispeed or termios.ospeed is not a valid speed");
  }
  return t;
}

Napi::Value GetTermios(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "getTermios");
  int fd = FdOption(options, "fd", "getTermios");
  struct termios t {};
  if (tcgetattr(fd, &t) != 0) throw SystemError(env, errno, "tcgetattr", "fd " + std::to_string(fd));
  return TermiosToObject(env, t);
}

Napi::Value SetTermios(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "setTermios");
  int fd = FdOption(options, "fd", "setTermios");
  struct termios t = TermiosFromObject(options.Get("termios"), "setTermios");
  Napi::Value when_value = options.Get("when");
  std::string when = when_value.IsUndefined() ? "now" : when_value.IsString() ? when_value.As<Napi::String>().Utf8Value() : "";
  int action;
  if (when == "now") action = TCSANOW;
  else if (when == "drain") action = TCSADRAIN;
  else if (when == "flush") action = TCSAFLUSH;
  else throw TypeError(env, "setTermios: options.when must be 'now', 'drain' or 'flush'");
  int rc;
  // TCSADRAIN waits for output to drain and is interrupted by signals the runtime handles.
  do {
    rc = tcsetattr(fd, action, &t);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw SystemError(env, errno, "tcsetattr", "fd " + std::to_string(fd));
  return env.Undefined();
}

Napi::Value MakeRawTermios(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "makeRawTermios");
  struct termios t = TermiosFromObject(options.Get("termios"), "makeRawTermios");
  cfmakeraw(&t);
  return TermiosToObject(env, t);
}

// setNonBlocking({ fd, nonBlocking }): O_NONBLOCK on the open file description (shared
// with every dup of it, and with whoever receives it over a socket).
Napi::Value SetNonBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "setNonBlocking");
  int fd = FdOption(options, "fd", "setNonBlocking");
  Napi::Value on = options.Get("nonBlocking");
  if (!on.IsBoolean()) throw TypeError(env, "setNonBlocking: options.nonBlocking must be a boolean");
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) throw SystemError(env, errno, "fcntl(F_GETFL)", "fd " + std::to_string(fd));
  int wanted = on.As<Napi::Boolean>().Value() ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
  if (wanted != flags && fcntl(fd, F_SETFL, wanted) < 0) throw SystemError(env, errno, "fcntl(F_SETFL)", "fd " + std::to_string(fd));
  return env.Undefined();
}

// duplicateFd({ fd }) -> fd: a CLOEXEC duplicate (one open file description, two numbers:
// libuv watches each number on its own, e.g. reads on one and writes on the other).
Napi::Value DuplicateFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "duplicateFd");
  int fd = FdOption(options, "fd", "duplicateFd");
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) throw SystemError(env, errno, "fcntl(F_DUPFD_CLOEXEC)", "fd " + std::to_string(fd));
  return Napi::Number::New(env, copy);
}

// readAvailable({ fd, buffer }) -> { bytes, stop }: reads a non-blocking terminal fd into
// buffer until it would block (stop 'again'), the other side is gone (EIO or EOF: 'end'),
// or less room is left than one read of a pty can return ('full'). One call instead of a
// read per 4 KiB (the line discipline's buffer), and no exception for EAGAIN.
constexpr size_t kLineDisciplineBytes = 4096;

Napi::Value ReadAvailable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "readAvailable");
  int fd = FdOption(options, "fd", "readAvailable");
  Napi::Value buffer_value = options.Get("buffer");
  if (!buffer_value.IsTypedArray() || buffer_value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw TypeError(env, "readAvailable: options.buffer must be a Uint8Array");
  }
  Napi::Uint8Array buffer = buffer_value.As<Napi::Uint8Array>();
  uint8_t* data = buffer.Data();
  size_t size = buffer.ByteLength();
  size_t filled = 0;
  const char* stop = "full";
  while (size - filled >= kLineDisciplineBytes) {
    ssize_t n = read(fd, data + filled, size - filled);
    if (n > 0) {
      filled += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      stop = "again";
    } else if (n == 0 || errno == EIO) {
      stop = "end";
    } else {
      throw SystemError(env, errno, "read", "fd " + std::to_string(fd));
    }
    break;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("bytes", Napi::Number::New(env, static_cast<double>(filled)));
  result.Set("stop", stop);
  return result;
}

// detachedMount({ fd }) -> fd: a detached copy of the mount of the file behind fd
// (open_tree OPEN_TREE_CLONE), e.g. of a console's pts. The kernel clones only mounts of
// the caller's mount namespace, so a child in a new one cannot clone the pts the parent
// opened (EINVAL); it can attach this copy with move_mount.
Napi::Value DetachedMount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object options = OptionsArg(info, "detachedMount");
  int fd = FdOption(options, "fd", "detachedMount");
  long tree = syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0) throw SystemError(env, errno, "open_tree", "clone the mount of fd " + std::to_string(fd));
  return Napi::Number::New(env, static_cast<int>(tree));
}

}  // namespace

void RegisterPty(Napi::Env env, Napi::Object exports) {
  exports.Set("openPty", Napi::Function::New(env, OpenPty, "openPty"));
  exports.Set("getWindowSize", Napi::Function::New(env, GetWindowSize, "getWindowSize"));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize, "setWindowSize"));
  exports.Set("getTermios", Napi::Function::New(env, GetTermios, "getTermios"));
  exports.Set("setTermios", Napi::Function::New(env, SetTermios, "setTermios"));
  exports.Set("makeRawTermios", Napi::Function::New(env, MakeRawTermios, "makeRawTermios"));
  exports.Set("setNonBlocking", Napi::Function::New(env, SetNonBlocking, "setNonBlocking"));
  exports.Set("duplicateFd", Napi::Function::New(env, DuplicateFd, "duplicateFd"));
  exports.Set("detachedMount", Napi::Function::New(env, DetachedMount, "detachedMount"));
  exports.Set("readAvailable", Napi::Function::New(env, ReadAvailable, "readAvailable"));
}

}  // namespace nsinit
