// The emulator's shared-memory race detector (internal to kernels/emu; kernels never include it).
//
// How accesses are seen: the kernel translation units (the emu wrappers of kernels/cuda/*.cu and
// the proof copies) are compiled with GCC's ThreadSanitizer instrumentation (-fsanitize=thread
// without function entry/exit calls: CMake's LETHE_EMU_RACE_FLAGS), which turns every load and
// store into a call __tsan_{read,write}{1,2,4,8,16}(addr) (or a _range/_unaligned variant).
// race.cpp defines those functions instead of the TSan runtime: an address outside the running
// block's shared memory (static arena or the launch's dynamic block) returns at once; one inside
// goes to the block's Shadow. The kernel text is unchanged, and pointers to shared memory passed
// to device functions are covered like any other access. (Not ASan's outline calls: ASan checks
// `s[t] += v` once, as a load, since both touch the same bytes.) Builds with a sanitizer
// (LETHE_ASAN) cannot have both, so there the detector is absent (race_check_available() false).
//
// What is a race: two accesses to the same shared-memory word (4 bytes; bytes when a kernel
// accesses less than a word) by different threads of a block, at least one a write, with no
// barrier ordering them: read after write, write after write, write after read. __syncthreads
// orders every thread of the block; __syncwarp(mask) orders the lanes it names; shuffles and
// ballots order nothing (CUDA promises no memory ordering for them, and since Volta a warp's lanes
// are not in lockstep). Atomics (atomicAdd…) are out-of-line functions of the emulator and are
// not seen: they are never races, and they do not order plain accesses either.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lethe::emu {

// Whether the detector is compiled in (false in AddressSanitizer builds), and whether it is on:
// LETHE_EMU_RACECHECK=0 turns it off; a RaceCheckGuard overrides both on the calling thread.
bool race_check_available();
bool race_check_enabled();
class RaceCheckGuard {
 public:
  explicit RaceCheckGuard(bool on);
  ~RaceCheckGuard();
  RaceCheckGuard(const RaceCheckGuard&) = delete;
  RaceCheckGuard& operator=(const RaceCheckGuard&) = delete;

 private:
  int prev_;
};

namespace race {

// Shadow state of one word (or byte): the last write, and the reads since it (or since the last
// block barrier). Clocks count the synchronisation events of a worker; anything stamped before
// the block began belongs to an earlier block.
struct Cell {
  uint32_t wclock = 0;  // clock of the last write
  uint32_t rclock = 0;  // clock of the latest read in the read set
  uint32_t rlanes = 0;  // lanes (of warp rwarp) in the read set
  uint32_t split = 0;   // words: bytes are tracked one by one since this clock
  uint16_t writer = 0;
  uint16_t rwarp = 0;              // warp of the read set, kManyWarps when several
  uint16_t reader = 0, other = 0;  // the latest reader, and the latest one before it
  const void* wpc = nullptr;       // code addresses of the write and of those two reads
  const void* rpc = nullptr;
  const void* opc = nullptr;
};

// One worker's detector state; the scheduler drives it (block start, barriers, thread switches).
class Shadow {
 public:
  // A block starts: its shared memory is [static_base, +static_bytes) and [dyn_base, +dyn_bytes).
  void begin_block(unsigned char* static_base, size_t static_bytes, unsigned char* dyn_base,
                   size_t dyn_bytes, unsigned threads, bool enabled);
  void end_block();  // no block runs on this OS thread
  void declare_static(size_t offset, size_t bytes, const char* file, int line);
  void set_thread(unsigned linear);                 // before resuming a fiber
  void block_barrier();                             // a __syncthreads released
  void warp_barrier(unsigned warp, unsigned mask);  // a __syncwarp(mask) of warp `warp` released
  bool faulted() const { return !fault_.empty(); }
  const std::string& fault() const { return fault_; }

  // Called by the instrumentation hooks (offset within the static arena or dynamic block).
  void access(bool dynamic, size_t offset, size_t bytes, bool write, const void* pc);

 private:
  struct Decl {
    size_t offset, bytes;
    const char* file;
    int line;
  };
  void tick();
  bool ordered(unsigned from, uint32_t clock, unsigned to) const;
  void check(Cell& c, bool dynamic, size_t byte, bool write, const void* pc);
  void report(bool dynamic, size_t byte, bool write, const char* kind, unsigned other,
              const void* other_pc, const void* pc);
  std::vector<Cell> words_[2], bytes_[2];  // [static, dynamic]
  std::vector<uint32_t> pair_;             // [warp][lane a][lane b]: clock of their last __syncwarp
  std::vector<Decl> decls_;
  uint32_t clock_ = 0, block_start_ = 0, last_barrier_ = 0;
  unsigned thread_ = 0, threads_ = 0;
  std::string fault_;
};

// Replaces the code addresses in a fault message ("{pc:0x…}") by file:line when addr2line can
// resolve them (the kernel objects carry line tables), else by the function's name or address.
std::string symbolize(const std::string& message);

}  // namespace race
}  // namespace lethe::emu
