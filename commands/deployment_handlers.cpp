// Handlers for deployments along the type's path, and incidents caused by a release.
#include "commands/release_view.hpp"
#include "commands/timers.hpp"

#include <algorithm>
#include <map>

namespace releasebot::commands {

namespace {

// Pre-production deployments are recorded from this stage on.
constexpr std::string_view first_deploying_stage = "regression";

void require_may_start(handler_context& ctx, storage::release_record& release, const release_type_definition& type,
                       const release_snapshot& snapshot, const std::string& environment,
                       const std::string& new_build = {}) {
  const auto at = std::find(type.path.begin(), type.path.end(), environment);
  if (at != type.path.begin()) {
    const auto& previous = *(at - 1);
    const auto* before = latest_deployment(snapshot, previous);
    if (before == nullptr || before->outcome != "succeeded") {
      ctx.refuse(environment + " comes after " + previous + ", which has " +
                 (before == nullptr ? std::string{"not been deployed"} : before->outcome) + " — deploy " +
                 release.version + " " + previous + " start first");
    }
  }
  if (const auto* current = latest_deployment(snapshot, environment)) {
    if (current->outcome == "running") ctx.refuse(release.version + " is already deploying to " + environment);
    // A new build may follow a successful deployment (named with the start, or recorded with
    // `build` since it ended); the same one again is a mistake.
    const auto* running = current_build(snapshot, environment);
    const bool another_build = !new_build.empty() && (running == nullptr || running->build != new_build);
    const bool built_since =
        new_build.empty() && running != nullptr && running->build != ctx.releases.deployment_build(current->id);
    if (current->outcome == "succeeded" && !another_build && !built_since) {
      ctx.refuse(release.version + " already succeeded on " + environment +
                 (new_build.empty() ? " — to deploy a new build there, record it first: build " + release.version +
                                          " <build-id> on " + environment
                                    : std::string{" with build "} + new_build));
    }
  }
  if (ctx.rules.find_stage(first_deploying_stage) != nullptr &&
      !stage_reached(ctx.rules, release, first_deploying_stage)) {
    ctx.refuse(release.version + " is in " + release.stage + "; deployments are recorded from " +
               std::string{first_deploying_stage} + " on");
  }
  const auto* deploying = deployment_stage(ctx.rules);
  if (environment == ctx.rules.production_environment && deploying != nullptr &&
      !stage_reached(ctx.rules, release, deploying->id) && !type.retroactive_signoffs) {
    ctx.refuse(ctx.rules.production_environment + " needs " + release.version + " in the " + deploying->id +
               " stage (it is in " + release.stage + ") — advance " + release.version + " first");
  }
}

// An emergency goes to production before its gates: it jumps to the deployment stage, audited.
void jump_to_deployment_stage(handler_context& ctx, storage::release_record& release, const release_type_definition& type) {
  const auto* deploying = deployment_stage(ctx.rules);
  if (deploying == nullptr || stage_reached(ctx.rules, release, deploying->id)) return;
  if (std::find(type.stages.begin(), type.stages.end(), deploying->id) == type.stages.end()) return;
  const std::string from_stage = release.stage;
  ctx.releases.leave_stage(release.id, from_stage, ctx.from.now, ctx.from.user,
                           std::string{"emergency deployment to production"});
  ctx.releases.enter_stage(release.id, deploying->id, ctx.from.now);
  ctx.releases.set_stage(release.id, deploying->id);
  release.stage = deploying->id;
  ctx.audit(&release, "advance_emergency", {{"from", from_stage}, {"to", deploying->id}});
}

std::int64_t minutes_between(storage::instant from, storage::instant to) {
  const auto seconds = (to - from).count();
  return seconds <= 0 ? 0 : (seconds + 59) / 60;
}

// Each deployment's steps are one thread message, edited in place as steps arrive (the outbox
// sends only the newest of several waiting edits); `final` edits it once more when the deployment
// ends, if it has one.
void show_progress(handler_context& ctx, const storage::release_record& release,
                   const storage::deployment_record& deployment, std::string_view state, bool final = false) {
  const auto posted = ctx.releases.progress_message(deployment.id);
  if (final && !posted) return;
  constexpr int shown = 12;
  const auto [total, steps] = ctx.releases.latest_deployment_steps(deployment.id, shown);
  message_builder progress{message_kind::announcement};
  progress.text("🔧 ").strong(release.version).text(" → " + deployment.environment + ", " + std::string{state} + ": ");
  progress.text(std::to_string(total) + (total == 1 ? " step" : " steps"));
  if (total > shown) progress.line().text("… " + std::to_string(total - shown) + " earlier");
  for (const auto& step : steps) {
    progress.line().text("• ").user_text(step.text).text(" (");
    ctx.name_actor(progress, step.reported_by);
    progress.text(")");
  }
  auto out = addressed(release, progress.build(), ctx.from.now);
  out.destination = "thread";
  out.updates = posted;
  const auto id = ctx.outbox.enqueue(out);
  ctx.changed = true;
  if (!posted) ctx.releases.set_progress_message(deployment.id, id);
}

// A build reached an environment: recorded and announced, unless it is the one already there;
// the approvals the policy binds to that environment's build, given for another, are voided and
// their people asked again. Returns whether anything changed.
bool record_build(handler_context& ctx, const storage::release_record& release, const std::string& environment,
                  const std::string& build, const std::string& commit, const std::string& url) {
  const auto& type = ctx.type_of(release);
  const auto snapshot = load_snapshot(ctx, release);
  const auto* previous = current_build(snapshot, environment);
  if (previous != nullptr && previous->build == build) return false;
  const std::string previous_build = previous != nullptr ? previous->build : std::string{};
  ctx.releases.add_build(release.id, {environment, build, commit, url, ctx.from.user, ctx.from.now});
  if (const auto* deployment = latest_deployment(snapshot, environment); deployment && deployment->outcome == "running") {
    ctx.releases.set_deployment_build(deployment->id, build);
  }
  ctx.audit(&release, "build",
            {{"environment", environment}, {"build", build}, {"commit", commit}, {"url", url}, {"previous", previous_build}});
  message_builder announcement{message_kind::announcement};
  announcement.text("📦 ").strong(release.version).text(" build ").user_text(build).text(" is on ").strong(environment);
  if (!previous_build.empty()) announcement.text(" (was ").user_text(previous_build).text(")");
  if (!commit.empty()) announcement.text(" — commit ").user_text(commit.substr(0, 12));
  if (!url.empty()) announcement.text(" ").user_text(url);
  announcement.text(" — reported by ");
  ctx.name_actor(announcement, ctx.from.user);

  // The latest decision of each bound role decides; an approval for another build no longer counts.
  // An approval given before any build was recorded there stays (it may predate builds being
  // reported at all), and so does one the release can no longer collect again (past sign-off).
  std::map<std::string, const storage::signoff_decision_record*> latest;
  for (const auto& decision : snapshot.decisions) latest[decision.role] = &decision;
  const auto* deploying = deployment_stage(ctx.rules);
  const bool can_ask_again =
      type.retroactive_signoffs || deploying == nullptr || !stage_reached(ctx.rules, release, deploying->id);
  std::vector<std::pair<std::string, std::string>> ask_again;  // role, person
  for (const auto& [role, decision] : latest) {
    if (ctx.rules.bound_environment(type, role) != environment) continue;
    if (decision->decision != "approved" || decision->voided_by_build || decision->build == build) continue;
    if (decision->build.empty() && previous_build.empty()) continue;
    if (!can_ask_again) {
      announcement.line().text(role + " approved build ").user_text(decision->build).text(" and it stands: ");
      announcement.strong(release.version).text(" is past sign-off");
      continue;
    }
    ctx.releases.void_signoff_decision(decision->id, build);
    ctx.audit(&release, "signoff_voided",
              {{"role", role}, {"approved_by", decision->decided_by}, {"approved_build", decision->build},
               {"build", build}, {"environment", environment}});
    announcement.line().text("♻️ " + role + " sign-off by ").mention(decision->decided_by);
    if (decision->build.empty()) {
      announcement.text(" voided by build ").user_text(build);
    } else {
      announcement.text(" voided by build ").user_text(decision->build).text(" → ").user_text(build);
    }
    announcement.text(" — asking ").mention(decision->decided_by).text(" again");
    ask_again.emplace_back(role, decision->decided_by);
  }
  ctx.announce_in_thread(release, announcement.build(), !ask_again.empty());
  for (const auto& [role, person] : ask_again) {
    const auto previous_text = latest.at(role)->build.empty() ? std::string{"the build you approved"}
                                                              : "build " + latest.at(role)->build;
    request_signoff(ctx, release, role, person,
                    "Build " + build + " reached " + environment + " after you approved " + previous_text +
                        ", so your " + role + " sign-off no longer counts.");
  }
  return true;
}

}  // namespace

outcome handle(handler_context& ctx, const build_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("deploy", &release);
  const auto& type = ctx.type_of(release);
  std::string environment = cmd.environment;
  if (environment.empty()) {
    const auto snapshot = load_snapshot(ctx, release);
    if (snapshot.deployments.empty()) {
      ctx.refuse(release.version + " has no deployment yet — say where the build is: build " + release.version + " " +
                 cmd.build + " on <environment>");
    }
    environment = snapshot.deployments.back().environment;
  }
  if (std::find(type.path.begin(), type.path.end(), environment) == type.path.end()) {
    ctx.refuse(environment + " is not on " + release.version + "'s path (" + join_words(type.path, " → ") + ")");
  }
  if (cmd.build.size() > 64 || cmd.commit.size() > 64 || cmd.url.size() > 500) {
    ctx.refuse("a build id or commit is at most 64 characters, a link 500");
  }
  message_builder reply;
  if (!record_build(ctx, release, environment, cmd.build, cmd.commit, cmd.url)) {
    reply.text("Build ").user_text(cmd.build).text(" is already the one on " + environment + ".");
    return query_reply(reply.build());
  }
  reply.text("Recorded build ").user_text(cmd.build).text(" of ").strong(release.version).text(" on " + environment + ".");
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const deploy_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("deploy", &release);
  const auto& type = ctx.type_of(release);
  if (std::find(type.path.begin(), type.path.end(), cmd.environment) == type.path.end()) {
    ctx.refuse(cmd.environment + " is not on " + release.version + "'s path (" + join_words(type.path, " → ") + ")");
  }
  const auto snapshot = load_snapshot(ctx, release);
  const auto* current = latest_deployment(snapshot, cmd.environment);
  message_builder announcement{message_kind::announcement};
  message_builder reply;
  bool broadcast = true;

  if (cmd.repeat_is_harmless && current != nullptr) {
    // The forge told us again: answered with what is recorded, nothing new announced.
    const auto* running = current_build(snapshot, cmd.environment);
    const bool same_build = cmd.build.empty() || (running != nullptr && running->build == cmd.build);
    const bool repeated = (cmd.action == "start" && (current->outcome == "running" ||
                                                     (current->outcome == "succeeded" && same_build))) ||
                          (cmd.action == "done" && current->outcome == "succeeded") ||
                          (cmd.action == "failed" && current->outcome == "failed");
    if (repeated) {
      message_builder known;
      known.text("Already recorded: ").strong(release.version).text(" on " + cmd.environment + " is " +
                                                                    (current->outcome == "running" ? "deploying"
                                                                                                   : current->outcome) + ".");
      return query_reply(known.build());
    }
  }
  if (cmd.action == "run") {
    const auto pipeline = ctx.settings.pipelines.find(cmd.environment);
    if (pipeline == ctx.settings.pipelines.end()) {
      ctx.refuse(cmd.environment + " has no pipeline I can start — add [pipelines." + cmd.environment +
                 "] to the bot's configuration (see the README), or report the deployment with `deploy " +
                 release.version + " " + cmd.environment + " start`");
    }
    if (ctx.settings.sources.contains(ctx.from.user)) ctx.refuse("a pipeline cannot start another pipeline");
    require_may_start(ctx, release, type, snapshot, cmd.environment);
    if (ctx.outbox.has_unsent(pipeline_platform, release.id, cmd.environment)) {
      ctx.refuse("I am already asking " + pipeline->second + " to deploy " + release.version + " to " +
                 cmd.environment + " — its progress will appear in the thread");
    }
    auto request = addressed(release, message{}, ctx.from.now);
    request.platform = std::string{pipeline_platform};
    request.destination = "channel";  // the environment's pipeline is the conversation: one request at a time
    request.channel = cmd.environment;
    request.recipient = ctx.from.user;
    request.payload = nlohmann::json{{"version", release.version},
                                     {"environment", cmd.environment},
                                     {"asked_by", ctx.from.user},
                                     {"title", release.title}}
                          .dump();
    ctx.outbox.enqueue(request);
    ctx.audit(&release, "deploy_run", {{"environment", cmd.environment}, {"pipeline", pipeline->second}});
    announcement.text("▶️ ");
    announcement.mention(ctx.from.user);
    announcement.text(" asked " + pipeline->second + " to deploy ").strong(release.version).text(" to ");
    announcement.strong(cmd.environment).text(".");
    broadcast = false;
    reply.text("Asking " + pipeline->second + " to deploy ").strong(release.version).text(" to " + cmd.environment);
    reply.text("; its progress will appear in the thread.");
  } else if (cmd.action == "start") {
    require_may_start(ctx, release, type, snapshot, cmd.environment, cmd.build);
    if (cmd.environment == ctx.rules.production_environment) jump_to_deployment_stage(ctx, release, type);
    storage::deployment_record deployment;
    deployment.environment = cmd.environment;
    deployment.started_by = ctx.from.user;
    deployment.started_at = ctx.from.now;
    if (cmd.downtime_minutes) deployment.estimated_downtime = *cmd.downtime_minutes;
    const auto started = ctx.releases.start_deployment(release.id, deployment);
    // The build it deploys: the one it names, else the one recorded there before it started.
    if (!cmd.build.empty()) {
      ctx.releases.set_deployment_build(started, cmd.build);
    } else if (const auto* known = current_build(snapshot, cmd.environment)) {
      ctx.releases.set_deployment_build(started, known->build);
    }
    ctx.timers.cancel_one(release.id, timer_kind::schedule_watch, cmd.environment);
    ctx.audit(&release, "deploy_start",
              {{"environment", cmd.environment},
               {"estimated_downtime", cmd.downtime_minutes ? nlohmann::json(*cmd.downtime_minutes) : nullptr}});
    announcement.text("🚚 Deployment of ").strong(release.version).text(" to ").strong(cmd.environment);
    announcement.text(" started by ");
    ctx.name_actor(announcement, ctx.from.user);
    announcement.text(cmd.downtime_minutes ? " — estimated downtime " + std::to_string(*cmd.downtime_minutes) + " min"
                                           : " — no downtime estimate given");
    const auto roles = signoff_roles(ctx.rules, load_snapshot(ctx, release));
    std::vector<std::string> owed;
    for (const auto& role : roles) {
      if (role.state != "approved" && cmd.environment == ctx.rules.production_environment) owed.push_back(role.role);
    }
    if (!owed.empty()) {
      announcement.line().text("Sign-offs owed retroactively: " + join_words(owed));
      arm_retroactive_chase(ctx, release, ctx.from.now + ctx.rules.nudges.after);
    }
    reply.text("Deployment of ").strong(release.version).text(" to " + cmd.environment + " started.");
  } else {
    if (current == nullptr || (current->outcome != "running" && !(cmd.action == "rollback" && current->outcome == "succeeded"))) {
      ctx.refuse(release.version + " has no deployment to " + cmd.environment + " in progress — deploy " +
                 release.version + " " + cmd.environment + " start first");
    }
    if (cmd.action == "step") {
      ctx.releases.add_deployment_step(current->id, {cmd.text, ctx.from.user, ctx.from.now});
      ctx.audit(&release, "deploy_step", {{"environment", cmd.environment}, {"text", cmd.text}});
      show_progress(ctx, release, *current, "in progress");
      reply.text("Posted the step to ").strong(release.version).text("'s thread.");
      return changed_reply(reply.build());
    } else if (cmd.action == "done") {
      const auto actual = cmd.downtime_minutes ? std::int64_t{*cmd.downtime_minutes}
                                               : minutes_between(current->started_at, ctx.from.now);
      ctx.releases.finish_deployment(current->id, "succeeded", ctx.from.now, actual, "");
      show_progress(ctx, release, *current, "succeeded", true);
      ctx.audit(&release, "deploy_done", {{"environment", cmd.environment}, {"actual_downtime", actual}});
      announcement.text("✅ ").strong(release.version).text(" is deployed to ").strong(cmd.environment);
      announcement.text(" — downtime " + std::to_string(actual) + " min");
      if (current->estimated_downtime) {
        announcement.text(" (estimated " + std::to_string(*current->estimated_downtime) + " min)");
      }
      reply.text("Recorded ").strong(release.version).text(" on " + cmd.environment + " as succeeded.");
    } else {
      const bool rollback = cmd.action == "rollback";
      const auto actual = current->actual_downtime ? *current->actual_downtime
                                                   : minutes_between(current->started_at, ctx.from.now);
      ctx.releases.finish_deployment(current->id, rollback ? "rolled_back" : "failed", ctx.from.now, actual, cmd.text);
      show_progress(ctx, release, *current, rollback ? "rolled back" : "failed", true);
      ctx.audit(&release, rollback ? "deploy_rollback" : "deploy_failed",
                {{"environment", cmd.environment}, {"reason", cmd.text}});
      announcement.text(rollback ? "⏪ " : "🔥 ").strong(release.version).text(" on ").strong(cmd.environment);
      announcement.text(rollback ? " was rolled back: " : " failed: ").user_text(cmd.text).line();
      announcement.text("Later environments are blocked until " + cmd.environment + " succeeds.");
      reply.text("Recorded the " + std::string{rollback ? "rollback" : "failure"} + " of ")
          .strong(release.version)
          .text(" on " + cmd.environment + ".");
    }
  }
  ctx.announce_in_thread(release, announcement.build(), broadcast);
  // A pipeline that names its build records it as `build` would, once the deployment is under way.
  if (!cmd.build.empty() && cmd.action != "run" && cmd.action != "rollback" && cmd.action != "failed") {
    record_build(ctx, release, cmd.environment, cmd.build, cmd.commit, cmd.url);
  }
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const incident_command& cmd) {
  auto release = ctx.resolve(cmd.version);
  ctx.require_permission("incident", &release);
  if (release.state == "cancelled") ctx.refuse(release.version + " was cancelled — it cannot have caused an incident");
  ctx.releases.add_incident(release.id, {cmd.severity, cmd.description, ctx.from.user, ctx.from.now});
  ctx.audit(&release, "incident", {{"severity", cmd.severity}, {"description", cmd.description}});
  message_builder announcement{message_kind::announcement};
  announcement.text("🚨 " + cmd.severity + " incident on ").strong(release.version).text(" reported by ");
  ctx.name_actor(announcement, ctx.from.user);
  announcement.text(": ").user_text(cmd.description);
  ctx.announce_in_thread(release, announcement.build(), true);
  message_builder reply;
  reply.text("Recorded a " + cmd.severity + " incident on ").strong(release.version).text(".");
  return changed_reply(reply.build());
}

}  // namespace releasebot::commands
