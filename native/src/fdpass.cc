// Passing fds over Unix sockets with SCM_RIGHTS (issue 4).
#include "addon.h"

namespace nsinit {

void RegisterFdPassing(Napi::Env /*env*/, Napi::Object /*exports*/) {}

}  // namespace nsinit
