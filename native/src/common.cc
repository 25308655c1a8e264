// Helpers every part of the addon shares: Node-style system errors and option parsing.
#include "addon.h"

#include <string.h>

namespace nsinit {

// ---------------------------------------------------------------------------
// Errors shaped like Node's system errors: code, errno (negative), syscall.

std::string ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
#endif
  return "E" + std::to_string(err);
}

Napi::Error SystemError(Napi::Env env, int err, const std::string& syscall, const std::string& context) {
  std::string message = syscall + " failed: " + strerror(err) + " (" + ErrnoName(err) + ")";
  if (!context.empty()) message += ": " + context;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", ErrnoName(err));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", syscall);
  return error;
}

Napi::Error TypeError(Napi::Env env, const std::string& message) {
  Napi::Error error = Napi::TypeError::New(env, message);
  error.Set("code", "ERR_INVALID_ARG_TYPE");
  return error;
}

Napi::Object OptionsArg(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsObject()) throw TypeError(info.Env(), std::string(fn) + ": expected an options object");
  return info[0].As<Napi::Object>();
}

int FdOption(Napi::Object options, const char* key, const char* fn) {
  Napi::Value value = options.Get(key);
  if (!value.IsNumber()) throw TypeError(options.Env(), std::string(fn) + ": options." + key + " must be an fd number");
  int64_t fd = value.As<Napi::Number>().Int64Value();
  if (fd < 0 || fd > INT32_MAX) throw TypeError(options.Env(), std::string(fn) + ": options." + key + " is not a valid fd");
  return static_cast<int>(fd);
}

std::vector<std::string> StringArrayOption(Napi::Object options, const char* key, const char* fn) {
  std::vector<std::string> out;
  Napi::Value value = options.Get(key);
  if (value.IsUndefined()) return out;
  if (!value.IsArray()) throw TypeError(options.Env(), std::string(fn) + ": options." + key + " must be an array of strings");
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) throw TypeError(options.Env(), std::string(fn) + ": options." + key + "[" + std::to_string(i) + "] must be a string");
    std::string s = item.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) throw TypeError(options.Env(), std::string(fn) + ": options." + key + "[" + std::to_string(i) + "] contains a NUL byte");
    out.push_back(std::move(s));
  }
  return out;
}

int64_t IntegerOption(Napi::Object object, const char* key, const char* fn, int64_t min, int64_t max,
                      const char* holder) {
  Napi::Value value = object.Get(key);
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : 0.5;
  if (!(number >= static_cast<double>(min) && number <= static_cast<double>(max)) ||
      number != static_cast<double>(static_cast<int64_t>(number))) {
    throw TypeError(object.Env(), std::string(fn) + ": " + holder + "." + key + " must be an integer from " +
                                      std::to_string(min) + " to " + std::to_string(max));
  }
  return static_cast<int64_t>(number);
}

}  // namespace nsinit
