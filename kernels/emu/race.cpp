// The shared-memory race detector of the emulator (see race.h): the instrumentation hooks, the
// shadow state of a block's shared memory, and the symbolisation of fault reports.
#include "kernels/emu/race.h"

#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace lethe::emu {

namespace {
// -1: follow LETHE_EMU_RACECHECK; 0 / 1: a RaceCheckGuard's choice on this thread.
thread_local int tl_race_override = -1;
constexpr uint16_t kManyWarps = 0xFFFF;
}  // namespace

bool race_check_available() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return false;  // the hooks below would be the sanitizer runtime's
#else
  return true;
#endif
}

bool race_check_enabled() {
  if (!race_check_available()) return false;
  if (tl_race_override >= 0) return tl_race_override == 1;
  static const bool env = [] {
    const char* e = std::getenv("LETHE_EMU_RACECHECK");
    return !(e && (std::string(e) == "0" || std::string(e) == "off"));
  }();
  return env;
}

RaceCheckGuard::RaceCheckGuard(bool on) : prev_(tl_race_override) {
  tl_race_override = on ? 1 : 0;
}
RaceCheckGuard::~RaceCheckGuard() {
  tl_race_override = prev_;
}

namespace race {

namespace {
// The running block's shared memory on this OS thread (empty ranges when none runs or the
// detector is off), read by every instrumented load and store.
struct Active {
  uintptr_t s_lo = 0, s_len = 0, d_lo = 0, d_len = 0;
  Shadow* shadow = nullptr;
};
thread_local Active tl_active;

std::string pc_token(const void* pc) {
  if (!pc) return "an unknown place";
  std::ostringstream o;
  o << "{pc:" << pc << "}";
  return o.str();
}
}  // namespace

void Shadow::tick() {
  ++clock_;
}

void Shadow::begin_block(unsigned char* static_base, size_t static_bytes, unsigned char* dyn_base,
                         size_t dyn_bytes, unsigned threads, bool enabled) {
  if (clock_ > 0xF0000000u) {  // clocks restart: forget every stamp
    for (auto* v : {&words_[0], &words_[1], &bytes_[0], &bytes_[1]}) v->assign(v->size(), Cell{});
    std::fill(pair_.begin(), pair_.end(), 0u);
    clock_ = 0;
  }
  tick();
  block_start_ = last_barrier_ = clock_;
  threads_ = threads;
  thread_ = 0;
  fault_.clear();
  decls_.clear();
  if (!enabled) {
    tl_active = Active{};
    return;
  }
  size_t need[2] = {(static_bytes + 3) / 4, (dyn_bytes + 3) / 4};
  for (int r = 0; r < 2; ++r)
    if (words_[r].size() < need[r]) words_[r].resize(need[r]);
  const size_t warps = (threads + 31) / 32;
  if (pair_.size() < warps * 32 * 32) pair_.resize(warps * 32 * 32, 0u);
  tl_active = Active{reinterpret_cast<uintptr_t>(static_base), static_bytes,
                     reinterpret_cast<uintptr_t>(dyn_base), dyn_base ? dyn_bytes : 0, this};
}

void Shadow::end_block() {
  tl_active = Active{};
}

void Shadow::declare_static(size_t offset, size_t bytes, const char* file, int line) {
  decls_.push_back({offset, bytes, file, line});
}

void Shadow::set_thread(unsigned linear) {
  thread_ = linear;
}

void Shadow::block_barrier() {
  tick();
  last_barrier_ = clock_;
}

void Shadow::warp_barrier(unsigned warp, unsigned mask) {
  tick();
  if (pair_.size() < (warp + 1) * 1024) return;  // detector off for this block
  uint32_t* p = pair_.data() + warp * 1024;
  for (unsigned a = 0; a < 32; ++a)
    if (mask >> a & 1u)
      for (unsigned b = 0; b < 32; ++b)
        if (mask >> b & 1u) p[a * 32 + b] = clock_;
}

// Whether an access by `from` stamped `clock` happens before the current access by `to`.
bool Shadow::ordered(unsigned from, uint32_t clock, unsigned to) const {
  if (from == to || clock < last_barrier_) return true;
  if (from / 32 != to / 32) return false;
  return pair_[(from / 32) * 1024 + (from % 32) * 32 + to % 32] > clock;
}

void Shadow::check(Cell& c, bool dynamic, size_t byte, bool write, const void* pc) {
  const unsigned t = thread_;
  if (!ordered(c.writer, c.wclock, t)) {
    report(dynamic, byte, write, write ? "write after write" : "read after write", c.writer, c.wpc,
           pc);
    return;
  }
  const unsigned warp = t / 32;
  const bool reads = c.rlanes != 0 && c.rclock >= last_barrier_;  // reads since the last barrier
  if (write) {
    if (reads) {
      auto fail = [&](unsigned other) {
        const void* opc = other == c.reader ? c.rpc : (other == c.other ? c.opc : nullptr);
        report(dynamic, byte, true, "write after read", other, opc, pc);
      };
      if (c.rwarp != warp) {
        // Some reader sits in another warp: only a block barrier would order it.
        fail(c.reader != t ? c.reader : c.other);
        return;
      }
      for (unsigned l = 0; l < 32; ++l)
        if ((c.rlanes >> l & 1u) && warp * 32 + l != t &&
            !(pair_[warp * 1024 + l * 32 + t % 32] > c.rclock)) {
          fail(warp * 32 + l);
          return;
        }
    }
    c.writer = static_cast<uint16_t>(t);
    c.wclock = clock_;
    c.wpc = pc;
    c.rlanes = 0;
    return;
  }
  if (!reads) {
    c.rlanes = 1u << (t % 32);
    c.rwarp = static_cast<uint16_t>(warp);
    c.reader = c.other = static_cast<uint16_t>(t);
    c.rpc = c.opc = pc;
  } else {
    if (c.rwarp != warp)
      c.rwarp = kManyWarps;
    else
      c.rlanes |= 1u << (t % 32);
    if (c.reader != t) {
      c.other = c.reader;
      c.opc = c.rpc;
      c.reader = static_cast<uint16_t>(t);
    }
    c.rpc = pc;
  }
  c.rclock = clock_;
}

void Shadow::access(bool dynamic, size_t offset, size_t bytes, bool write, const void* pc) {
  if (!fault_.empty() || bytes == 0) return;
  std::vector<Cell>& words = words_[dynamic];
  const size_t end = std::min(offset + bytes, words.size() * 4);
  for (size_t w = offset / 4; w * 4 < end; ++w) {
    const size_t lo = std::max(offset, w * 4), hi = std::min(end, w * 4 + 4);
    Cell& c = words[w];
    const bool split = c.split >= block_start_;
    if (!split && lo == w * 4 && hi == w * 4 + 4) {
      check(c, dynamic, w * 4, write, pc);
    } else {
      // Less than a word: its bytes are tracked one by one for the rest of the block.
      std::vector<Cell>& bytes_of = bytes_[dynamic];
      if (bytes_of.size() < words.size() * 4) bytes_of.resize(words.size() * 4);
      if (!split) {
        for (size_t k = 0; k < 4; ++k) bytes_of[w * 4 + k] = c;
        c.split = clock_;
      }
      for (size_t b = lo; b < hi; ++b) check(bytes_of[b], dynamic, b, write, pc);
    }
    if (!fault_.empty()) return;
  }
}

void Shadow::report(bool dynamic, size_t byte, bool write, const char* kind, unsigned other,
                    const void* other_pc, const void* pc) {
  std::ostringstream o;
  o << "shared-memory race (" << kind << "): thread " << thread_ << " "
    << (write ? "writes" : "reads") << " ";
  if (dynamic) {
    o << "dynamic shared memory byte " << byte;
  } else {
    o << "static shared memory byte " << byte;
    for (const Decl& d : decls_)
      if (byte >= d.offset && byte < d.offset + d.bytes) {
        o << " (byte " << byte - d.offset << " of the LETHE_SHARED array declared at " << d.file
          << ":" << d.line << ")";
        break;
      }
  }
  const bool other_wrote = std::string(kind) != "write after read";
  o << " at " << pc_token(pc) << "; thread " << other << " " << (other_wrote ? "wrote" : "read")
    << " it at " << pc_token(other_pc) << " with no barrier between";
  fault_ = o.str();
}

// ---- symbolisation (fault path only) ----
namespace {
struct Found {
  std::string file;
  uintptr_t bias = 0;
  uintptr_t pc = 0;
  bool ok = false;
};
// The program's path (a child's /proc/self/exe would be addr2line itself).
std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}
int find_object(dl_phdr_info* info, size_t, void* data) {
  auto* f = static_cast<Found*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    if (f->pc >= lo && f->pc < lo + ph.p_memsz) {
      f->file = info->dlpi_name && *info->dlpi_name ? info->dlpi_name : self_exe();
      f->bias = info->dlpi_addr;
      f->ok = true;
      return 1;
    }
  }
  return 0;
}

