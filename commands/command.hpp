// Typed commands: what the parser makes of a line of text (or a button click).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace releasebot::commands {

struct help_command { std::string topic; };
struct open_command {
  std::string version;
  std::string type;
  std::string title;
  std::optional<std::string> force_reason;
};
struct list_command { std::string filter = "active"; bool make_public = false; };
struct status_command { std::optional<std::string> version; bool make_public = false; };
struct schedule_command { std::string version; std::string milestone; std::string when; };
struct advance_command { std::string version; std::optional<std::string> force_reason; };
struct check_command {
  std::string version;
  std::optional<std::string> item;
  std::optional<std::string> state;  // done | na | open
  std::string note;
};
struct ready_command { std::string version; std::string team; std::string note; };
struct scope_command { std::string version; std::string operation; std::vector<std::string> tickets; };
struct close_command { std::string version; };
struct cancel_command { std::string version; std::string reason; };
struct signoff_command { std::string version; std::string role; std::vector<std::string> users; };
struct decide_command {
  std::string version;
  bool approve = true;
  std::optional<std::string> role;
  std::string note;  // the reason, for a rejection
};
// A sign-off button: only the person asked may use it.
struct click_command { std::int64_t request_id = 0; bool approve = true; };
struct cutoff_command { std::string version; std::string when; };
struct deploy_command {
  std::string version;
  std::string environment;
  std::string action;  // run | start | step | done | failed | rollback
  std::optional<int> downtime_minutes;
  std::string text;
  // A forge reports one deployment several times (requested, then in progress): a start of a
  // deployment already running, or an end already recorded, is then answered, not refused.
  bool repeat_is_harmless = false;
  // The build the pipeline deployed, when it says (recorded as `build` would).
  std::string build;
  std::string commit;
  std::string url;
};
// `build <version> <build-id> [on <env>] [commit <sha>] [<url>]`: the release candidate on an environment.
struct build_command {
  std::string version;
  std::string build;
  std::string environment;  // empty: the environment of the release's latest deployment
  std::string commit;
  std::string url;
};
struct incident_command { std::string version; std::string severity; std::string description; };
struct review_command {
  std::string version;
  std::string action;  // start | add | close
  std::string kind;    // good | improve | action
  std::string text;
  std::optional<std::string> owner;
};
struct report_command { std::optional<std::string> from; std::optional<std::string> to; bool make_public = false; };
struct audit_command { std::optional<std::string> version; bool verify = false; };
struct role_command { std::string user; std::string operation; std::string role; };
struct roles_command { std::optional<std::string> user; };
struct tests_command { std::string version; std::int64_t count = 0; };

using command = std::variant<help_command, open_command, list_command, status_command, schedule_command,
                             advance_command, check_command, ready_command, scope_command, close_command,
                             cancel_command, signoff_command, decide_command, click_command, cutoff_command,
                             deploy_command, incident_command, review_command, report_command, audit_command,
                             role_command, roles_command, tests_command, build_command>;

// The name people know the command by ("open", "deploy"), for logs and audit.
std::string command_name(const command& value);

}  // namespace releasebot::commands
