#include "engine/core/stop_signal.h"

#include <signal.h>

#include <atomic>
#include <cstdio>

namespace lethe {
namespace {
std::atomic<int> g_stop{0};
struct sigaction g_prev_int, g_prev_term;
int g_depth = 0;  // nested guards (a run inside a run) install once

extern "C" void on_stop_signal(int sig) {
  g_stop.store(sig, std::memory_order_relaxed);
}
}  // namespace

StopSignals::StopSignals() {
  if (g_depth++ > 0) return;
  g_stop = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigaction(SIGINT, &sa, &g_prev_int);
  sigaction(SIGTERM, &sa, &g_prev_term);
}

StopSignals::~StopSignals() {
  if (--g_depth > 0) return;
  sigaction(SIGINT, &g_prev_int, nullptr);
  sigaction(SIGTERM, &g_prev_term, nullptr);
  // The flag stays set: main() exits with 128 + the signal, as a killed program would.
}

int stop_requested() {
  return g_stop.load(std::memory_order_relaxed);
}

const char* signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
  return "signal";
}

}  // namespace lethe
