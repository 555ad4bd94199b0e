// Processes of one job and the collectives between them (issue 21). A job started by an MPI
// launcher (`mpirun -np N lethe ...`) has N ranks; a plain start, or a build without MPI, has one
// rank and every collective is the identity — today's single-process program.
// Two groups exist: world() (all ranks: data-parallel training averages gradients over it) and
// self() (this rank alone: a unit of distributed work, e.g. one reference model, trains on it so
// that its result does not depend on which rank ran it).
// Collectives are blocking, called by every rank of the group in the same order.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lethe::dist {

class Communicator {
 public:
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // Element-wise sums over the group, in place, on host buffers.
  void allreduce_sum(float* data, int64_t n) const;
  void allreduce_sum(double* data, int64_t n) const;
  void allreduce_sum(int64_t* data, int64_t n) const;
  // Rank 0's values to every rank, in place.
  void broadcast(float* data, int64_t n) const;
  void broadcast_bytes(void* data, int64_t n) const;
  void barrier() const;

  static const Communicator& world();
  static const Communicator& self();

 private:
  Communicator(int rank, int size, bool world) : rank_(rank), size_(size), world_(world) {}
  int rank_, size_;
  bool world_;  // false: self(), whose collectives never leave the process
};

// The group the current work runs on: world(), or self() inside a UnitScope — a unit of
// distributed work (one sweep run, one reference model, one SISA shard) that one rank does
// alone, so that whole jobs (run_training, run_unlearning) nested in it run single-process and
// write their own run directory from whichever rank holds the unit.
const Communicator& current();
class UnitScope {
 public:
  UnitScope();
  ~UnitScope();
  UnitScope(const UnitScope&) = delete;
  UnitScope& operator=(const UnitScope&) = delete;

 private:
  const Communicator* saved_;
};

// Starts MPI when the process was started by a launcher (OpenMPI's mpirun, or a PMI/PMIx
// launcher such as Slurm's srun), and finalizes it at scope exit; otherwise does nothing and the
// job has one rank. Without a launcher MPI is not initialized at all, so a plain `lethe` start
// costs nothing and needs no MPI runtime set-up.
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

// Ends the whole job (every rank) with `code`: the path a rank takes after printing its error,
// since the other ranks may be waiting in a collective for it. Returns normally (exit) when the
// job has one rank.
[[noreturn]] void abort_job(int code);

// "rank K/N: " in a job of several ranks, "" otherwise (prefix of error lines and log names).
std::string rank_prefix();

bool mpi_compiled();
bool nccl_compiled();  // a CUDA build with nccl.h: the device all-reduce (device_collectives.h)
// What `lethe info` shows under "mpi": compiled, initialized, the library's version line, rank
// and size; and "nccl": compiled.
nlohmann::json info();

}  // namespace lethe::dist
