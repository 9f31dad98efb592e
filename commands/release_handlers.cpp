// Handlers for the life of a release: open, list, status, schedule, advance, check, ready, scope,
// cut-off, unit tests, close and cancel.
#include "commands/release_view.hpp"
#include "commands/timers.hpp"
#include "commands/version.hpp"

#include <algorithm>
#include <regex>

namespace releasebot::commands {

namespace {

constexpr std::size_t max_title_length = 200;

std::optional<version> last_production_version(handler_context& ctx) {
  const auto newest = ctx.releases.newest_version_deployed_to(ctx.rules.production_environment);
  if (!newest) return std::nullopt;
  return version{static_cast<int>((*newest)[0]), static_cast<int>((*newest)[1]), static_cast<int>((*newest)[2])};
}

version expected_after(const version& last, version_bump bump) {
  switch (bump) {
    case version_bump::major:
      return {last.major + 1, 0, 0};
    case version_bump::minor:
      return {last.major, last.minor + 1, 0};
    case version_bump::patch:
      break;
  }
  return {last.major, last.minor, last.patch + 1};
}

const release_type_definition& require_type(handler_context& ctx, std::string_view type_id) {
  if (const auto* type = ctx.rules.find_type(type_id)) return *type;
  std::vector<std::string> names;
  for (const auto& type : ctx.rules.types) names.push_back(type.id);
  ctx.refuse("'" + std::string{type_id} + "' is not a release type — use one of: " + join_words(names, "|"));
}

}  // namespace

outcome handle(handler_context& ctx, const open_command& cmd) {
  ctx.require_permission("open", nullptr);
  const auto parsed = parse_version(cmd.version);
  if (!parsed) {
    ctx.refuse("'" + cmd.version + "' is not a full version — open needs MAJOR.MINOR.PATCH, like 4.2.0");
  }
  const auto& type = require_type(ctx, cmd.type);
  if (cmd.title.size() > max_title_length) {
    ctx.refuse("the title is " + std::to_string(cmd.title.size()) + " characters — keep it under " +
               std::to_string(max_title_length));
  }
  if (const auto existing = ctx.releases.find_by_version(parsed->to_string())) {
    ctx.refuse(existing->version + " already exists (" + existing->type + ", " +
               (existing->state == "active" ? existing->stage : existing->state) + ") — say status " +
               existing->version);
  }
  if (const auto last = last_production_version(ctx)) {
    const auto expected = expected_after(*last, type.bump);
    if (*parsed != expected && !cmd.force_reason) {
      ctx.refuse(parsed->to_string() + " is not a " + type.id + " after " + last->to_string() + ": a " + type.id +
                 " would be " + expected.to_string() + " — fix the version or the type, or end with force: <reason>");
    }
  }

  storage::release_record release;
  release.version = parsed->to_string();
  release.major = parsed->major;
  release.minor = parsed->minor;
  release.patch = parsed->patch;
  release.type = type.id;
  release.title = cmd.title;
  release.stage = type.stages.front();
  release.coordinator = ctx.from.user;
  release.platform = ctx.from.platform;
  const auto configured = ctx.settings.release_channels.find(ctx.from.platform);
  release.channel = configured != ctx.settings.release_channels.end() && !configured->second.empty()
                        ? configured->second
                        : ctx.from.channel;
  release.forced_reason = cmd.force_reason;
  release.created_at = ctx.from.now;
  release.id = ctx.releases.insert(release);
  ctx.releases.enter_stage(release.id, release.stage, ctx.from.now);
  ctx.audit(&release, "open",
            {{"version", release.version},
             {"type", release.type},
             {"title", release.title},
             {"channel", release.channel},
             {"forced", cmd.force_reason ? nlohmann::json(*cmd.force_reason) : nlohmann::json(nullptr)}});

  message_builder announcement{message_kind::announcement};
  announcement.text("🚀 Release ").strong(release.version).text(" (" + type.id + ")");
  if (!release.title.empty()) announcement.text(" — ").user_text(release.title);
  announcement.text(" opened by ").mention(release.coordinator).line();
  announcement.text("Stage: " + release.stage + " · path: " + join_words(type.path, " → ") +
                    " · notice period: " + std::to_string(type.notice_period.count()) + " days")
      .line();
  if (cmd.force_reason) announcement.text("Version rule overridden: ").user_text(*cmd.force_reason).line();
  announcement.text("Updates on this release follow in this thread.");
  ctx.announce_opening(release, announcement.build());

  message_builder reply;
  reply.text("Opened ").strong(release.version).text(" (" + type.id + ") in " + release.stage +
                                                      " with you as coordinator; announced in ");
  reply.channel(release.channel).text(".");
  return changed_reply(reply.build());
}

namespace {

message release_list(handler_context& ctx, const list_command& cmd) {
  const bool all = cmd.filter == "all";
  const bool active_only = cmd.filter == "active";
  if (!all && !active_only) require_type(ctx, cmd.filter);
  message_builder out;
  std::size_t count = 0;
  auto releases = ctx.releases.all();
  std::reverse(releases.begin(), releases.end());
  for (const auto& release : releases) {
    if (active_only && release.state != "active") continue;
    if (!all && !active_only && release.type != cmd.filter) continue;
    out.text(one_line_summary(ctx, load_snapshot(ctx, release))).line();
    ++count;
  }
  if (count == 0) {
    out.text(active_only ? "No active releases — open one with: open <version> <type> [title]"
                         : "No releases match " + cmd.filter + ".");
  }
  return out.build();
}

}  // namespace

outcome handle(handler_context& ctx, const list_command& cmd) {
  ctx.require_permission("list", nullptr);
  return query_reply(release_list(ctx, cmd), cmd.make_public);
}

outcome handle(handler_context& ctx, const status_command& cmd) {
  if (!cmd.version) {
    ctx.require_permission("status", nullptr);
    return query_reply(release_list(ctx, list_command{"active", cmd.make_public}), cmd.make_public);
  }
  const auto release = ctx.resolve(*cmd.version);
  ctx.require_permission("status", &release);
  return query_reply(status_message(ctx, load_snapshot(ctx, release)), cmd.make_public);
}

outcome handle(handler_context& ctx, const schedule_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("schedule", &release);
  const auto& type = ctx.type_of(release);
  const bool known = cmd.milestone == "cutoff" ||
                     std::find(type.path.begin(), type.path.end(), cmd.milestone) != type.path.end();
  if (!known) {
    ctx.refuse("'" + cmd.milestone + "' is not on " + release.version + "'s path — schedule cutoff or one of: " +
               join_words(type.path));
  }
  const auto at = ctx.parse_when(cmd.when);
  std::optional<storage::instant> previous;
  for (const auto& milestone : ctx.releases.milestones(release.id)) {
    if (milestone.name == cmd.milestone) previous = milestone.planned_at;
  }
  ctx.releases.set_milestone(release.id, cmd.milestone, at);
  if (cmd.milestone == "cutoff") {
    arm_cutoff_reminders(ctx, release, at);
  } else {
    arm_schedule_watch(ctx, release, cmd.milestone, at);
  }
  ctx.audit(&release, "schedule",
            {{"milestone", cmd.milestone},
             {"planned_at", storage::to_iso(at)},
             {"previous", previous ? nlohmann::json(storage::to_iso(*previous)) : nlohmann::json(nullptr)}});
  message_builder announcement{message_kind::announcement};
  announcement.text("📅 ").strong(release.version).text(": " + cmd.milestone + " planned for " + ctx.channel_when(at));
  if (previous) announcement.text(" (was " + ctx.channel_when(*previous) + ")");
  ctx.announce_in_thread(release, announcement.build(), false);
  message_builder reply;
  reply.text("Scheduled " + cmd.milestone + " of ").strong(release.version).text(" for " + ctx.when(at) + ".");
  if (const auto pending = ctx.timers.pending_for(release.id); !pending.empty()) {
    reply.line().text("Next reminder: " + describe_timer(ctx, pending.front()));
  }
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const advance_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("advance", &release);
  const auto& type = ctx.type_of(release);
  const auto position = std::find(type.stages.begin(), type.stages.end(), release.stage);
  if (position == type.stages.end() || position + 1 == type.stages.end()) {
    ctx.refuse(release.stage + " is the last stage of " + release.version + " — close " + release.version +
               " once it is done");
  }
  const auto snapshot = load_snapshot(ctx, release);
  const auto blockers = gate_blockers(ctx.rules, snapshot);
  if (!blockers.empty() && !cmd.force_reason) {
    ctx.refuse(release.version + " cannot leave " + release.stage + ": " + join_words(blockers, "; ") +
               " — settle these, or advance " + release.version + " force <reason>");
  }
  const bool overridden = !blockers.empty();
  if (overridden && !ctx.is_admin(ctx.from.user) && !ctx.is_coordinator_of(release)) {
    message_builder refusal;
    refusal.text("only the coordinator can override a gate; " + release.version + "'s coordinator is ");
    refusal.mention(release.coordinator);
    ctx.refuse(refusal.build());
  }
  const std::string from_stage = release.stage;
  const std::string to_stage = *(position + 1);
  ctx.releases.leave_stage(release.id, from_stage, ctx.from.now,
                           overridden ? std::optional<std::string>{ctx.from.user} : std::nullopt,
                           overridden ? cmd.force_reason : std::nullopt);
  ctx.releases.enter_stage(release.id, to_stage, ctx.from.now);
  ctx.releases.set_stage(release.id, to_stage);
  release.stage = to_stage;
  nlohmann::json details{{"from", from_stage}, {"to", to_stage}};
  if (overridden) {
    details["override_reason"] = *cmd.force_reason;
    details["blockers"] = blockers;
  }
  ctx.audit(&release, overridden ? "advance_override" : "advance", details);

  message_builder announcement{message_kind::announcement};
  announcement.text("➡️ ").strong(release.version).text(" moved from " + from_stage + " to ").strong(to_stage);
  if (overridden) {
    announcement.text(" — gate overridden by ").mention(ctx.from.user).text(": ").user_text(*cmd.force_reason);
    announcement.line().text("Skipped: " + join_words(blockers, "; "));
  }
  const auto roles = signoff_roles(ctx.rules, load_snapshot(ctx, release));
  std::vector<std::string> owed;
  for (const auto& role : roles) {
    if (role.retroactive) owed.push_back(role.role);
  }
  if (!owed.empty() && type.retroactive_signoffs) {
    announcement.line().text("Sign-offs owed retroactively: " + join_words(owed));
  }
  ctx.announce_in_thread(release, announcement.build(), false);
  message_builder reply;
  reply.strong(release.version).text(" is now in " + to_stage + (overridden ? " (gate overridden, audited)." : "."));
  return changed_reply(reply.build());
}

namespace {

const checklist_item* find_item(const stage_definition& stage, std::string_view key, std::size_t& number) {
  for (std::size_t i = 0; i < stage.checklist.size(); ++i) {
    if (stage.checklist[i].id == key || std::to_string(i + 1) == key) {
      number = i + 1;
      return &stage.checklist[i];
    }
  }
  return nullptr;
}

}  // namespace

outcome handle(handler_context& ctx, const check_command& cmd) {
  if (!cmd.item) {
    const auto release = ctx.resolve(cmd.version);
    const auto& stage = ctx.stage_of(release);
    const auto snapshot = load_snapshot(ctx, release);
    message_builder out;
    out.text("Checklist of ").strong(release.version).text(" in " + stage.id + ":").line();
    if (stage.checklist.empty()) out.text("(no checklist items in this stage)").line();
    for (std::size_t i = 0; i < stage.checklist.size(); ++i) {
      const auto& item = stage.checklist[i];
      const auto* mark = mark_of(snapshot, item.id);
      const std::string state = mark == nullptr ? "open" : mark->state;
      out.text(std::string{state == "done" ? "☑" : state == "na" ? "➖" : "☐"} + " " + std::to_string(i + 1) + ". ")
          .code(item.id)
          .text(" " + item.text);
      if (!item.owner_role.empty()) out.text(" (owner: " + item.owner_role + ")");
      if (mark != nullptr && mark->state != "open") {
        out.text(" — " + mark->state + " by ").mention(mark->marked_by);
        if (!mark->note.empty()) out.text(": ").user_text(mark->note);
      }
      out.line();
    }
    return query_reply(out.build());
  }
  auto release = ctx.resolve_active(cmd.version);
  const auto& stage = ctx.stage_of(release);
  std::size_t number = 0;
  const auto* item = find_item(stage, *cmd.item, number);
  if (item == nullptr) {
    ctx.refuse("the " + stage.id + " checklist of " + release.version + " has no item '" + *cmd.item +
               "' — say check " + release.version + " to see its items");
  }
  if (item->owner_role.empty() || !ctx.holds(ctx.from.user, item->owner_role)) {
    ctx.require_permission("check", &release);
  }
  ctx.releases.mark_item(release.id, {stage.id, item->id, *cmd.state, cmd.note, ctx.from.user, ctx.from.now});
  ctx.audit(&release, "check", {{"stage", stage.id}, {"item", item->id}, {"state", *cmd.state}, {"note", cmd.note}});
  message_builder announcement{message_kind::announcement};
  announcement.text("☑ ").strong(release.version).text(" " + stage.id + " [" + std::to_string(number) + "] " +
                                                        item->text + ": " + *cmd.state + " (")
      .mention(ctx.from.user)
      .text(")");
  if (!cmd.note.empty()) announcement.text(" — ").user_text(cmd.note);
  ctx.announce_in_thread(release, announcement.build(), false);
  message_builder reply;
  reply.text("Marked [" + std::to_string(number) + "] " + item->id + " " + *cmd.state + " on ")
      .strong(release.version)
      .text(".");
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const ready_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("ready", &release);
  if (!ctx.rules.has_team(cmd.team)) {
    ctx.refuse("'" + cmd.team + "' is not a readiness team — use one of: " + join_words(ctx.rules.readiness_teams));
  }
  ctx.releases.confirm_team(release.id, {cmd.team, ctx.from.user, cmd.note, ctx.from.now});
  ctx.audit(&release, "ready", {{"team", cmd.team}, {"note", cmd.note}});
  message_builder announcement{message_kind::announcement};
  announcement.text("✅ ").strong(release.version).text(": " + cmd.team + " is ready (").mention(ctx.from.user).text(")");
  if (!cmd.note.empty()) announcement.text(" — ").user_text(cmd.note);
  ctx.announce_in_thread(release, announcement.build(), false);
  message_builder reply;
  reply.text("Recorded " + cmd.team + " as ready for ").strong(release.version).text(".");
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const scope_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("scope", &release);
  static const std::regex ticket_key{R"(^[A-Za-z][A-Za-z0-9_]*-[0-9]+$)"};
  std::vector<std::string> changed_tickets;
  std::vector<std::string> unchanged;
  for (const auto& raw : cmd.tickets) {
    if (!std::regex_match(raw, ticket_key)) ctx.refuse("'" + raw + "' is not a ticket key like PAY-123");
    std::string ticket = raw;
    std::transform(ticket.begin(), ticket.end(), ticket.begin(), [](unsigned char c) { return std::toupper(c); });
    bool did = false;
    if (cmd.operation == "add") {
      did = ctx.releases.add_ticket(release.id, ticket);
    } else if (cmd.operation == "remove") {
      did = ctx.releases.remove_ticket(release.id, ticket);
    } else {
      const auto tickets = ctx.releases.tickets(release.id);
      if (std::none_of(tickets.begin(), tickets.end(), [&](const storage::ticket_record& t) { return t.ticket == ticket; })) {
        ctx.refuse(ticket + " is not in " + release.version + "'s scope — scope " + release.version + " add " + ticket +
                   " first");
      }
      did = ctx.releases.set_ticket_resolved(release.id, ticket, cmd.operation == "resolved");
    }
    (did ? changed_tickets : unchanged).push_back(ticket);
  }
  message_builder reply;
  if (changed_tickets.empty()) {
    reply.text("Nothing changed: " + join_words(unchanged) + " already " +
               (cmd.operation == "add" ? "in scope" : cmd.operation == "remove" ? "out of scope" : cmd.operation) + ".");
    return query_reply(reply.build());
  }
  ctx.audit(&release, "scope", {{"operation", cmd.operation}, {"tickets", changed_tickets}});
  const auto verb = cmd.operation == "add"        ? "added to scope"
                    : cmd.operation == "remove"   ? "removed from scope"
                    : cmd.operation == "resolved" ? "resolved"
                                                  : "marked unresolved";
  message_builder announcement{message_kind::announcement};
  announcement.text("🎫 ").strong(release.version).text(": " + join_words(changed_tickets) + " " + verb);
  ctx.announce_in_thread(release, announcement.build(), false);
  reply.text(join_words(changed_tickets) + " " + verb + " on ").strong(release.version).text(".");
  if (!unchanged.empty()) reply.text(" (" + join_words(unchanged) + " unchanged)");
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const tests_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("tests", &release);
  ctx.releases.set_unit_tests(release.id, cmd.count);
  ctx.audit(&release, "unit_tests", {{"count", cmd.count}});
  message_builder reply;
  reply.text("Recorded " + std::to_string(cmd.count) + " unit test cases for ").strong(release.version).text(".");
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const cutoff_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("cutoff", &release);
  const auto at = ctx.parse_when(cmd.when);
  ctx.releases.set_milestone(release.id, "cutoff", at);
  arm_cutoff_reminders(ctx, release, at);
  ctx.audit(&release, "cutoff", {{"at", storage::to_iso(at)}});
  message_builder announcement{message_kind::announcement};
  announcement.text("✂️ Code cut-off for ").strong(release.version).text(": " + ctx.channel_when(at)).line();
  announcement.text("Merge what belongs in " + release.version + " before then; after it only fixes agreed with ")
      .mention(release.coordinator)
      .text(".");
  ctx.announce_in_thread(release, announcement.build(), true);
  message_builder reply;
  reply.text("Announced code cut-off of ").strong(release.version).text(" for " + ctx.when(at) + ".");
  const auto pending = ctx.timers.pending_for(release.id);
  reply.line().text(pending.empty() ? std::string{"No reminders: every reminder moment has passed."}
                                    : "Next reminder: " + describe_timer(ctx, pending.front()));
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const close_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("close", &release);
  const auto& type = ctx.type_of(release);
  if (release.stage != type.stages.back()) {
    ctx.refuse(release.version + " is in " + release.stage + "; it can be closed once " + type.stages.back() +
               " is done — or cancel " + release.version + " <reason>");
  }
  const auto blockers = gate_blockers(ctx.rules, load_snapshot(ctx, release));
  if (!blockers.empty()) {
    ctx.refuse(release.version + " cannot close yet: " + join_words(blockers, "; "));
  }
  ctx.releases.leave_stage(release.id, release.stage, ctx.from.now, std::nullopt, std::nullopt);
  ctx.releases.end(release.id, "closed", ctx.from.now, std::nullopt);
  ctx.timers.cancel(release.id);
  ctx.audit(&release, "close", nlohmann::json::object());
  message_builder announcement{message_kind::announcement};
  announcement.text("🏁 ").strong(release.version).text(" is closed. Thank you all.");
  ctx.announce_in_thread(release, announcement.build(), true);
  message_builder reply;
  reply.text("Closed ").strong(release.version).text(".");
  return changed_reply(reply.build());
}

outcome handle(handler_context& ctx, const cancel_command& cmd) {
  auto release = ctx.resolve_active(cmd.version);
  ctx.require_permission("cancel", &release);
  ctx.releases.leave_stage(release.id, release.stage, ctx.from.now, std::nullopt, std::nullopt);
  ctx.releases.end(release.id, "cancelled", ctx.from.now, cmd.reason);
  ctx.timers.cancel(release.id);
  ctx.audit(&release, "cancel", {{"reason", cmd.reason}, {"stage", release.stage}});
  message_builder announcement{message_kind::announcement};
  announcement.text("🛑 ").strong(release.version).text(" was cancelled by ").mention(ctx.from.user).text(": ");
  announcement.user_text(cmd.reason);
  ctx.announce_in_thread(release, announcement.build(), true);
  message_builder reply;
  reply.text("Cancelled ").strong(release.version).text(".");
  return changed_reply(reply.build());
}

}  // namespace releasebot::commands
