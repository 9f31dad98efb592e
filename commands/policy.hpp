// The release process as data: types, stages, paths, checklists, sign-offs, roles, permissions.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace releasebot::commands {

// Thrown by the loader; what() is one line: "<file>:<line>:<col>: <key>: <problem> — <fix>".
class policy_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct checklist_item {
  std::string id;          // short stable id, unique within its stage ("kb-updated")
  std::string text;        // what has to be true
  std::string owner_role;  // empty: only the coordinator marks it; else holders of this role may too
};

// What must be true before a release may leave a stage.
enum class gate_requirement {
  checklist,     // every checklist item done or n/a
  teams,         // every readiness team confirmed
  signoffs,      // every role the type requires has approved (latest decision per role)
  production,    // the production deployment succeeded
  review_closed  // the post-release review was closed
};

struct stage_definition {
  std::string id;    // "planning"
  std::string name;  // "Planning"
  std::vector<checklist_item> checklist;
  std::vector<gate_requirement> gate;
};

enum class version_bump { major, minor, patch };

struct release_type_definition {
  std::string id;           // "major"
  std::string description;  // one line for help/status
  std::vector<std::string> stages;              // ids, in the canonical stage order, a subset of policy::stages
  std::vector<std::string> path;                // environment ids, ends with the production environment
  std::vector<std::string> required_signoffs;   // role ids
  std::chrono::days notice_period{0};
  version_bump bump = version_bump::minor;
  // Emergency rule: may deploy to production with sign-offs pending; they become retroactive.
  bool retroactive_signoffs = false;
};

// Which roles may run a command family (admins may always; the release's own coordinator where
// `release_coordinator_may` says so).
// Every family a command names must have one (the loader refuses a policy that leaves one out).
struct permission {
  std::string command;            // the family: "open", "schedule", "deploy", …
  std::vector<std::string> roles; // role ids
  bool release_coordinator_may = true;
  bool anyone = false;            // written `family = "anyone"`: no restriction, said explicitly
};

// Chasing pending sign-offs: when, within whose working hours, and when to tell the coordinator.
struct nudge_policy {
  std::chrono::minutes after{24 * 60};        // a request unanswered this long is re-sent
  std::chrono::minutes day_start{9 * 60};     // working hours, in the assignee's own time zone
  std::chrono::minutes day_end{17 * 60};
  std::vector<unsigned> working_days{1, 2, 3, 4, 5};  // ISO weekdays, 1 = Monday
  int escalate_after = 2;                      // nudges before the coordinator hears of it
};

struct policy {
  std::string source;  // file the policy came from, for messages
  std::vector<std::string> roles;          // declared role ids
  std::string coordinator_role = "release-coordinator";
  std::vector<std::string> environments;   // in path order, local → production
  std::string production_environment = "production";
  std::vector<stage_definition> stages;    // canonical order
  std::vector<release_type_definition> types;
  std::vector<std::string> readiness_teams;
  std::vector<permission> permissions;
  std::vector<std::chrono::minutes> cutoff_reminders;  // offsets before the cut-off (0 = at the moment)
  nudge_policy nudges;                                 // optional [nudges] table; defaults above
  // Sign-off roles that approve a build: role → the environments whose build it approves (the
  // first on the release's path). A newer build there voids the approval.
  std::map<std::string, std::vector<std::string>> bound_to_build;

  const stage_definition* find_stage(std::string_view id) const;
  const release_type_definition* find_type(std::string_view id) const;
  const permission* find_permission(std::string_view command) const;
  bool has_role(std::string_view id) const;
  bool has_environment(std::string_view id) const;
  // The environment whose build this role's sign-off approves on this type, if it is bound.
  std::optional<std::string> bound_environment(const release_type_definition& type, std::string_view role) const;
  bool has_team(std::string_view id) const;
  // Position of a stage in the canonical order, or -1.
  int stage_index(std::string_view id) const;
};

// Parses and validates; every problem is a policy_error naming file, line/key and the fix.
policy load_policy(const std::filesystem::path& file);
policy parse_policy(std::string_view toml_text, std::string_view source_name);

std::string_view to_string(gate_requirement requirement);
std::optional<gate_requirement> gate_requirement_from_string(std::string_view text);

}  // namespace releasebot::commands
