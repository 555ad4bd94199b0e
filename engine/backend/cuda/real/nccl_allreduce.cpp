// NCCL's all-reduce on device buckets, for data-parallel training of a model on CUDA devices
// (issue 21). Compiled in CUDA builds where nccl.h is found (LETHE_HAVE_NCCL); NCCL is opened
// by dlopen on the first collective, as cuBLAS is (cublas_loader.cpp): a lethe that never trains
// data-parallel on GPUs neither loads nor needs libnccl.
// One ncclComm per Communicator, created on first use from an id rank 0 draws
// (ncclGetUniqueId) and broadcasts over MPI; each rank drives the device it was given (one GPU
// per rank: CUDA_VISIBLE_DEVICES or the launcher's binding). The all-reduce is ordered on the
// backend's stream, so it follows the backward's kernels and precedes the optimizer's without
// a host synchronisation.
// NOT RUN: no GPU exists where this was written; the emulator registers no device all-reduce,
// so tests exercise the staged MPI path only. docs/KERNELS.md and ARCHITECTURE.md say so.
#if LETHE_HAVE_NCCL
#include "engine/backend/cuda/real/nccl_allreduce.h"

#include <dlfcn.h>
#include <nccl.h>

#include <map>
#include <mutex>
#include <string>

#include "engine/backend/cuda/device_backend.h"
#include "engine/core/error.h"
#include "engine/dist/device_collectives.h"

namespace lethe::kcuda {

namespace {

struct Nccl {
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  decltype(&ncclGetVersion) get_version = nullptr;
  std::string missing;  // why NCCL cannot be used ("" when it can)
};

const Nccl& nccl() {
  static const Nccl n = [] {
    Nccl r;
    void* lib = nullptr;
    for (const char* name : {"libnccl.so.2", "libnccl.so"})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
    if (!lib) {
      r.missing = "libnccl.so.2 not found (install NCCL, or put it on LD_LIBRARY_PATH)";
      return r;
    }
    auto sym = [&](const char* s) {
      void* p = dlsym(lib, s);
      if (!p && r.missing.empty()) r.missing = std::string("libnccl lacks ") + s;
      return p;
    };
    r.get_unique_id = reinterpret_cast<decltype(r.get_unique_id)>(sym("ncclGetUniqueId"));
    r.comm_init_rank = reinterpret_cast<decltype(r.comm_init_rank)>(sym("ncclCommInitRank"));
    r.all_reduce = reinterpret_cast<decltype(r.all_reduce)>(sym("ncclAllReduce"));
    r.error_string = reinterpret_cast<decltype(r.error_string)>(sym("ncclGetErrorString"));
    r.get_version = reinterpret_cast<decltype(r.get_version)>(sym("ncclGetVersion"));
    return r;
  }();
  return n;
}

void check(ncclResult_t r, const char* what) {
  LETHE_CHECK(r == ncclSuccess, "NCCL ", what, ": ",
              nccl().error_string ? nccl().error_string(r) : "error");
}

ncclComm_t comm_for(const dist::Communicator& c) {
  static std::mutex m;
  static std::map<const dist::Communicator*, ncclComm_t> comms;
  std::lock_guard<std::mutex> g(m);
  auto it = comms.find(&c);
  if (it != comms.end()) return it->second;
  ncclUniqueId id{};
  if (c.is_root()) check(nccl().get_unique_id(&id), "ncclGetUniqueId");
  c.broadcast_bytes(&id, sizeof id);  // a collective: every rank reaches it on its first bucket
  ncclComm_t comm = nullptr;
  check(nccl().comm_init_rank(&comm, c.size(), id, c.rank()), "ncclCommInitRank");
  comms.emplace(&c, comm);
  return comm;  // kept for the process's life (ncclCommDestroy at exit could hang on a peer)
}

void nccl_allreduce(const dist::Communicator& c, Tensor& buf) {
  LETHE_CHECK(nccl().missing.empty(), "data-parallel on CUDA: ", nccl().missing);
  LETHE_CHECK(on_device(buf) && buf.dtype() == DType::F32 && buf.is_contiguous(),
              "NCCL all-reduce: a contiguous float32 device tensor is required");
  DeviceBuffer d = upload(buf);  // borrowed: the tensor's own device memory
  check(nccl().all_reduce(d.get(), d.get(), static_cast<size_t>(buf.numel()), ncclFloat, ncclSum,
                          comm_for(c), backend_stream()),
        "ncclAllReduce");
}

std::string version() {
  if (!nccl().missing.empty() || !nccl().get_version) return "nccl: " + nccl().missing;
  int v = 0;
  if (nccl().get_version(&v) != ncclSuccess) return "nccl";
  return "nccl " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

}  // namespace

void register_nccl_allreduce() {
  static std::once_flag once;
  std::call_once(once, [] { dist::register_device_allreduce("cuda", &nccl_allreduce, version()); });
}

}  // namespace lethe::kcuda
#endif  // LETHE_HAVE_NCCL
