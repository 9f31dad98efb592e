// Wires configuration, storage, policy and adapters together and runs the event loop.
#pragma once

#include <filesystem>
#include <string>

namespace releasebot::bot {

struct application_options {
  std::string mode;  // "console" | "run"
  std::string config_path;
  std::string database_path;
  std::string as_user;
  std::string time_zone;
  std::filesystem::path executable;
};

// Returns the process exit code; every failure is reported on stderr in one clear line.
int run_application(const application_options& options);

}  // namespace releasebot::bot
