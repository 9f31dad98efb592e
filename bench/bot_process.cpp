#include "bench/bot_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace releasebot::bench {

bot_process::bot_process(const std::vector<std::string>& argv, const std::string& log_file) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  spawned_at_ = std::chrono::steady_clock::now();
  const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error{"cannot start " + argv[0] + ": " + std::strerror(rc)};
}

bot_process::~bot_process() { stop(std::chrono::milliseconds{3000}); }

bool bot_process::running() {
  if (reaped_ || pid_ <= 0) return false;
  const pid_t done = ::waitpid(pid_, &status_, WNOHANG);
  if (done == pid_) reaped_ = true;
  return !reaped_;
}

int bot_process::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
    if (running()) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      reaped_ = true;
    }
  }
  if (!reaped_) return -1;
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : -WTERMSIG(status_);
}

memory_use bot_process::memory() const { return memory_of(std::to_string(pid_)); }

memory_use memory_of(const std::string& pid) {
  memory_use use;
  std::ifstream status{"/proc/" + pid + "/status"};
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields{line};
    std::string key;
    long value = 0;
    fields >> key >> value;
    if (key == "VmRSS:") use.rss_kb = value;
    if (key == "VmHWM:") use.hwm_kb = value;
    if (key == "RssAnon:") use.anon_kb = value;
    if (key == "RssFile:") use.file_kb = value;
  }
  return use;
}

double bot_process::cpu_seconds() const { return cpu_seconds_of(std::to_string(pid_)); }

double cpu_seconds_of(const std::string& pid) {
  std::ifstream stat{"/proc/" + pid + "/stat"};
  std::string line;
  if (!std::getline(stat, line)) return 0;
  // The command name (field 2) may hold spaces; fields are counted after its closing parenthesis.
  std::istringstream rest{line.substr(line.rfind(')') + 2)};
  std::string field;
  long utime = 0;
  long stime = 0;
  for (int number = 3; number <= 15 && rest >> field; ++number) {
    if (number == 14) utime = std::stol(field);
    if (number == 15) stime = std::stol(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace releasebot::bench
