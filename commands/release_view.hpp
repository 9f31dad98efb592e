// Internal to commands/: a release read whole, its gates, and how status shows it.
#pragma once

#include "commands/handler_context.hpp"

namespace releasebot::commands {

struct release_snapshot {
  storage::release_record release;
  const release_type_definition* type = nullptr;
  std::vector<storage::checklist_mark> stage_marks;  // for the current stage
  std::vector<storage::readiness_record> readiness;
  std::vector<storage::signoff_request_record> requests;
  std::vector<storage::signoff_decision_record> decisions;
  std::vector<storage::deployment_record> deployments;
  std::vector<storage::milestone_record> milestones;
  std::vector<storage::ticket_record> tickets;
  std::vector<storage::incident_record> incidents;
  std::vector<storage::stage_passage_record> passages;
  std::optional<storage::review_record> review;
  std::vector<storage::build_record> builds;  // oldest first
};

release_snapshot load_snapshot(handler_context& ctx, const storage::release_record& release);

struct role_signoff {
  std::string role;
  std::string state = "pending";  // approved | rejected | pending
  std::string by;
  std::string note;
  bool retroactive = false;       // still owed after the release went past signoff
  std::vector<std::string> asked;  // unanswered requests
  std::string build;               // approved: the build it approved, when bound to builds
  std::string voided;              // pending again: "voided by build 1234 → 1240"
};

// Every role the type requires, then any other role someone was asked for.
std::vector<role_signoff> signoff_roles(const policy& rules, const release_snapshot& snapshot);

// The build running on an environment (the latest reported), if any.
const storage::build_record* current_build(const release_snapshot& snapshot, std::string_view environment);

// For a role the policy binds to builds: its environment and the build running there, if any.
// Reads the release's builds only.
std::optional<std::pair<std::string, storage::build_record>> bound_build(handler_context& ctx,
                                                                         const storage::release_record& release,
                                                                         std::string_view role);

// Asks one person for a role's sign-off: the card with its buttons by DM, and the nudge.
// `why` (optional) is said first on the card ("Build 1240 reached uat; …").
storage::row_id request_signoff(handler_context& ctx, const storage::release_record& release, const std::string& role,
                                const std::string& user, std::string_view why = {});

// The latest deployment to an environment, if any.
const storage::deployment_record* latest_deployment(const release_snapshot& snapshot, std::string_view environment);

// What keeps the release in its current stage, each in plain words; empty when the gate passes.
std::vector<std::string> gate_blockers(const policy& rules, const release_snapshot& snapshot);

// The state of one checklist item of the current stage ("open" when never marked).
const storage::checklist_mark* mark_of(const release_snapshot& snapshot, std::string_view item);

int stage_position(const release_snapshot& snapshot);  // 1-based within the type's stages
bool stage_reached(const policy& rules, const storage::release_record& release, std::string_view stage);
// The stage whose gate needs the production deployment ("deployment" by default).
const stage_definition* deployment_stage(const policy& rules);

message status_message(handler_context& ctx, const release_snapshot& snapshot);
std::string one_line_summary(handler_context& ctx, const release_snapshot& snapshot);

}  // namespace releasebot::commands
