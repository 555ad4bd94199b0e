// SIGINT/SIGTERM stop a long run cleanly instead of killing it mid-step (issue 20, item 2): while
// a StopSignals guard lives, the first signal only sets a flag that the training loops test after
// every step (they then throw one line saying where they stopped and how to resume); a second
// signal of the same kind acts as usual (SA_RESETHAND), so an unresponsive run still dies.
#pragma once

namespace lethe {

class StopSignals {
 public:
  StopSignals();   // installs the handlers and clears the flag
  ~StopSignals();  // restores the previous handlers; the flag stays for main()'s exit code
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
};

// The signal that asked to stop (SIGINT or SIGTERM), 0 when none did.
int stop_requested();
// "SIGINT", "SIGTERM", else "signal".
const char* signal_name(int sig);

}  // namespace lethe
