// NETLINK_ROUTE sockets, optionally inside a network namespace (issue 6).
#include "addon.h"

namespace nsinit {

void RegisterNetlink(Napi::Env /*env*/, Napi::Object /*exports*/) {}

}  // namespace nsinit
