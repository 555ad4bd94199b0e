// The launch-limit check of the emulator (launch_limits.h). A kernel is identified by its
// function pointer: the program's own ELF symbol table (found with dl_iterate_phdr, read once per
// object file) gives its mangled name, which is demangled and stripped of the namespaces that
// differ between the builds (kcuda under nvcc, kemu or a proof namespace under g++, emu for the
// emulator's types), and matched against nvcc's names, normalised the same way.
#include "kernels/emu/launch_limits.h"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "kernels/emu/emu.h"

namespace lethe::emu {
namespace {

// ---- the symbol table of a loaded object ----
struct MappedElf {
  const unsigned char* data = nullptr;
  size_t size = 0;
  ~MappedElf() {
    if (data) munmap(const_cast<unsigned char*>(data), size);
  }
};

std::unique_ptr<MappedElf> map_file(const char* path) {
  auto m = std::make_unique<MappedElf>();
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return m;
  struct stat st {};
  if (fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(Elf64_Ehdr))) {
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      m->data = static_cast<const unsigned char*>(p);
      m->size = static_cast<size_t>(st.st_size);
    }
  }
  close(fd);
  return m;
}

// Every function symbol at file address `value` (several when identical functions were folded).
std::vector<std::string> function_symbols_at(const MappedElf& f, uint64_t value) {
  std::vector<std::string> out;
  if (!f.data || std::memcmp(f.data, ELFMAG, SELFMAG) != 0 || f.data[EI_CLASS] != ELFCLASS64)
    return out;
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(f.data);
  if (eh->e_shoff == 0 || eh->e_shoff + eh->e_shnum * sizeof(Elf64_Shdr) > f.size) return out;
  const auto* sh = reinterpret_cast<const Elf64_Shdr*>(f.data + eh->e_shoff);
  for (unsigned i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_SYMTAB && sh[i].sh_type != SHT_DYNSYM) continue;
    if (sh[i].sh_link >= eh->e_shnum) continue;
    const Elf64_Shdr& strs = sh[sh[i].sh_link];
    if (sh[i].sh_offset + sh[i].sh_size > f.size || strs.sh_offset + strs.sh_size > f.size)
      continue;
    const auto* sym = reinterpret_cast<const Elf64_Sym*>(f.data + sh[i].sh_offset);
    const char* names = reinterpret_cast<const char*>(f.data + strs.sh_offset);
    for (size_t j = 0, n = sh[i].sh_size / sizeof(Elf64_Sym); j < n; ++j) {
      if (ELF64_ST_TYPE(sym[j].st_info) != STT_FUNC || sym[j].st_value != value) continue;
      if (sym[j].st_name >= strs.sh_size) continue;
      std::string name = names + sym[j].st_name;
      bool seen = false;
      for (const auto& s : out) seen |= s == name;
      if (!seen) out.push_back(std::move(name));
    }
  }
  return out;
}

struct Located {
  uintptr_t addr;
  std::string path;
  uintptr_t base = 0;
  bool found = false;
};

int locate_cb(dl_phdr_info* info, size_t, void* data) {
  auto* q = static_cast<Located*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    if (q->addr >= lo && q->addr < lo + ph.p_memsz) {
      q->path = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : "/proc/self/exe";
      q->base = info->dlpi_addr;
      q->found = true;
      return 1;
    }
  }
  return 0;
}

std::string demangle(const std::string& mangled) {
  int status = 0;
  char* d = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  if (status != 0 || !d) return mangled;
  std::string s(d);
  std::free(d);
  return s;
}

// ---- state ----
struct State {
  std::mutex m;
  std::map<std::string, std::unique_ptr<MappedElf>> files;
  std::unordered_map<const void*, std::vector<std::string>> symbols;  // per kernel pointer
  // normalised name → limits; two kernels of one normalised name (anonymous namespaces of
  // different files) are merged to the stricter limits of both
  std::unordered_map<std::string, KernelLimits> by_name;
  bool indexed = false;
  std::unordered_map<const void*, const KernelLimits*> resolved;
  std::unordered_map<const void*, KernelLimits> overrides;
  std::unordered_map<const void*, int> max_dynamic_shared;  // cudaFuncSetAttribute opt-ins
};
State& state() {
  static State s;
  return s;
}

