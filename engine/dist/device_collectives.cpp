#include "engine/dist/device_collectives.h"

#include <map>
#include <mutex>

namespace lethe::dist {

namespace {
struct Entry {
  DeviceAllreduce fn;
  std::string library;
};
std::mutex g_m;
std::map<std::string, Entry>& table() {
  static std::map<std::string, Entry> t;
  return t;
}
}  // namespace

void register_device_allreduce(const std::string& backend, DeviceAllreduce fn,
                               const std::string& library) {
  std::lock_guard<std::mutex> g(g_m);
  if (fn)
    table()[backend] = {fn, library};
  else
    table().erase(backend);
}

DeviceAllreduce device_allreduce_for(const Tensor& t) {
  if (!t.defined() || t.is_cpu()) return nullptr;
  std::string name = t.device().name();
  name = name.substr(0, name.find(':'));
  std::lock_guard<std::mutex> g(g_m);
  auto it = table().find(name);
  return it == table().end() ? nullptr : it->second.fn;
}

std::string device_collective_libraries() {
  std::lock_guard<std::mutex> g(g_m);
  std::string s;
  for (const auto& [name, e] : table()) s += (s.empty() ? "" : ", ") + name + ": " + e.library;
  return s;
}

}  // namespace lethe::dist
