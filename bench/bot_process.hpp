// The bot under test for the benchmarks: spawned with its output in a log file (a long run must
// never block on a full pipe), and what /proc says about its memory and CPU time.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace releasebot::bench {

struct memory_use {
  long rss_kb = 0;   // VmRSS: resident now
  long hwm_kb = 0;   // VmHWM: the most it was resident so far
  long anon_kb = 0;  // RssAnon: heap, stacks (the bot's own)
  long file_kb = 0;  // RssFile: mapped files, mostly shared libraries' code
};

// CPU seconds (user + system) a process has used, from /proc/<pid>/stat ("self" for this one).
double cpu_seconds_of(const std::string& pid);
// Its memory, from /proc/<pid>/status ("self" for this one).
memory_use memory_of(const std::string& pid);

class bot_process {
public:
  // Spawns argv[0] with standard input from /dev/null and standard output and error appended to
  // log_file; the spawn time is taken just before posix_spawn.
  bot_process(const std::vector<std::string>& argv, const std::string& log_file);
  ~bot_process();  // stop(), bounded
  bot_process(const bot_process&) = delete;
  bot_process& operator=(const bot_process&) = delete;

  int pid() const { return pid_; }
  std::chrono::steady_clock::time_point spawned_at() const { return spawned_at_; }
  bool running();
  // SIGTERM, then SIGKILL if it has not exited within `grace`; exit code, or -signal.
  int stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

  memory_use memory() const;      // from /proc/<pid>/status
  double cpu_seconds() const;     // utime + stime from /proc/<pid>/stat

private:
  int pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::chrono::steady_clock::time_point spawned_at_{};
};

}  // namespace releasebot::bench
