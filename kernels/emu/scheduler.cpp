// The emulator's scheduler. A block runs on one OS thread: its CUDA threads are fibers
// (boost.context fcontext, one guarded mmap stack each, reused across blocks) that run until they
// reach a barrier or return. After every switch the scheduler checks whether a block barrier (all
// live threads arrived) or a warp group (all lanes named by the mask arrived) can be released;
// when no fiber can run and some still wait, that is a deadlock, reported with every waiting
// site. Warp exchanges are resolved by the scheduler at release time, so independent warp groups
// with disjoint masks need no buffers of their own. Blocks are taken from an atomic counter by a
// pool of OS threads.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/context/detail/fcontext.hpp>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "kernels/emu/emu.h"
#include "kernels/emu/race.h"

#if defined(__SANITIZE_ADDRESS__)
#define LETHE_EMU_ASAN 1
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace lethe::emu {
namespace bc = boost::context::detail;

namespace {

constexpr size_t kStaticSharedBytes = 48 * 1024;  // the static limit of every CUDA architecture

size_t fiber_stack_bytes() {
  static const size_t bytes = [] {
    size_t kib = 64;
#if LETHE_EMU_ASAN
    kib = 256;  // instrumented frames are several times larger
#endif
    if (const char* e = std::getenv("LETHE_EMU_STACK_KIB"))
      kib = std::max<size_t>(16, std::strtoul(e, nullptr, 10));
    return kib * 1024;
  }();
  return bytes;
}

// One fiber stack: [guard page][usable bytes], mapped once and reused.
struct Stack {
  void* map = nullptr;
  size_t map_bytes = 0;
  char* lo = nullptr;  // lowest usable byte
  size_t size = 0;
  Stack() = default;
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;
  Stack(Stack&& o) noexcept { *this = std::move(o); }
  Stack& operator=(Stack&& o) noexcept {
    std::swap(map, o.map);
    std::swap(map_bytes, o.map_bytes);
    std::swap(lo, o.lo);
    std::swap(size, o.size);
    return *this;
  }
  ~Stack() {
    if (map) munmap(map, map_bytes);
  }
  static Stack make(size_t usable) {
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    usable = (usable + page - 1) / page * page;
    Stack s;
    s.map_bytes = usable + page;
    s.map = mmap(nullptr, s.map_bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s.map == MAP_FAILED) {
      s.map = nullptr;
      throw KernelFault("emu: cannot map a fiber stack");
    }
    mprotect(s.map, page, PROT_NONE);  // stack overflow hits this page
    s.lo = static_cast<char*>(s.map) + page;
    s.size = usable;
    return s;
  }
};

enum class State : uint8_t { Ready, BlockBarrier, WarpBarrier, Done };

struct Fiber {
  bc::fcontext_t ctx = nullptr;
  ThreadState ts{};
  State state = State::Ready;
  const char* file = nullptr;  // where it waits
  int line = 0;
  unsigned mask = 0;        // warp barrier: lanes named
  uint64_t xchg_value = 0;  // published by this lane
  int xchg_src = -1;        // lane it reads (-1: none)
  uint64_t xchg_result = 0;
  bool pred = false;     // ballot input
  bool memsync = false;  // a __syncwarp (orders shared memory), not a shuffle or ballot
  unsigned ballot_result = 0;
  bool abandoned = false;  // left suspended by a fault: its stack must be unpoisoned
  void* asan_fake = nullptr;
};

struct SharedSite {
  const char* file;
  int line;
  size_t bytes, align, offset;
};

struct BlockRun {
  const LaunchInfo* info = nullptr;
  void (*body)(void*) = nullptr;
  void* ctx = nullptr;
  std::vector<Fiber> fibers;
  unsigned n = 0;
  unsigned live = 0;
  unsigned at_block_barrier = 0;
  std::vector<unsigned char> static_arena = std::vector<unsigned char>(kStaticSharedBytes);
  size_t static_used = 0;
  std::vector<SharedSite> sites;
  std::unique_ptr<unsigned char[]> dynamic;
  std::string fault;
  bc::fcontext_t sched_ctx = nullptr;
  const void* sched_bottom = nullptr;
  size_t sched_size = 0;
  void* sched_fake = nullptr;
  uint64_t switches = 0;
  race::Shadow race;  // the shared-memory race detector (race.h)
};

struct Worker {
  std::vector<Stack> stacks;
  BlockRun block;
};

thread_local Worker* tl_worker = nullptr;
thread_local Fiber* tl_fiber = nullptr;

std::atomic<uint64_t> g_launches{0}, g_blocks{0}, g_threads{0}, g_switches{0};

// ---- ASan fiber annotations ----
inline void asan_start(void** fake, const void* bottom, size_t size) {
#if LETHE_EMU_ASAN
  __sanitizer_start_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}
inline void asan_finish(void* fake, const void** bottom, size_t* size) {
#if LETHE_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}

std::string dim_str(uint3 d) {
  std::ostringstream o;  // not string concatenation: GCC 12 -Wrestrict false positive
  o << "(" << d.x << "," << d.y << "," << d.z << ")";
  return o.str();
}

std::string where(const BlockRun& b) {
  const ThreadState& t = b.fibers[0].ts;
  std::ostringstream o;
  o << "emu: kernel " << b.info->kernel << " (launched at " << b.info->file << ":" << b.info->line
    << ") block " << dim_str(t.block_idx) << ": ";
  return o.str();
}

// "threads 0-31, 40" style list of fibers matching pred.
template <class Pred>
std::string thread_list(const BlockRun& b, Pred pred) {
  std::ostringstream o;
  bool first = true;
  for (unsigned i = 0; i < b.n;) {
    if (!pred(b.fibers[i])) {
      ++i;
      continue;
    }
    unsigned j = i;
    while (j + 1 < b.n && pred(b.fibers[j + 1])) ++j;
    o << (first ? "" : ",") << i;
    if (j > i) o << "-" << j;
    first = false;
    i = j + 1;
  }
  return o.str();
}

void set_fault(BlockRun& b, const std::string& msg) {
  if (b.fault.empty()) b.fault = where(b) + msg;
}

// ---- fiber side ----
void yield_to_scheduler() {
  BlockRun& b = tl_worker->block;
  Fiber* f = tl_fiber;
  asan_start(&f->asan_fake, b.sched_bottom, b.sched_size);
  bc::transfer_t t = bc::jump_fcontext(b.sched_ctx, nullptr);
  b.sched_ctx = t.fctx;
  asan_finish(f->asan_fake, &b.sched_bottom, &b.sched_size);
}

void fiber_entry(bc::transfer_t t) {
  BlockRun& b = tl_worker->block;
  b.sched_ctx = t.fctx;
  asan_finish(nullptr, &b.sched_bottom, &b.sched_size);
  try {
    b.body(b.ctx);
  } catch (const std::exception& e) {
    set_fault(b, std::string("thread ") + std::to_string(tl_fiber->ts.linear) + ": " + e.what());
  } catch (...) {
    set_fault(b, "thread " + std::to_string(tl_fiber->ts.linear) + ": unknown exception");
  }
  tl_fiber->state = State::Done;
  asan_start(nullptr, b.sched_bottom, b.sched_size);  // this fiber's frames end here
  bc::jump_fcontext(b.sched_ctx, nullptr);
  std::abort();  // a finished fiber is never resumed
}

// ---- scheduler side ----
void resume(BlockRun& b, Fiber& f, const Stack& s) {
  tl_fiber = &f;
  b.race.set_thread(f.ts.linear);
  asan_start(&b.sched_fake, s.lo, s.size);
  bc::transfer_t t = bc::jump_fcontext(f.ctx, nullptr);
  f.ctx = t.fctx;
  asan_finish(b.sched_fake, nullptr, nullptr);
  tl_fiber = nullptr;
  ++b.switches;
  if (b.race.faulted()) set_fault(b, b.race.fault());
}

void release_block_barrier(BlockRun& b) {
  const Fiber* first = nullptr;
  for (const Fiber& f : b.fibers)
    if (f.state == State::BlockBarrier) {
      if (!first)
        first = &f;
      else if (f.file != first->file || f.line != first->line) {
        const char* fa = first->file;
        int la = first->line;
        set_fault(b, "threads wait at different __syncthreads: " + std::string(fa) + ":" +
                         std::to_string(la) + " (threads " +
                         thread_list(b,
                                     [&](const Fiber& x) {
                                       return x.state == State::BlockBarrier && x.file == fa &&
                                              x.line == la;
                                     }) +
                         ") and " + f.file + ":" + std::to_string(f.line) + " (threads " +
                         thread_list(b,
                                     [&](const Fiber& x) {
                                       return x.state == State::BlockBarrier &&
                                              (x.file != fa || x.line != la);
                                     }) +
                         ")");
        return;
      }
    }
  for (Fiber& f : b.fibers)
    if (f.state == State::BlockBarrier) f.state = State::Ready;
  b.at_block_barrier = 0;
  b.race.block_barrier();
}

// Releases the group of warp `w` whose mask `m` is complete, if it is.
void try_release_warp(BlockRun& b, unsigned w, unsigned m) {
  unsigned base = w * 32;
  for (unsigned l = 0; l < 32; ++l) {
    if (!(m >> l & 1u) || base + l >= b.n) continue;  // lanes beyond the block do not exist
    const Fiber& f = b.fibers[base + l];
    if (f.state == State::Done) {
      set_fault(
          b, "lane " + std::to_string(l) + " of warp " + std::to_string(w) +
                 " exited while lanes named by mask 0x" +
                 [&] {
                   std::ostringstream o;
                   o << std::hex << m;
                   return o.str();
                 }() +
                 " wait at a warp intrinsic");
      return;
    }
    if (f.state != State::WarpBarrier || f.mask != m) return;
  }
  if (const unsigned first = base + static_cast<unsigned>(std::countr_zero(m));
      first < b.n && b.fibers[first].memsync)
    b.race.warp_barrier(w, m);  // a __syncwarp orders the shared-memory accesses of its lanes
  unsigned ballot = 0;
  for (unsigned l = 0; l < 32; ++l)
    if ((m >> l & 1u) && base + l < b.n && b.fibers[base + l].pred) ballot |= 1u << l;
  for (unsigned l = 0; l < 32; ++l) {
    if (!(m >> l & 1u) || base + l >= b.n) continue;
    Fiber& f = b.fibers[base + l];
    int src = f.xchg_src;
    bool src_ok = src >= 0 && src < 32 && (m >> src & 1u) && base + src < b.n;
    f.xchg_result = src_ok ? b.fibers[base + src].xchg_value : f.xchg_value;
    f.ballot_result = ballot;
    f.state = State::Ready;
  }
}

std::string describe_waits(const BlockRun& b) {
  std::map<std::string, std::vector<unsigned>> sites;
  for (const Fiber& f : b.fibers) {
    if (f.state == State::Done) continue;
    std::ostringstream k;
    if (f.state == State::BlockBarrier)
      k << "__syncthreads at " << f.file << ":" << f.line;
    else
      k << "warp intrinsic (mask 0x" << std::hex << f.mask << std::dec << ") at " << f.file << ":"
        << f.line;
    sites[k.str()].push_back(f.ts.linear);
  }
  std::ostringstream o;
  bool first = true;
  for (auto& [site, ids] : sites) {
    o << (first ? "" : "; ") << site << " (threads " << ids.front();
    if (ids.size() > 1) o << ".." << ids.back() << ", " << ids.size() << " in all";
    o << ")";
    first = false;
  }
  return o.str();
}

ScheduleChoice parse_schedule(const char* s) {
  ScheduleChoice c;
  if (!s || !*s) return c;
  std::string v(s);
  if (v == "inorder" || v == "in-order") return c;
  if (v == "reverse") {
    c.kind = Schedule::Reverse;
    return c;
  }
  if (v.rfind("random", 0) == 0) {
    c.kind = Schedule::Random;
    c.seed = v.size() > 7 && v[6] == ':' ? std::strtoull(v.c_str() + 7, nullptr, 10) : 1;
    return c;
  }
  throw KernelFault("LETHE_EMU_SCHEDULE: unknown schedule '" + v +
                    "' (inorder, reverse, random[:SEED])");
}

thread_local bool tl_sched_override = false;
thread_local ScheduleChoice tl_sched;

void run_block(Worker& w, const LaunchInfo& info, void (*body)(void*), void* ctx,
               uint64_t block_linear, ScheduleChoice sched, bool race_check) {
  BlockRun& b = w.block;
  b.info = &info;
  b.body = body;
  b.ctx = ctx;
  b.n = info.block.x * info.block.y * info.block.z;
  b.fibers.assign(b.n, Fiber{});
  b.live = b.n;
  b.at_block_barrier = 0;
  b.static_used = 0;
  b.sites.clear();
  b.fault.clear();
  b.switches = 0;
  if (info.dynamic_shared) std::memset(b.dynamic.get(), 0xFF, info.dynamic_shared);
  while (w.stacks.size() < b.n) w.stacks.push_back(Stack::make(fiber_stack_bytes()));
  uint3 bidx{
      static_cast<unsigned>(block_linear % info.grid.x),
      static_cast<unsigned>(block_linear / info.grid.x % info.grid.y),
      static_cast<unsigned>(block_linear / (static_cast<uint64_t>(info.grid.x) * info.grid.y))};
  for (unsigned i = 0; i < b.n; ++i) {
    Fiber& f = b.fibers[i];
    f.ts.thread_idx = {i % info.block.x, i / info.block.x % info.block.y,
                       i / (info.block.x * info.block.y)};
    f.ts.block_idx = bidx;
    f.ts.block_dim = info.block;
    f.ts.grid_dim = info.grid;
    f.ts.linear = i;
    Stack& s = w.stacks[i];
    f.ctx = bc::make_fcontext(s.lo + s.size, s.size, fiber_entry);
  }
  std::vector<unsigned> order(b.n);
  std::iota(order.begin(), order.end(), 0u);
  if (sched.kind == Schedule::Reverse) std::reverse(order.begin(), order.end());
  std::mt19937_64 rng(sched.seed * 0x9E3779B97F4A7C15ull + block_linear);
  b.race.begin_block(b.static_arena.data(), kStaticSharedBytes, b.dynamic.get(),
                     info.dynamic_shared, b.n, race_check);
  while (b.live > 0 && b.fault.empty()) {
    if (sched.kind == Schedule::Random) std::shuffle(order.begin(), order.end(), rng);
    bool ran = false;
    for (unsigned i : order) {
      Fiber& f = b.fibers[i];
      if (f.state != State::Ready) continue;
      resume(b, f, w.stacks[i]);
      ran = true;
      if (!b.fault.empty()) break;
      if (f.state == State::Done) {
        --b.live;
        // A lane that exits may complete (or break) its warp's group, or the block barrier.
        unsigned warp = i / 32;
        for (unsigned l = warp * 32; l < std::min(b.n, warp * 32 + 32); ++l)
          if (b.fibers[l].state == State::WarpBarrier) {
            try_release_warp(b, warp, b.fibers[l].mask);
            break;
          }
      } else if (f.state == State::BlockBarrier) {
        ++b.at_block_barrier;
      } else if (f.state == State::WarpBarrier) {
        try_release_warp(b, i / 32, f.mask);
      }
      if (!b.fault.empty()) break;
      if (b.at_block_barrier > 0 && b.at_block_barrier == b.live) release_block_barrier(b);
      if (!b.fault.empty()) break;
    }
    if (!ran && b.fault.empty() && b.live > 0) set_fault(b, "deadlock: " + describe_waits(b));
  }
  b.race.end_block();
  // Fibers left suspended by a fault keep poisoned frames on their stacks.
  for (unsigned i = 0; i < b.n; ++i)
    if (b.fibers[i].state != State::Done) {
#if LETHE_EMU_ASAN
      ASAN_UNPOISON_MEMORY_REGION(w.stacks[i].lo, w.stacks[i].size);
#endif
    }
  g_switches += b.switches;
}

// ---- the block pool ----
class Pool {
 public:
  static Pool& instance() {
    static Pool p;
    return p;
  }
  unsigned size() const { return static_cast<unsigned>(threads_.size()) + 1; }
  // Runs job(worker) on every pool thread and the caller; returns when all are done.
  void run(const std::function<void(Worker&)>& job) {
    {
      std::lock_guard<std::mutex> g(m_);
      job_ = &job;
      pending_ = static_cast<unsigned>(threads_.size());
      ++generation_;
    }
    cv_.notify_all();
    job(caller_);
    std::unique_lock<std::mutex> g(m_);
    done_cv_.wait(g, [&] { return pending_ == 0; });
    job_ = nullptr;
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> g(m_);
      stop_ = true;
      ++generation_;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  Pool() {
    unsigned n = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
    if (const char* e = std::getenv("LETHE_EMU_THREADS"))
      n = std::max(1ul, std::strtoul(e, nullptr, 10));
    workers_.resize(n > 0 ? n - 1 : 0);
    for (unsigned i = 0; i + 1 < n; ++i) threads_.emplace_back([this, i] { loop(workers_[i]); });
  }
  void loop(Worker& w) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(Worker&)>* job;
      {
        std::unique_lock<std::mutex> g(m_);
        cv_.wait(g, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      tl_worker = &w;
      (*job)(w);
      tl_worker = nullptr;
      std::lock_guard<std::mutex> g(m_);
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(Worker&)>* job_ = nullptr;
  unsigned pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::vector<Worker> workers_;
  Worker caller_;
  std::vector<std::thread> threads_;
};

std::mutex g_launch_mutex;  // one grid at a time: the pool's workers are shared

}  // namespace

// ---- public API ----
ThreadState& this_thread() {
  if (!tl_fiber) throw KernelFault("emu: a device built-in was used outside a kernel");
  return tl_fiber->ts;
}

void syncthreads(const char* file, int line) {
  Fiber* f = tl_fiber;
  f->state = State::BlockBarrier;
  f->file = file;
  f->line = line;
  yield_to_scheduler();
}

namespace {
void warp_wait(unsigned mask, const char* file, int line) {
  Fiber* f = tl_fiber;
  unsigned lane = f->ts.linear & 31u;
  if (!(mask >> lane & 1u)) {
    std::ostringstream o;
    o << file << ":" << line << ": warp intrinsic called by lane " << lane << " with mask 0x"
      << std::hex << mask << " that does not name it";
    throw KernelFault(o.str());
  }
  f->state = State::WarpBarrier;
  f->file = file;
  f->line = line;
  f->mask = mask;
  yield_to_scheduler();
}
}  // namespace

void syncwarp(unsigned mask, const char* file, int line) {
  tl_fiber->xchg_src = -1;
  tl_fiber->memsync = true;
  warp_wait(mask, file, line);
  tl_fiber->memsync = false;
}

uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane, const char* file, int line) {
  Fiber* f = tl_fiber;
  f->xchg_value = value;
  f->xchg_src = src_lane;
  warp_wait(mask, file, line);
  return f->xchg_result;
}

unsigned ballot(unsigned mask, bool pred, const char* file, int line) {
  Fiber* f = tl_fiber;
  f->pred = pred;
  f->xchg_src = -1;
  warp_wait(mask, file, line);
  f->pred = false;
  return f->ballot_result;
}

void trap(const char* file, int line) {
  throw KernelFault(std::string("__trap() at ") + file + ":" + std::to_string(line));
}

void* shared_static(size_t bytes, size_t align, const char* file, int line) {
  BlockRun& b = tl_worker->block;
  for (const SharedSite& s : b.sites)
    if (s.file == file && s.line == line && s.bytes == bytes && s.align == align)
      return b.static_arena.data() + s.offset;
  size_t off = (b.static_used + align - 1) / align * align;
  if (off + bytes > kStaticSharedBytes)
    throw KernelFault(std::string(file) + ":" + std::to_string(line) +
                      ": static shared memory exceeds " + std::to_string(kStaticSharedBytes) +
                      " bytes per block");
  std::memset(b.static_arena.data() + b.static_used, 0xFF, off + bytes - b.static_used);  // NaN
  b.static_used = off + bytes;
  b.sites.push_back({file, line, bytes, align, off});
  b.race.declare_static(off, bytes, file, line);
  return b.static_arena.data() + off;
}

void* shared_dynamic() {
  return tl_worker->block.dynamic.get();
}

ScheduleChoice current_schedule() {
  if (tl_sched_override) return tl_sched;
  return parse_schedule(std::getenv("LETHE_EMU_SCHEDULE"));
}
ScheduleGuard::ScheduleGuard(ScheduleChoice c) : had_(tl_sched_override), prev_(tl_sched) {
  tl_sched_override = true;
  tl_sched = c;
}
ScheduleGuard::~ScheduleGuard() {
  tl_sched_override = had_;
  tl_sched = prev_;
}
std::string schedule_name(ScheduleChoice c) {
  switch (c.kind) {
    case Schedule::InOrder:
      return "inorder";
    case Schedule::Reverse:
      return "reverse";
    case Schedule::Random:
      return "random:" + std::to_string(c.seed);
  }
  return "?";
}

LaunchStats launch_stats() {
  return {g_launches.load(), g_blocks.load(), g_threads.load(), g_switches.load()};
}

void run_grid(const LaunchInfo& info, void (*body)(void*), void* ctx) {
  // A launch a GPU refuses does not run; the last error says why (launch_limits.cpp).
  if (check_launch(info) != cudaSuccess) return;
  uint64_t threads = static_cast<uint64_t>(info.block.x) * info.block.y * info.block.z;
  uint64_t blocks = static_cast<uint64_t>(info.grid.x) * info.grid.y * info.grid.z;
  ScheduleChoice sched = current_schedule();
  const bool race_check = race_check_enabled();
  std::lock_guard<std::mutex> launch_lock(g_launch_mutex);
  ++g_launches;
  g_blocks += blocks;
  g_threads += blocks * threads;
  std::atomic<uint64_t> next{0};
  std::mutex fault_m;
  std::string fault;
  std::atomic<bool> failed{false};
  Pool::instance().run([&](Worker& w) {
    Worker* prev = tl_worker;
    tl_worker = &w;
    if (info.dynamic_shared)
      w.block.dynamic = std::make_unique<unsigned char[]>(info.dynamic_shared);
    for (uint64_t i; !failed.load(std::memory_order_relaxed) && (i = next++) < blocks;) {
      try {
        run_block(w, info, body, ctx, i, sched, race_check);
      } catch (const std::exception& e) {
        w.block.fault = e.what();
      }
      if (!w.block.fault.empty()) {
        std::lock_guard<std::mutex> g(fault_m);
        if (fault.empty()) fault = w.block.fault;
        failed = true;
      }
    }
    w.block.race.end_block();
    w.block.dynamic.reset();
    tl_worker = prev;
  });
  if (!fault.empty()) throw KernelFault(race::symbolize(fault));
}

// ---- atomics ----
int atomicAdd(int* p, int v) {
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
unsigned atomicAdd(unsigned* p, unsigned v) {
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
namespace {
template <class F, class U, class Op>
F cas_loop(F* p, Op op) {
  U* q = reinterpret_cast<U*>(p);
  U old = __atomic_load_n(q, __ATOMIC_RELAXED), nu;
  do {
    F f;
    std::memcpy(&f, &old, sizeof f);
    F r = op(f);
    std::memcpy(&nu, &r, sizeof nu);
  } while (!__atomic_compare_exchange_n(q, &old, nu, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  F f;
  std::memcpy(&f, &old, sizeof f);
  return f;
}
}  // namespace
float atomicAdd(float* p, float v) {
  return cas_loop<float, uint32_t>(p, [v](float x) { return x + v; });
}
double atomicAdd(double* p, double v) {
  return cas_loop<double, uint64_t>(p, [v](double x) { return x + v; });
}
int atomicMax(int* p, int v) {
  return cas_loop<int, int>(p, [v](int x) { return x > v ? x : v; });
}
unsigned atomicMax(unsigned* p, unsigned v) {
  return cas_loop<unsigned, unsigned>(p, [v](unsigned x) { return x > v ? x : v; });
}
int atomicMin(int* p, int v) {
  return cas_loop<int, int>(p, [v](int x) { return x < v ? x : v; });
}
int atomicCAS(int* p, int expected, int desired) {
  __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return expected;
}
unsigned atomicCAS(unsigned* p, unsigned expected, unsigned desired) {
  __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return expected;
}
unsigned long long atomicCAS(unsigned long long* p, unsigned long long expected,
                             unsigned long long desired) {
  __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return expected;
}
int atomicExch(int* p, int v) {
  return __atomic_exchange_n(p, v, __ATOMIC_RELAXED);
}
float atomicExch(float* p, float v) {
  return cas_loop<float, uint32_t>(p, [v](float) { return v; });
}

}  // namespace lethe::emu