std::string shorten(std::string path) {
  for (const char* root : {"/kernels/", "/tests/", "/engine/"}) {
    auto k = path.rfind(root);
    if (k != std::string::npos) return path.substr(k + 1);
  }
  return path;
}

std::string resolve(uintptr_t pc) {
  std::ostringstream fallback;
  fallback << "pc " << reinterpret_cast<void*>(pc);
  Found f;
  f.pc = pc - 1;  // the return address follows the call: name the call's line
  dl_iterate_phdr(find_object, &f);
  if (!f.ok || f.file.find('\'') != std::string::npos) return fallback.str();
  std::ostringstream cmd;
  cmd << "addr2line -C -f -i -e '" << f.file << "' 0x" << std::hex << (f.pc - f.bias)
      << " 2>/dev/null";
  FILE* p = popen(cmd.str().c_str(), "r");
  if (!p) return fallback.str();
  std::vector<std::string> lines;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) {
    std::string s(buf);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    lines.push_back(s);
  }
  pclose(p);
  if (lines.size() < 2) return fallback.str();
  // Pairs (function, file:line), innermost first; the outermost function is the kernel.
  std::string loc = lines[1];
  if (auto d = loc.find(" (discriminator"); d != std::string::npos) loc.erase(d);
  std::string fn = lines[lines.size() - 2];
  if (loc.rfind("??", 0) == 0) return fn != "??" ? "pc in " + fn : fallback.str();
  return shorten(loc);
}
}  // namespace

