// Runs the real releasebot binary with given input and captures what a user would see.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace releasebot::testing {

struct process_result {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

process_result run_process(const std::vector<std::string>& argv, const std::string& input,
                           std::chrono::seconds timeout = std::chrono::seconds{30});

// One plain HTTP/1.1 request to 127.0.0.1:port (Connection: close); status 0 when nothing answered.
struct http_reply {
  int status = 0;
  std::string content_type;
  std::string body;
};
http_reply http_request(unsigned short port, const std::string& method, const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& headers = {},
                        const std::string& body = {});

// A TCP port on 127.0.0.1 free right now, for a bot's [http] listen (suites run side by side).
unsigned short free_port();

// A fresh directory under the system temp folder, removed with the object.
class temp_dir {
public:
  temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

}  // namespace releasebot::testing

namespace releasebot::testing {

// A process kept running while the test talks to it and watches its output.
class running_process {
public:
  explicit running_process(const std::vector<std::string>& argv);
  running_process(const running_process&) = delete;
  running_process& operator=(const running_process&) = delete;
  ~running_process();

  void write(const std::string& text);
  void close_input();
  // Waits until standard output contains `text` (searching all output so far); false on timeout.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  // The same for standard error, where the bot's log goes.
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout);
  void signal(int number);
  int wait();  // exit code, or -signal
  int pid() const { return pid_; }  // -1 once waited for
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

private:
  void pump(std::chrono::milliseconds timeout);
  bool wait_for(const std::string& seen, const std::string& text, std::chrono::milliseconds timeout);
  int pid_ = -1;
  int in_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

// `binary run` with no Slack or Teams credentials in the environment (the HTTP server, webhooks
// and pipelines only), returned once its /healthz on `port` answers (or after 3 s).
std::unique_ptr<running_process> start_http_bot(const std::string& binary, const std::string& db,
                                                const std::string& config, unsigned short port);

}  // namespace releasebot::testing
