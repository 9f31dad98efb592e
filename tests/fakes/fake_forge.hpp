// A fake GitHub and GitLab for pipeline tests, on 127.0.0.1 over HTTPS with a throwaway CA: the
// workflow_dispatch endpoint (POST /repos/{owner}/{repo}/actions/workflows/{id}/dispatches, 200
// with the run's details when asked for them, else 204), GitLab's pipeline trigger (POST
// /api/v4/projects/{id}/trigger/pipeline, 201), and a release script's endpoint (POST /script).
// It records every call, can fail the next ones on command, and builds the signed webhook
// deliveries GitHub would send back about the run. Thread-safe; own thread.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace releasebot::testing {

struct forge_call {
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  int status = 0;  // what the fake answered
};

// A webhook as GitHub sends it: its headers (with X-Hub-Signature-256) and body.
struct forge_delivery {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class fake_forge {
public:
  fake_forge();
  ~fake_forge();
  fake_forge(const fake_forge&) = delete;
  fake_forge& operator=(const fake_forge&) = delete;

  std::string base_url() const;  // https://127.0.0.1:PORT
  std::string ca_file() const;

  std::vector<forge_call> calls() const;
  std::optional<forge_call> wait_for_call(const std::function<bool(const forge_call&)>& match,
                                          std::chrono::milliseconds timeout) const;
  // The next `times` calls answer `status` with {"message": message}.
  void fail_next_calls(int status, int times, std::string message);
  // Answer dispatches as an older GitHub Enterprise Server does: 422 for return_run_details.
  void refuse_run_details(bool refuse);
  // Hold the next call this long before answering (to kill the bot while it waits).
  void delay_next_call(std::chrono::milliseconds delay);

  // What GitHub would send about run `run_id` of workflow `workflow` (display title `title`).
  forge_delivery workflow_run(const std::string& secret, const std::string& delivery_id, const std::string& action,
                              const std::string& conclusion, const std::string& workflow, const std::string& title,
                              long long run_id) const;

private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace releasebot::testing