std::string symbolize(const std::string& message) {
  std::string out;
  size_t i = 0;
  for (;;) {
    size_t k = message.find("{pc:", i);
    size_t e = k == std::string::npos ? k : message.find('}', k);
    if (e == std::string::npos) {
      out += message.substr(i);
      return out;
    }
    out += message.substr(i, k - i);
    out += resolve(std::strtoull(message.c_str() + k + 4, nullptr, 16));
    i = e + 1;
  }
}

}  // namespace race
}  // namespace lethe::emu

// ---- the instrumentation hooks (GCC's -fsanitize=thread calls; kernels/emu/race.h) ----
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
namespace {
inline __attribute__((always_inline)) void hook(uintptr_t a, size_t n, bool write, const void* pc) {
  using lethe::emu::race::tl_active;
  auto& s = tl_active;
  uintptr_t o = a - s.s_lo;
  if (o < s.s_len) [[unlikely]] {
    s.shadow->access(false, o, n, write, pc);
    return;
  }
  o = a - s.d_lo;
  if (o < s.d_len) [[unlikely]]
    s.shadow->access(true, o, n, write, pc);
}
}  // namespace

#define LETHE_RACE_HOOK(name, n, write)                                          \
  extern "C" void name(void* a) {                                                \
    hook(reinterpret_cast<uintptr_t>(a), n, write, __builtin_return_address(0)); \
  }
#define LETHE_RACE_HOOKS(n)                           \
  LETHE_RACE_HOOK(__tsan_read##n, n, false)           \
  LETHE_RACE_HOOK(__tsan_write##n, n, true)           \
  LETHE_RACE_HOOK(__tsan_unaligned_read##n, n, false) \
  LETHE_RACE_HOOK(__tsan_unaligned_write##n, n, true) \
  LETHE_RACE_HOOK(__tsan_volatile_read##n, n, false)  \
  LETHE_RACE_HOOK(__tsan_volatile_write##n, n, true)
LETHE_RACE_HOOK(__tsan_read1, 1, false)
LETHE_RACE_HOOK(__tsan_write1, 1, true)
LETHE_RACE_HOOK(__tsan_volatile_read1, 1, false)
LETHE_RACE_HOOK(__tsan_volatile_write1, 1, true)
LETHE_RACE_HOOKS(2)
LETHE_RACE_HOOKS(4)
LETHE_RACE_HOOKS(8)
LETHE_RACE_HOOKS(16)
#undef LETHE_RACE_HOOKS
#undef LETHE_RACE_HOOK
extern "C" void __tsan_read_range(void* a, size_t n) {
  hook(reinterpret_cast<uintptr_t>(a), n, false, __builtin_return_address(0));
}
extern "C" void __tsan_write_range(void* a, size_t n) {
  hook(reinterpret_cast<uintptr_t>(a), n, true, __builtin_return_address(0));
}
extern "C" void __tsan_init() {}
extern "C" void __tsan_func_entry(void*) {}
extern "C" void __tsan_func_exit() {}
extern "C" void __tsan_vptr_update(void*, void*) {}
extern "C" void __tsan_vptr_read(void*) {}
// Atomics in instrumented code (static-local guards, std::atomic in headers) stay atomics.
#define LETHE_RACE_ATOMIC(bits, T)                                                            \
  extern "C" T __tsan_atomic##bits##_load(const volatile T* a, int) {                         \
    return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                              \
  }                                                                                           \
  extern "C" void __tsan_atomic##bits##_store(volatile T* a, T v, int) {                      \
    __atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                                 \
  }                                                                                           \
  extern "C" T __tsan_atomic##bits##_fetch_add(volatile T* a, T v, int) {                     \
    return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                        \
  }                                                                                           \
  extern "C" int __tsan_atomic##bits##_compare_exchange_strong(volatile T* a, T* c, T v, int, \
                                                               int) {                         \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);   \
  }
LETHE_RACE_ATOMIC(8, uint8_t)
LETHE_RACE_ATOMIC(16, uint16_t)
LETHE_RACE_ATOMIC(32, uint32_t)
LETHE_RACE_ATOMIC(64, uint64_t)
#undef LETHE_RACE_ATOMIC
extern "C" void __tsan_atomic_thread_fence(int) {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
extern "C" void __tsan_atomic_signal_fence(int) {}
#endif