const std::vector<std::string>& symbols_locked(State& s, const void* kernel) {
  auto it = s.symbols.find(kernel);
  if (it != s.symbols.end()) return it->second;
  Located q{reinterpret_cast<uintptr_t>(kernel), {}};
  std::vector<std::string> names;
  dl_iterate_phdr(locate_cb, &q);
  if (q.found) {
    auto& f = s.files[q.path];
    if (!f) f = map_file(q.path.c_str());
    names = function_symbols_at(*f, q.addr - q.base);
  }
  return s.symbols.emplace(kernel, std::move(names)).first->second;
}

const KernelLimits* limits_locked(State& s, const void* kernel) {
  if (auto o = s.overrides.find(kernel); o != s.overrides.end()) return &o->second;
  const auto& table = kernel_limits_table();
  if (table.empty() || !kernel) return nullptr;
  if (auto r = s.resolved.find(kernel); r != s.resolved.end()) return r->second;
  if (!s.indexed) {
    for (const KernelLimits& k : table) {
      auto [it, fresh] = s.by_name.emplace(normalised_kernel_name(k.mangled), k);
      if (fresh) continue;
      KernelLimits& m = it->second;
      m.registers = std::max(m.registers, k.registers);
      m.static_shared = std::max(m.static_shared, k.static_shared);
      if (k.max_threads && (!m.max_threads || k.max_threads < m.max_threads))
        m.max_threads = k.max_threads;
    }
    s.indexed = true;
  }
  const KernelLimits* found = nullptr;
  for (const std::string& sym : symbols_locked(s, kernel)) {
    auto it = s.by_name.find(normalised_kernel_name(sym.c_str()));
    if (it != s.by_name.end()) {
      found = &it->second;
      break;
    }
  }
  s.resolved.emplace(kernel, found);
  return found;
}

size_t shared_opt_in_limit() {
  static const size_t limit = [] {
    const char* e = std::getenv("LETHE_EMU_SM");
    return e && std::strcmp(e, "90") == 0 ? kSharedOptInSm90 : kSharedOptInSm80;
  }();
  return limit;
}

std::string dims(dim3 d) {
  std::ostringstream o;
  o << "(" << d.x << "," << d.y << "," << d.z << ")";
  return o.str();
}

std::atomic<uint64_t> g_malloc_countdown{[] {
  const char* e = std::getenv("LETHE_EMU_FAIL_MALLOC");
  return e ? std::strtoull(e, nullptr, 10) : 0ull;
}()};

}  // namespace

std::string normalised_kernel_name(const char* mangled) {
  std::string s = demangle(mangled);
  // Remove "lethe::kcuda::", "lethe::kemu::", "lethe::kemu_<proof>::" and "lethe::emu::".
  static const std::string kLethe = "lethe::";
  for (size_t pos = 0; (pos = s.find(kLethe, pos)) != std::string::npos;) {
    size_t id = pos + kLethe.size(), end = id;
    while (end < s.size() && (std::isalnum(static_cast<unsigned char>(s[end])) || s[end] == '_'))
      ++end;
    const std::string ns = s.substr(id, end - id);
    if (s.compare(end, 2, "::") == 0 &&
        (ns == "kcuda" || ns == "emu" || ns == "kemu" || ns.rfind("kemu_", 0) == 0)) {
      s.erase(pos, end + 2 - pos);
    } else {
      pos = end;
    }
  }
  return s;
}

std::string kernel_symbol(const void* kernel) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.m);
  const auto& names = symbols_locked(s, kernel);
  return names.empty() ? std::string() : names.front();
}

const KernelLimits* kernel_limits(const void* kernel) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.m);
  return limits_locked(s, kernel);
}

void override_kernel_limits(const void* kernel, const KernelLimits* limits) {
  State& s = state();
  std::lock_guard<std::mutex> g(s.m);
  if (limits)
    s.overrides[kernel] = *limits;
  else
    s.overrides.erase(kernel);
}

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize)
    return set_last_error(cudaErrorInvalidValue, "invalid argument [emu: unsupported attribute]");
  State& s = state();
  std::lock_guard<std::mutex> g(s.m);
  const KernelLimits* k = limits_locked(s, func);
  const size_t static_bytes = k ? k->static_shared : 0;
  if (value < 0 || static_bytes + static_cast<size_t>(value) > shared_opt_in_limit())
    return set_last_error(cudaErrorInvalidValue,
                          "invalid argument [emu: cudaFuncSetAttribute: " + std::to_string(value) +
                              " B of dynamic shared memory + " + std::to_string(static_bytes) +
                              " B static exceed the opt-in limit of " +
                              std::to_string(shared_opt_in_limit()) + " B]");
  s.max_dynamic_shared[func] = value;
  return cudaSuccess;
}

