// Handlers for sign-offs: requests with buttons, typed approvals and rejections, button clicks.
#include "commands/parser.hpp"
#include "commands/release_view.hpp"
#include "commands/timers.hpp"

#include <algorithm>

namespace releasebot::commands {

namespace {

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Sign-offs belong before deployment; an emergency type collects them afterwards too.
void require_signoff_window(handler_context& ctx, const storage::release_record& release) {
  const auto& type = ctx.type_of(release);
  if (type.retroactive_signoffs) return;
  const auto* deploying = deployment_stage(ctx.rules);
  if (deploying != nullptr && stage_reached(ctx.rules, release, deploying->id)) {
    ctx.refuse(release.version + " is already in " + release.stage + "; sign-offs are given before " + deploying->id);
  }
}

message decision_card(const storage::release_record& release, std::string_view role, bool approve,
                      std::string_view by, std::string_view note, std::string_view build) {
  message_builder card{message_kind::decision};
  card.text(approve ? "✅ " : "❌ ").strong(release.version).text(" — " + std::string{role} + " sign-off ");
  if (!build.empty()) card.text("of build ").user_text(build).text(" ");
  card.text(approve ? "approved by " : "rejected by ").mention(by);
  if (!note.empty()) card.text(": ").user_text(note);
  return card.build();
}

outcome record_decision(handler_context& ctx, storage::release_record& release, const std::string& role, bool approve,
                        const std::string& note) {
  require_signoff_window(ctx, release);
  const auto before = signoff_roles(ctx.rules, load_snapshot(ctx, release));
  const auto current = std::find_if(before.begin(), before.end(), [&](const role_signoff& r) { return r.role == role; });
  const bool retroactive = current != before.end() && current->retroactive;
  const auto requests = ctx.releases.signoff_requests(release.id);
  // A role bound to builds approves the build now on its environment.
  const auto bound = bound_build(ctx, release, role);
  const std::string build = bound ? bound->second.build : std::string{};
  ctx.releases.add_signoff_decision(release.id, {0, role, ctx.from.user, approve ? "approved" : "rejected", note,
                                                 retroactive, ctx.from.now, build, std::nullopt});
  ctx.releases.answer_signoff_requests(release.id, role, ctx.from.now);
  auto details = nlohmann::json{{"role", role}, {"note", note}, {"retroactive", retroactive}};
  if (!build.empty()) details["build"] = build;
  ctx.audit(&release, approve ? "approve" : "reject", std::move(details));

  const auto card = decision_card(release, role, approve, ctx.from.user, note, build);
  for (const auto& request : requests) {
    if (request.role != role || request.answered_at) continue;
    ctx.send_direct(release, request.assignee, card, ctx.releases.request_card(request.id));
    ctx.timers.cancel_one(release.id, timer_kind::signoff_nudge, request_key(request.id));
  }
  ctx.announce_in_thread(release, card, !approve);

  const auto& type = ctx.type_of(release);
  const auto after = signoff_roles(ctx.rules, load_snapshot(ctx, release));
  const bool all_approved =
      std::all_of(type.required_signoffs.begin(), type.required_signoffs.end(), [&](const std::string& required) {
        return std::any_of(after.begin(), after.end(),
                           [&](const role_signoff& r) { return r.role == required && r.state == "approved"; });
      });
  const bool was_complete =
      std::all_of(type.required_signoffs.begin(), type.required_signoffs.end(), [&](const std::string& required) {
        return std::any_of(before.begin(), before.end(),
                           [&](const role_signoff& r) { return r.role == required && r.state == "approved"; });
      });
  if (approve && all_approved && !was_complete) {
    message_builder complete{message_kind::announcement};
    complete.text("🎉 Every sign-off for ").strong(release.version).text(" is in: " + join_words(type.required_signoffs));
    ctx.announce_in_thread(release, complete.build(), true);
  }
  message_builder reply;
  reply.text(approve ? "Recorded your approval of " : "Recorded your rejection of ")
      .strong(release.version)
      .text(" as " + role + (retroactive ? " (retroactive)." : "."));
  return changed_reply(reply.build());
}

}  // namespace

storage::row_id request_signoff(handler_context& ctx, const storage::release_record& release, const std::string& role,
                                const std::string& user, std::string_view why) {
  const auto& type = ctx.type_of(release);
  const auto request_id =
      ctx.releases.add_signoff_request(release.id, {0, role, user, ctx.from.user, ctx.from.now, std::nullopt});
  message_builder card{message_kind::signoff_request};
  if (!why.empty()) {
    card.text(why).text(" ");
  } else {
    card.mention(ctx.from.user).text(" asks you to ");
  }
  card.text(why.empty() ? "sign off " : "Please sign off ").strong(release.version).text(" (" + type.id);
  if (!release.title.empty()) card.text(" — ").user_text(release.title);
  card.text(") as ").strong(role);
  if (const auto bound = bound_build(ctx, release, role)) {
    card.text(" — build ").user_text(bound->second.build).text(" on " + bound->first);
  }
  card.text(".").line();
  card.text("Approve or reject below, or type approve " + release.version + " as " + role + " [note].");
  const auto value = std::to_string(request_id);
  card.add_button({std::string{signoff_approve_action}, "Approve", value, button_style::primary, ""});
  card.add_button({std::string{signoff_reject_action}, "Reject", value, button_style::danger,
                   "Reject " + release.version + " as " + role + "? The release cannot pass sign-off until a "
                   "new approval."});
  const auto card_id = ctx.send_direct(release, user, card.build());
  ctx.releases.set_request_card(request_id, card_id);
  arm_signoff_nudge(ctx, release, request_id, user, ctx.from.now + ctx.rules.nudges.after);
  return request_id;
}

outcome handle(handler_context& ctx, const signoff_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("signoff", &release);
  if (!ctx.rules.has_role(cmd.role)) {
    ctx.refuse("'" + cmd.role + "' is not a role — use one of: " + join_words(ctx.rules.roles));
  }
  require_signoff_window(ctx, release);
  for (const auto& user : cmd.users) {
    if (!ctx.holds(user, cmd.role)) {
      message_builder refusal;
      refusal.mention(user).text(" does not hold " + cmd.role + " — grant it first: ").code("role").text(" ");
      refusal.mention(user).text(" ").code("add " + cmd.role);
      ctx.refuse(refusal.build());
    }
  }
  for (const auto& user : cmd.users) request_signoff(ctx, release, cmd.role, user);
  ctx.audit(&release, "signoff_request", {{"role", cmd.role}, {"users", cmd.users}});
  message_builder announcement{message_kind::announcement};
  announcement.text("✍️ ").strong(release.version).text(": " + cmd.role + " sign-off requested from");
  for (const auto& user : cmd.users) announcement.text(" ").mention(user);
  ctx.announce_in_thread(release, announcement.build(), false);
  message_builder reply;
  reply.text("Asked " + std::to_string(cmd.users.size()) + (cmd.users.size() == 1 ? " person" : " people") +
             " to sign off ")
      .strong(release.version)
      .text(" as " + cmd.role + ".");
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const decide_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  const auto verb = std::string{cmd.approve ? "approve" : "reject"};
  const auto mine = ctx.roles_of(ctx.from.user);
  const auto snapshot = load_snapshot(ctx, release);
  const auto roles = signoff_roles(ctx.rules, snapshot);
  std::string role;
  if (cmd.role) {
    role = *cmd.role;
    if (!ctx.rules.has_role(role)) ctx.refuse("'" + role + "' is not a role — use one of: " + join_words(ctx.rules.roles));
    if (!contains(mine, role)) {
      ctx.refuse("only " + role + " can " + verb + " as " + role + "; you hold: " +
                 (mine.empty() ? std::string{"no role"} : join_words(mine)));
    }
    if (std::none_of(roles.begin(), roles.end(), [&](const role_signoff& r) { return r.role == role; })) {
      ctx.refuse(release.version + " needs no " + role + " sign-off — it needs: " +
                 join_words(ctx.type_of(release).required_signoffs));
    }
  } else {
    std::vector<std::string> candidates;
    for (const auto& r : roles) {
      if (contains(mine, r.role) && (cmd.approve ? r.state != "approved" : r.state != "rejected")) {
        candidates.push_back(r.role);
      }
    }
    if (candidates.empty()) {
      ctx.refuse("you hold no role with a pending sign-off on " + release.version + "; you hold: " +
                 (mine.empty() ? std::string{"no role"} : join_words(mine)));
    }
    if (candidates.size() > 1) {
      ctx.refuse("you hold several roles pending on " + release.version + " — say which: " + verb + " " +
                 release.version + " as " + join_words(candidates, "|"));
    }
    role = candidates.front();
  }
  return record_decision(ctx, release, role, cmd.approve, cmd.note);
}

outcome handle(handler_context& ctx, const click_command& cmd) {
  const auto found = ctx.releases.find_signoff_request(cmd.request_id);
  if (!found) ctx.refuse("that sign-off request no longer exists");
  auto release = ctx.releases.find(found->first);
  if (!release) ctx.refuse("that sign-off request no longer exists");
  const auto& request = found->second;
  if (request.assignee != ctx.from.user) {
    message_builder refusal;
    refusal.text("only ").mention(request.assignee).text(" can use this button — if you hold " + request.role + ", type ");
    refusal.code(std::string{cmd.approve ? "approve " : "reject "} + release->version + " as " + request.role);
    ctx.refuse(refusal.build());
  }
  if (release->state != "active") ctx.refuse(release->version + " is " + release->state + " — nothing more can be recorded on it");
  if (request.answered_at) {
    ctx.refuse("the " + request.role + " sign-off of " + release->version + " was already decided — type " +
               (cmd.approve ? "approve " : "reject ") + release->version + " as " + request.role + " to change it");
  }
  if (!ctx.holds(ctx.from.user, request.role)) {
    message_builder refusal;
    refusal.text("you no longer hold " + request.role + " — ask an admin to grant it: ").code("role").text(" ");
    refusal.mention(ctx.from.user).text(" ").code("add " + request.role);
    ctx.refuse(refusal.build());
  }
  return record_decision(ctx, *release, request.role, cmd.approve, "");
}

}  // namespace releasebot::commands
