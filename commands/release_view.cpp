#include "commands/release_view.hpp"

#include "commands/timers.hpp"

#include <algorithm>

namespace releasebot::commands {

namespace {

std::string minutes_text(std::optional<std::int64_t> minutes) {
  return minutes ? std::to_string(*minutes) + " min" : std::string{"?"};
}

}  // namespace

release_snapshot load_snapshot(handler_context& ctx, const storage::release_record& release) {
  release_snapshot snapshot;
  snapshot.release = release;
  snapshot.type = ctx.rules.find_type(release.type);
  snapshot.stage_marks = ctx.releases.checklist_marks(release.id, release.stage);
  snapshot.readiness = ctx.releases.readiness(release.id);
  snapshot.requests = ctx.releases.signoff_requests(release.id);
  snapshot.decisions = ctx.releases.signoff_decisions(release.id);
  snapshot.builds = ctx.releases.builds(release.id);
  snapshot.deployments = ctx.releases.deployments(release.id);
  snapshot.milestones = ctx.releases.milestones(release.id);
  snapshot.tickets = ctx.releases.tickets(release.id);
  snapshot.incidents = ctx.releases.incidents(release.id);
  snapshot.passages = ctx.releases.stage_passages(release.id);
  snapshot.review = ctx.releases.review(release.id);
  return snapshot;
}

std::vector<role_signoff> signoff_roles(const policy& rules, const release_snapshot& snapshot) {
  std::vector<role_signoff> roles;
  const auto add_role = [&roles](const std::string& role) {
    if (std::none_of(roles.begin(), roles.end(), [&](const role_signoff& r) { return r.role == role; })) {
      role_signoff entry;
      entry.role = role;
      roles.push_back(std::move(entry));
    }
  };
  if (snapshot.type != nullptr) {
    for (const auto& role : snapshot.type->required_signoffs) add_role(role);
  }
  for (const auto& request : snapshot.requests) add_role(request.role);
  const auto* signoff_stage = [&]() -> const stage_definition* {
    for (const auto& stage : rules.stages) {
      if (std::find(stage.gate.begin(), stage.gate.end(), gate_requirement::signoffs) != stage.gate.end()) {
        return &stage;
      }
    }
    return nullptr;
  }();
  const bool past_signoff = signoff_stage != nullptr &&
                            rules.stage_index(snapshot.release.stage) > rules.stage_index(signoff_stage->id);
  for (auto& role : roles) {
    for (const auto& decision : snapshot.decisions) {
      if (decision.role != role.role) continue;
      role.state = decision.decision;
      role.by = decision.decided_by;
      role.note = decision.note;
      role.build = decision.build;
      role.voided.clear();
      if (decision.voided_by_build) {
        role.state = "pending";
        role.voided = "voided by build " + (decision.build.empty() ? std::string{} : decision.build + " → ") +
                      *decision.voided_by_build;
      }
    }
    for (const auto& request : snapshot.requests) {
      if (request.role == role.role && !request.answered_at) role.asked.push_back(request.assignee);
    }
    role.retroactive = past_signoff && role.state != "approved";
  }
  return roles;
}

const storage::build_record* current_build(const release_snapshot& snapshot, std::string_view environment) {
  const storage::build_record* latest = nullptr;
  for (const auto& build : snapshot.builds) {
    if (build.environment == environment) latest = &build;
  }
  return latest;
}

std::optional<std::pair<std::string, storage::build_record>> bound_build(handler_context& ctx,
                                                                         const storage::release_record& release,
                                                                         std::string_view role) {
  const auto environment = ctx.rules.bound_environment(ctx.type_of(release), role);
  if (!environment) return std::nullopt;
  release_snapshot builds_only;
  builds_only.builds = ctx.releases.builds(release.id);
  const auto* build = current_build(builds_only, *environment);
  if (build == nullptr) return std::nullopt;
  return std::pair{*environment, *build};
}

const storage::deployment_record* latest_deployment(const release_snapshot& snapshot, std::string_view environment) {
  const storage::deployment_record* latest = nullptr;
  for (const auto& deployment : snapshot.deployments) {
    if (deployment.environment == environment) latest = &deployment;
  }
  return latest;
}

const storage::checklist_mark* mark_of(const release_snapshot& snapshot, std::string_view item) {
  for (const auto& mark : snapshot.stage_marks) {
    if (mark.item == item) return &mark;
  }
  return nullptr;
}

std::vector<std::string> gate_blockers(const policy& rules, const release_snapshot& snapshot) {
  std::vector<std::string> blockers;
  const auto* stage = rules.find_stage(snapshot.release.stage);
  if (stage == nullptr) return {"stage " + snapshot.release.stage + " is not in the policy"};
  for (const auto requirement : stage->gate) {
    switch (requirement) {
      case gate_requirement::checklist: {
        std::vector<std::string> open;
        for (std::size_t i = 0; i < stage->checklist.size(); ++i) {
          const auto* mark = mark_of(snapshot, stage->checklist[i].id);
          if (mark == nullptr || mark->state == "open") {
            open.push_back("[" + std::to_string(i + 1) + "] " + stage->checklist[i].id);
          }
        }
        if (!open.empty()) {
          blockers.push_back(std::to_string(open.size()) + " checklist item" + (open.size() == 1 ? "" : "s") +
                             " open: " + join_words(open));
        }
        break;
      }
      case gate_requirement::teams: {
        std::vector<std::string> missing;
        for (const auto& team : rules.readiness_teams) {
          if (std::none_of(snapshot.readiness.begin(), snapshot.readiness.end(),
                           [&](const storage::readiness_record& r) { return r.team == team; })) {
            missing.push_back(team);
          }
        }
        if (!missing.empty()) blockers.push_back("readiness not confirmed by: " + join_words(missing));
        break;
      }
      case gate_requirement::signoffs: {
        if (snapshot.type != nullptr && snapshot.type->retroactive_signoffs) break;  // owed afterwards
        std::vector<std::string> missing;
        for (const auto& role : signoff_roles(rules, snapshot)) {
          const bool required = snapshot.type != nullptr &&
                                std::find(snapshot.type->required_signoffs.begin(),
                                          snapshot.type->required_signoffs.end(),
                                          role.role) != snapshot.type->required_signoffs.end();
          if (!required) continue;
          if (role.state == "rejected") {
            // Who rejected is in the sign-off lines, by name; a blocker is plain words.
            missing.push_back(role.role + " (rejected)");
          } else if (role.state != "approved") {
            missing.push_back(role.role);
          }
        }
        if (!missing.empty()) blockers.push_back("sign-off missing from: " + join_words(missing));
        break;
      }
      case gate_requirement::production: {
        const auto* deployment = latest_deployment(snapshot, rules.production_environment);
        if (deployment == nullptr || deployment->outcome != "succeeded") {
          blockers.push_back(rules.production_environment + " deployment has not succeeded" +
                             (deployment != nullptr ? " (it " + deployment->outcome + ")" : ""));
        }
        break;
      }
      case gate_requirement::review_closed:
        if (!snapshot.review) {
          blockers.push_back("the review has not started (review " + snapshot.release.version + " start)");
        } else if (!snapshot.review->closed_at) {
          blockers.push_back("the review is still open (review " + snapshot.release.version + " close)");
        }
        break;
    }
  }
  return blockers;
}

int stage_position(const release_snapshot& snapshot) {
  if (snapshot.type == nullptr) return 0;
  const auto& stages = snapshot.type->stages;
  const auto it = std::find(stages.begin(), stages.end(), snapshot.release.stage);
  return it == stages.end() ? 0 : static_cast<int>(it - stages.begin()) + 1;
}

bool stage_reached(const policy& rules, const storage::release_record& release, std::string_view stage) {
  return rules.stage_index(release.stage) >= rules.stage_index(stage);
}

const stage_definition* deployment_stage(const policy& rules) {
  for (const auto& stage : rules.stages) {
    if (std::find(stage.gate.begin(), stage.gate.end(), gate_requirement::production) != stage.gate.end()) {
      return &stage;
    }
  }
  return nullptr;
}

std::string one_line_summary(handler_context& ctx, const release_snapshot& snapshot) {
  const auto& release = snapshot.release;
  std::string line = release.version + " · " + release.type + " · " + release.stage;
  if (release.state != "active") line += " (" + release.state + ")";
  std::optional<storage::milestone_record> next;
  for (const auto& milestone : snapshot.milestones) {
    if (milestone.planned_at >= ctx.from.now && (!next || milestone.planned_at < next->planned_at)) next = milestone;
  }
  line += next ? " · next: " + next->name + " " + ctx.when(next->planned_at) : " · next: —";
  const auto blockers = release.state == "active" ? gate_blockers(ctx.rules, snapshot).size() : 0;
  line += " · " + std::to_string(blockers) + (blockers == 1 ? " blocker" : " blockers");
  return line;
}

message status_message(handler_context& ctx, const release_snapshot& snapshot) {
  const auto& release = snapshot.release;
  const auto& rules = ctx.rules;
  message_builder out{message_kind::status};
  out.strong(release.version).text(" · " + release.type);
  if (!release.title.empty()) out.text(" · ").user_text(release.title);
  out.line();
  if (release.state == "active") {
    out.text("Stage: ").strong(release.stage);
    if (snapshot.type != nullptr) {
      out.text(" (" + std::to_string(stage_position(snapshot)) + " of " + std::to_string(snapshot.type->stages.size()) +
               ": " + join_words(snapshot.type->stages, " → ") + ")");
    }
  } else {
    out.text("State: ").strong(release.state);
    if (release.ended_at) out.text(" on " + ctx.when(*release.ended_at));
    if (release.cancel_reason) out.text(" — ").user_text(*release.cancel_reason);
  }
  out.line();
  out.text("Coordinator: ").mention(release.coordinator).text(" · opened " + ctx.when(release.created_at)).line();
  if (release.forced_reason) out.text("Opened with force: ").user_text(*release.forced_reason).line();

  if (snapshot.type != nullptr) {
    out.text("Path: ");
    bool first = true;
    for (const auto& environment : snapshot.type->path) {
      if (!first) out.text(" → ");
      first = false;
      const auto* deployment = latest_deployment(snapshot, environment);
      out.text(environment);
      if (deployment != nullptr) out.text(deployment->outcome == "succeeded" ? " ✓" : " (" + deployment->outcome + ")");
    }
    out.line();
  }
  if (!snapshot.milestones.empty()) {
    out.text("Schedule:");
    for (const auto& milestone : snapshot.milestones) {
      out.text(" " + milestone.name + " " + ctx.when(milestone.planned_at));
      if (const auto* deployment = latest_deployment(snapshot, milestone.name);
          deployment == nullptr && milestone.planned_at < ctx.from.now && release.state == "active") {
        out.text(" (slipped)");
      }
      out.text(";");
    }
    out.line();
  }

  const auto roles = signoff_roles(rules, snapshot);
  if (!roles.empty()) {
    out.text("Sign-offs:");
    for (const auto& role : roles) {
      out.text(" " + role.role + " ");
      if (role.state == "approved") {
        out.text("✓ ").mention(role.by);
        if (!role.build.empty()) out.text(" (build ").user_text(role.build).text(")");
      } else if (role.state == "rejected") {
        out.text("✗ rejected by ").mention(role.by);
        if (!role.note.empty()) out.text(" (").user_text(role.note).text(")");
      } else {
        out.text(role.retroactive ? "owed (retroactive)" : "pending");
        if (!role.voided.empty()) out.text(" (approval by ").mention(role.by).text(" ").user_text(role.voided).text(")");
        if (!role.asked.empty()) {
          out.text(", asked");
          for (const auto& user : role.asked) out.text(" ").mention(user);
        }
      }
      out.text(";");
    }
    out.line();
  }

  if (release.state == "active") {
    if (const auto* stage = rules.find_stage(release.stage); stage != nullptr && !stage->checklist.empty()) {
      std::size_t settled = 0;
      std::vector<std::string> open;
      for (std::size_t i = 0; i < stage->checklist.size(); ++i) {
        const auto* mark = mark_of(snapshot, stage->checklist[i].id);
        if (mark != nullptr && mark->state != "open") {
          ++settled;
        } else {
          open.push_back("[" + std::to_string(i + 1) + "] " + stage->checklist[i].text);
        }
      }
      out.text("Checklist (" + stage->id + "): " + std::to_string(settled) + "/" +
               std::to_string(stage->checklist.size()) + " done");
      if (!open.empty()) out.text(" — open: " + join_words(open, "; "));
      out.line();
    }
  }
  if (!snapshot.readiness.empty()) {
    std::vector<std::string> teams;
    for (const auto& ready : snapshot.readiness) teams.push_back(ready.team);
    out.text("Ready: " + join_words(teams)).line();
  }
  if (!snapshot.tickets.empty()) {
    const auto resolved = std::count_if(snapshot.tickets.begin(), snapshot.tickets.end(),
                                        [](const storage::ticket_record& t) { return t.resolved; });
    out.text("Tickets: " + std::to_string(snapshot.tickets.size()) + " (" + std::to_string(resolved) + " resolved)")
        .line();
  }
  if (!snapshot.builds.empty()) {
    out.text("Builds:");
    for (const auto& environment : rules.environments) {
      const auto* build = current_build(snapshot, environment);
      if (build == nullptr) continue;
      out.text(" " + environment + " ").user_text(build->build);
      if (!build->commit.empty()) out.text(" (").user_text(build->commit.substr(0, 12)).text(")");
      out.text(";");
    }
    out.line();
  }
  for (const auto& deployment : snapshot.deployments) {
    out.text("Deployment " + deployment.environment + ": " + deployment.outcome + ", started " +
             ctx.when(deployment.started_at) + " by ");
    ctx.name_actor(out, deployment.started_by);
    out.text(", downtime est " + minutes_text(deployment.estimated_downtime) + " / actual " +
              minutes_text(deployment.actual_downtime));
    if (const auto [steps, last] = ctx.releases.latest_deployment_steps(deployment.id, 1); steps > 0) {
      out.text(", " + std::to_string(steps) + (steps == 1 ? " step" : " steps") + ", last: ").user_text(last.back().text);
    }
    if (!deployment.reason.empty()) out.text(" — ").user_text(deployment.reason);
    out.line();
  }
  if (!snapshot.incidents.empty()) {
    out.text("Incidents: " + std::to_string(snapshot.incidents.size()) + " (");
    std::vector<std::string> severities;
    for (const auto& incident : snapshot.incidents) severities.push_back(incident.severity);
    out.text(join_words(severities) + ")").line();
  }
  if (release.unit_tests) out.text("Unit tests: " + std::to_string(*release.unit_tests)).line();
  for (const auto& passage : snapshot.passages) {
    if (passage.override_reason) {
      out.text("Gate of " + passage.stage + " overridden by ").mention(passage.override_by.value_or("?"));
      out.text(": ").user_text(*passage.override_reason).line();
    }
  }
  if (release.state == "active") {
    if (const auto pending = ctx.timers.pending_for(release.id); !pending.empty()) {
      out.text("Next reminder: " + describe_timer(ctx, pending.front())).line();
    }
    const auto blockers = gate_blockers(rules, snapshot);
    if (blockers.empty()) {
      out.text("Next: the " + release.stage + " gate passes — advance " + release.version).line();
    } else {
      out.text("Blocks the next stage: " + join_words(blockers, "; ")).line();
    }
  }
  return out.build();
}

}  // namespace releasebot::commands
