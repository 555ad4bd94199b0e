#include "engine/dist/communicator.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

#ifdef LETHE_HAVE_MPI
#include <mpi.h>
#endif

namespace lethe::dist {

namespace {

bool g_mpi_active = false;  // MPI_Init done by Session (so collectives of world() go to MPI)
int g_rank = 0, g_size = 1;

// A launcher's environment: OpenMPI's mpirun, MPICH/Hydra or Slurm (PMI), PMIx.
bool started_by_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (const char* s = std::getenv(v); s && *s) return true;
  return false;
}

#ifdef LETHE_HAVE_MPI
// MPI counts are int: large buffers go in pieces.
template <class T>
void allreduce_chunks(T* data, int64_t n, MPI_Datatype type) {
  for (int64_t off = 0; off < n;) {
    const int c = static_cast<int>(std::min<int64_t>(n - off, INT_MAX / 2));
    MPI_Allreduce(MPI_IN_PLACE, data + off, c, type, MPI_SUM, MPI_COMM_WORLD);
    off += c;
  }
}
#endif

}  // namespace

const Communicator& Communicator::world() {
  static const Communicator w(g_rank, g_size, true);
  return w;
}

const Communicator& Communicator::self() {
  static const Communicator s(0, 1, false);
  return s;
}

namespace {
const Communicator* g_current = nullptr;  // nullptr: world()
}  // namespace

const Communicator& current() {
  return g_current ? *g_current : Communicator::world();
}

UnitScope::UnitScope() : saved_(g_current) {
  g_current = &Communicator::self();
}

UnitScope::~UnitScope() {
  g_current = saved_;
}

void Communicator::allreduce_sum(float* data, int64_t n) const {
#ifdef LETHE_HAVE_MPI
  if (world_ && size_ > 1) allreduce_chunks(data, n, MPI_FLOAT);
#else
  (void)data, (void)n;
#endif
}

void Communicator::allreduce_sum(double* data, int64_t n) const {
#ifdef LETHE_HAVE_MPI
  if (world_ && size_ > 1) allreduce_chunks(data, n, MPI_DOUBLE);
#else
  (void)data, (void)n;
#endif
}

void Communicator::allreduce_sum(int64_t* data, int64_t n) const {
#ifdef LETHE_HAVE_MPI
  if (world_ && size_ > 1) allreduce_chunks(data, n, MPI_INT64_T);
#else
  (void)data, (void)n;
#endif
}

void Communicator::broadcast(float* data, int64_t n) const {
  broadcast_bytes(data, n * static_cast<int64_t>(sizeof(float)));  // a broadcast only copies
}

void Communicator::broadcast_bytes(void* data, int64_t n) const {
#ifdef LETHE_HAVE_MPI
  if (!world_ || size_ == 1) return;
  auto* p = static_cast<char*>(data);
  for (int64_t off = 0; off < n;) {
    const int c = static_cast<int>(std::min<int64_t>(n - off, INT_MAX / 2));
    MPI_Bcast(p + off, c, MPI_BYTE, 0, MPI_COMM_WORLD);
    off += c;
  }
#else
  (void)data, (void)n;
#endif
}

void Communicator::barrier() const {
#ifdef LETHE_HAVE_MPI
  if (world_ && size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

Session::Session(int& argc, char**& argv) {
#ifdef LETHE_HAVE_MPI
  if (!started_by_launcher()) return;
  // FUNNELED: only the main thread calls MPI (OpenMP workers and the loader thread never do).
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_mpi_active = true;
#else
  (void)argc, (void)argv;
  if (started_by_launcher())
    std::fprintf(stderr,
                 "lethe: warning: started by an MPI launcher, but this build has no MPI: every "
                 "process runs the whole job alone (install libopenmpi-dev and rebuild)\n");
#endif
}

Session::~Session() {
#ifdef LETHE_HAVE_MPI
  if (g_mpi_active) MPI_Finalize();
#endif
}

void abort_job(int code) {
#ifdef LETHE_HAVE_MPI
  if (g_mpi_active && g_size > 1) {
    std::fflush(stderr);
    std::fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, code);
  }
#endif
  std::exit(code);
}

std::string rank_prefix() {
  if (g_size <= 1) return "";
  return "rank " + std::to_string(g_rank) + "/" + std::to_string(g_size) + ": ";
}

bool mpi_compiled() {
#ifdef LETHE_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool nccl_compiled() {
#if LETHE_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

nlohmann::json info() {
  nlohmann::json mpi = {{"compiled", mpi_compiled()}, {"initialized", g_mpi_active}};
#ifdef LETHE_HAVE_MPI
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(version, &len);
  std::string v(version, static_cast<size_t>(len));
  mpi["library"] = v.substr(0, v.find_first_of("\n,"));  // the first clause: name and version
  int major = 0, minor = 0;
  MPI_Get_version(&major, &minor);
  mpi["standard"] = std::to_string(major) + "." + std::to_string(minor);
#else
  mpi["status"] = "built without MPI: one process (install libopenmpi-dev and rebuild)";
#endif
  mpi["rank"] = g_rank;
  mpi["ranks"] = g_size;
  if (!g_mpi_active) mpi["launched"] = "no launcher: one rank (use mpirun -np N lethe ...)";
  nlohmann::json nccl = {{"compiled", nccl_compiled()}};
  if (!nccl_compiled())
    nccl["status"] =
        "not in this build (a CUDA build with nccl.h): gradients of device tensors are staged "
        "through host memory for MPI";
  else
    nccl["status"] =
        "compiled, opened on the first data-parallel step of a model on CUDA (never run on a GPU "
        "here); emu tensors use the staged MPI path";
  return {{"mpi", mpi}, {"nccl", nccl}};
}

}  // namespace lethe::dist
