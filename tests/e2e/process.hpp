// Runs the real releasebot binary with given input and captures what a user would see.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace releasebot::testing {

struct process_result {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

process_result run_process(const std::vector<std::string>& argv, const std::string& input,
                           std::chrono::seconds timeout = std::chrono::seconds{30});

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