cudaError_t check_launch(const LaunchInfo& info) {
  auto refuse = [&](cudaError_t e, const std::string& what) {
    return set_last_error(e, std::string(cuda_error_text(e)) + " [emu: kernel " + info.kernel +
                                 " launched at " + info.file + ":" + std::to_string(info.line) +
                                 " with grid " + dims(info.grid) + ", block " + dims(info.block) +
                                 ": " + what + "]");
  };
  const dim3 b = info.block, gr = info.grid;
  const uint64_t threads = static_cast<uint64_t>(b.x) * b.y * b.z;
  if (threads == 0 || b.x > kMaxThreadsPerBlock || b.y > kMaxThreadsPerBlock ||
      b.z > kMaxBlockDimZ || threads > kMaxThreadsPerBlock)
    return refuse(cudaErrorInvalidConfiguration,
                  std::to_string(threads) + " threads per block (at most 1024; z at most 64)");
  if (gr.x == 0 || gr.y == 0 || gr.z == 0 || gr.x > kMaxGridDimX || gr.y > kMaxGridDimYZ ||
      gr.z > kMaxGridDimYZ)
    return refuse(cudaErrorInvalidConfiguration, "grid dimensions outside (2^31-1, 65535, 65535)");

  State& s = state();
  std::unique_lock<std::mutex> g(s.m);
  const KernelLimits* k = limits_locked(s, info.fn);
  if (!k && !kernel_limits_table().empty() && std::strstr(info.file, "kernels/cuda/"))
    return refuse(cudaErrorInvalidDeviceFunction,
                  "no entry in the table of nvcc's kernels for symbol '" +
                      (symbols_locked(s, info.fn).empty() ? std::string("?")
                                                          : symbols_locked(s, info.fn).front()) +
                      "' (scripts/gen_launch_limits.py)");
  const size_t static_bytes = k ? k->static_shared : 0;
  auto opt = s.max_dynamic_shared.find(info.fn);
  const bool opted_in = opt != s.max_dynamic_shared.end();
  const size_t max_dynamic =
      opted_in ? static_cast<size_t>(opt->second)
               : (static_bytes < kSharedDefault ? kSharedDefault - static_bytes : 0);
  const KernelLimits limits = k ? *k : KernelLimits{};
  g.unlock();
  if (info.dynamic_shared > max_dynamic)
    return refuse(cudaErrorInvalidValue,
                  std::to_string(info.dynamic_shared) + " B of dynamic shared memory + " +
                      std::to_string(static_bytes) + " B static exceed " +
                      (opted_in ? "the cudaFuncSetAttribute(MaxDynamicSharedMemorySize) of " +
                                      std::to_string(max_dynamic) + " B"
                                : std::string("48 KiB (no cudaFuncSetAttribute opt-in)")));
  if (!k) return cudaSuccess;
  k = &limits;
  if (k->max_threads && threads > k->max_threads)
    return refuse(cudaErrorLaunchOutOfResources, std::to_string(threads) +
                                                     " threads exceed its __launch_bounds__ of " +
                                                     std::to_string(k->max_threads));
  const uint64_t regs = (k->registers + kRegisterUnit - 1) / kRegisterUnit * kRegisterUnit;
  const uint64_t warps = (threads + 31) / 32;
  if (regs * 32 * warps > kRegistersPerBlock)
    return refuse(cudaErrorLaunchOutOfResources,
                  std::to_string(k->registers) + " registers per thread (allocated as " +
                      std::to_string(regs) + ") × " + std::to_string(warps) +
                      " warps × 32 = " + std::to_string(regs * 32 * warps) + " > 65536 per block");
  return cudaSuccess;
}

void fail_nth_malloc(uint64_t n) {
  g_malloc_countdown = n;
}

bool malloc_fault_due() {
  uint64_t c = g_malloc_countdown.load();
  while (c != 0)
    if (g_malloc_countdown.compare_exchange_weak(c, c - 1)) return c == 1;
  return false;
}

}  // namespace lethe::emu
