// Runs typed commands against the release process: permissions, policy, state, audit, outbox.
#pragma once

#include "commands/command.hpp"
#include "commands/message.hpp"
#include "commands/policy.hpp"
#include "storage/database.hpp"
#include "storage/outbox.hpp"
#include "storage/release_repository.hpp"
#include "storage/timer_store.hpp"

#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace releasebot::commands {

// Who sent a command, from where, and when.
struct request {
  std::string platform;   // "console", "slack", "teams"
  std::string event_id;   // unique per delivery of the platform's event
  std::string user;       // stable platform user id
  std::string channel;    // where it was said
  std::string thread;     // thread it was said in, if any
  std::string time_zone;  // the speaker's IANA zone; empty: the configured default
  std::chrono::sys_seconds now{};
};

// A system that acts through the bot (a pipeline posting to a webhook): which command families
// its signed requests may run, and how messages name it ("by the release script").
struct trusted_source {
  std::string display_name;
  std::vector<std::string> families;
};

struct engine_settings {
  std::vector<std::string> admins;              // user ids
  std::string default_time_zone = "UTC";
  std::map<std::string, std::string> release_channels;  // platform → configured release channel
  std::map<std::string, trusted_source, std::less<>> sources;  // "webhook:<name>" → what it may do
  // Environments whose deployment `deploy <version> <env> run` starts: environment → the
  // pipeline's name ("GitHub Actions"). Its requests go out through the outbox's "pipeline" platform.
  std::map<std::string, std::string, std::less<>> pipelines;
};

// The outbox row of a pipeline start: platform "pipeline", destination "channel", channel the
// environment, recipient whoever asked; the payload is pipeline_run_payload.
inline constexpr std::string_view pipeline_platform = "pipeline";

// What the asker is told; effects on other people go through the outbox.
struct outcome {
  message reply;
  bool changed = false;      // false: nothing was written, the caller may roll back
  bool make_public = false;  // the asker asked for the answer to be shown to the channel
};

// A refusal: nothing may change. The text names the problem and the fix in one line; a refusal
// that names people carries it as a message, so that each platform shows them by name.
class command_refused : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
  explicit command_refused(message said) : std::runtime_error{said.plain_text()}, said_{std::move(said)} {}
  const std::optional<message>& said() const { return said_; }

private:
  std::optional<message> said_;
};

class engine {
public:
  engine(storage::database& db, const policy& rules, engine_settings settings);

  // Must run inside the caller's transaction; throws command_refused (the caller rolls back).
  outcome execute(const request& from, const command& what);

  // Does what a durable timer is for, inside the caller's transaction; false: nothing to do.
  bool fire(const storage::timer_record& timer, std::chrono::sys_seconds now, bool late);

  const policy& rules() const { return rules_; }
  const engine_settings& settings() const { return settings_; }
  storage::database& db() { return db_; }

private:
  storage::database& db_;
  const policy& rules_;
  engine_settings settings_;
};

// An outbox message about `release` for its channel on its platform; the caller sets where
// exactly (destination, recipient). Handlers and the outbox pump's delivery notices use it.
storage::outbox_message addressed(const storage::release_record& release, const message& body, storage::instant now);

// Help text, generated from the command registry; who may run a command comes from `rules`.
message help_message(std::string_view topic, const policy& rules);

}  // namespace releasebot::commands
